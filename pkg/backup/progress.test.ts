import type { Progress } from '../contracts.js';
import { ProgressTracker } from './progress.js';

describe('ProgressTracker', () => {
  test('reports at most once per interval, unless forced, and hands out copies', () => {
    let now = 1_000;
    const seen: Progress[] = [];
    const t = new ProgressTracker((p) => seen.push(p), 500, () => now);
    t.progress.bytes.done = 1;
    t.changed(); // first report
    t.progress.bytes.done = 2;
    now += 499;
    t.changed(); // too soon
    now += 1;
    t.changed(); // interval passed
    t.progress.bytes.done = 3;
    t.changed(true); // forced
    expect(seen.map((p) => p.bytes.done)).toEqual([1, 2, 3]);
    t.progress.bytes.done = 99;
    expect(seen[2]!.bytes.done).toBe(3);
  });
});
