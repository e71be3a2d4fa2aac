import { CANCEL_ANNOTATION } from './runtime/lifecycle.js';
import { workChanged } from './wiring.js';

const obj = (m: Record<string, unknown>) => ({ metadata: { namespace: 'ns', name: 'b', uid: 'u', generation: 1, ...m } });

describe('workChanged: which informer events start work', () => {
  it.each([
    { name: 'a status write (resourceVersion only)', next: obj({ resourceVersion: '2' }), want: false },
    { name: 'a label change', next: obj({ labels: { a: 'b' } }), want: false },
    { name: 'a new spec (generation)', next: obj({ generation: 2 }), want: true },
    { name: 'deletion', next: obj({ deletionTimestamp: '2026-01-01T00:00:00Z' }), want: true },
    { name: 'a finalizer removed', next: obj({ finalizers: [] }), want: false },
    { name: 'a finalizer added', next: obj({ finalizers: ['x'] }), want: true },
    { name: 'the cancel annotation', next: obj({ annotations: { [CANCEL_ANNOTATION]: 'timeout' } }), want: true },
    { name: 'the same object under a new uid (replaced)', next: obj({ uid: 'v' }), want: true },
  ])('$name: $want', ({ next, want }) => {
    const changed = workChanged();
    expect(changed('add', obj({ resourceVersion: '1' }))).toBe(true);
    expect(changed('update', next)).toBe(want);
  });

  it('always passes a delete, and sees the next add as new', () => {
    const changed = workChanged();
    changed('add', obj({}));
    expect(changed('delete', obj({}))).toBe(true);
    expect(changed('add', obj({}))).toBe(true);
  });
});
