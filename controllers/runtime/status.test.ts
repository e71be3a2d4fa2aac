import { statusPatch } from './status.js';

describe('statusPatch', () => {
  it.each([
    { name: 'writes nothing when nothing changed', cur: { phase: 'A', progress: { n: 1 } }, want: { phase: 'A', progress: { n: 1 } }, patch: undefined },
    { name: 'writes only the fields that changed', cur: { phase: 'A', message: 'm' }, want: { phase: 'B', message: 'm' }, patch: { phase: 'B' } },
    { name: 'compares nested values, not identity', cur: { conditions: [{ type: 'Ready', status: 'False' }] }, want: { conditions: [{ type: 'Ready', status: 'True' }] }, patch: { conditions: [{ type: 'Ready', status: 'True' }] } },
    { name: 'removes a field the desired status leaves undefined', cur: { phase: 'A', failures: [1] }, want: { phase: 'A', failures: undefined }, patch: { failures: null } },
    { name: 'leaves alone fields the desired status does not mention', cur: { phase: 'A', bundle: 'k' }, want: { phase: 'A' }, patch: undefined },
    { name: 'writes everything for an object without status', cur: undefined, want: { phase: 'A' }, patch: { phase: 'A' } },
  ])('$name', ({ cur, want, patch }) => {
    expect(statusPatch(cur as object | undefined, want)).toEqual(patch);
  });
});
