import { ThrottledWriter } from './throttle.js';

describe('ThrottledWriter', () => {
  it('writes the first value at once and then only the latest, at most once per interval', async () => {
    const writes: Array<{ v: number; at: number }> = [];
    const w = new ThrottledWriter<number>(async (v) => { writes.push({ v, at: Date.now() }); }, 50);
    const start = Date.now();
    for (let i = 1; i <= 200; i++) {
      w.update(i);
      await new Promise((r) => setTimeout(r, 1));
      if (writes.at(-1)?.v === 200) break;
    }
    const deadline = Date.now() + 2_000;
    while (writes.at(-1)?.v !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(writes[0]!.v).toBe(1);
    expect(writes.at(-1)!.v).toBe(200);
    const elapsed = writes.at(-1)!.at - start;
    // One write per 50ms interval at most (+1 for the first), never one per update.
    expect(writes.length).toBeLessThanOrEqual(Math.floor(elapsed / 50) + 2);
    expect(writes.length).toBeLessThan(200);
    for (let i = 1; i < writes.length; i++) expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(45);
    await w.close();
  });

  it('waits on close for a write in flight and writes nothing after', async () => {
    let release!: () => void;
    const writes: number[] = [];
    let finished = false;
    const w = new ThrottledWriter<number>(async (v) => {
      writes.push(v);
      await new Promise<void>((r) => (release = r));
      finished = true;
    }, 10);
    w.update(1);
    while (writes.length === 0) await new Promise((r) => setTimeout(r, 1));
    w.update(2);
    let closed = false;
    const closing = w.close().then(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 20));
    // close() is still waiting for the write in flight.
    expect(closed).toBe(false);
    release();
    await closing;
    expect(finished).toBe(true);
    await new Promise((r) => setTimeout(r, 30));
    expect(writes).toEqual([1]);
  });

  it('goes on after a failed write', async () => {
    const writes: number[] = [];
    const w = new ThrottledWriter<number>(async (v) => {
      writes.push(v);
      if (v === 1) throw new Error('409');
    }, 5);
    w.update(1);
    while (writes.length < 1) await new Promise((r) => setTimeout(r, 1));
    w.update(2);
    const deadline = Date.now() + 1_000;
    while (writes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    expect(writes).toEqual([1, 2]);
    await w.close();
  });
});
