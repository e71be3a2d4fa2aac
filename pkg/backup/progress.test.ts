import type { Progress } from '../contracts.js';
import { ProgressTracker } from './progress.js';

/** A tracker on the real clock, with each report's bytes.done and time. */
function tracked(intervalMs: number) {
  const reports: Array<{ done: number; at: number }> = [];
  let onReport = () => {};
  const tracker = new ProgressTracker((p) => {
    reports.push({ done: p.bytes.done, at: Date.now() });
    onReport();
  }, intervalMs);
  const nextReport = () => new Promise<void>((resolve) => { onReport = resolve; });
  return { tracker, reports, nextReport };
}

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
    t.finish();
  });

  test.each([
    { name: 'a change that no other change follows', changes: [2] },
    { name: 'the latest of a burst of changes, once', changes: [2, 3, 4, 5] },
  ])('reports, once the interval has passed, $name', async ({ changes }) => {
    const { tracker, reports, nextReport } = tracked(50);
    tracker.progress.bytes.done = 1;
    tracker.changed();
    const trailing = nextReport();
    for (const done of changes) {
      tracker.progress.bytes.done = done;
      tracker.changed();
    }
    expect(reports.map((r) => r.done)).toEqual([1]);
    await trailing;
    expect(reports.map((r) => r.done)).toEqual([1, changes.at(-1)]);
    // Timers may fire a millisecond early.
    expect(reports[1]!.at - reports[0]!.at).toBeGreaterThanOrEqual(49);
    tracker.finish();
  }, 2_000);

  test('reports nothing once finished, not even a change that waited for the interval', async () => {
    const { tracker, reports } = tracked(20);
    tracker.progress.bytes.done = 1;
    tracker.changed();
    tracker.progress.bytes.done = 2;
    tracker.changed();
    tracker.finish();
    tracker.changed(true);
    // Proving that nothing comes needs a wait past the interval.
    await new Promise((r) => setTimeout(r, 60));
    expect(reports.map((r) => r.done)).toEqual([1]);
  });
});
