import { findCondition, isTrue, removeCondition, rfc3339, setCondition, truncate, type Condition } from './conditions.js';

const t0 = new Date('2024-01-01T00:00:00.123Z');
const t1 = new Date('2024-01-01T01:00:00Z');
const ready = (status: Condition['status'], reason: string, message = ''): Omit<Condition, 'lastTransitionTime'> =>
  ({ type: 'Ready', status, reason, message });

describe('setCondition', () => {
  it.each([
    { name: 'keeps the transition time when only the reason changes', from: 'False', to: 'False', moved: false },
    { name: 'moves the transition time when the status flips', from: 'False', to: 'True', moved: true },
    { name: 'moves the transition time from Unknown to False', from: 'Unknown', to: 'False', moved: true },
  ] as const)('$name', ({ from, to, moved }) => {
    const before = setCondition([], ready(from, 'A'), t0);
    const after = setCondition(before, ready(to, 'B', 'now B'), t1);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ status: to, reason: 'B', message: 'now B' });
    expect(after[0]!.lastTransitionTime).toBe(moved ? '2024-01-01T01:00:00Z' : '2024-01-01T00:00:00Z');
  });

  it('adds a new type next to the others and leaves the input list alone', () => {
    const before = setCondition([], ready('True', 'Done'), t0);
    const after = setCondition(before, { type: 'LocationAvailable', status: 'False', reason: 'X', message: 'm' }, t1);
    expect(after.map((c) => c.type)).toEqual(['Ready', 'LocationAvailable']);
    expect(before).toHaveLength(1);
    expect(isTrue(after, 'Ready')).toBe(true);
    expect(isTrue(after, 'LocationAvailable')).toBe(false);
    expect(findCondition(removeCondition(after, 'Ready'), 'Ready')).toBeUndefined();
  });

  it('cuts a long message so status stays small', () => {
    const c = setCondition([], ready('False', 'Err', 'x'.repeat(5000)), t0)[0]!;
    expect(c.message.length).toBe(1024);
    expect(c.message.endsWith('...')).toBe(true);
    expect(truncate('short')).toBe('short');
  });

  it('writes times at second precision', () => {
    expect(rfc3339(t0)).toBe('2024-01-01T00:00:00Z');
  });
});
