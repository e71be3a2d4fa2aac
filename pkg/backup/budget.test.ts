import { ByteBudget } from './budget.js';

/** Which of the given acquisitions have been granted, after pending callbacks ran. */
async function granted(acquisitions: Array<Promise<unknown>>): Promise<boolean[]> {
  const state = acquisitions.map(() => false);
  acquisitions.forEach((a, i) => void a.then(() => { state[i] = true; }));
  await new Promise((r) => setImmediate(r));
  return state;
}

describe('ByteBudget', () => {
  test('grants while the budget lasts and makes the rest wait, first come first served', async () => {
    const budget = new ByteBudget(100);
    const a = budget.acquire(60);
    const b = budget.acquire(50); // does not fit next to a
    const c = budget.acquire(10); // would fit, but must not overtake b
    expect(await granted([a, b, c])).toEqual([true, false, false]);
    (await a)();
    expect(await granted([b, c])).toEqual([true, true]);
    expect(budget.inUse).toBe(60);
  });

  test('a request larger than the whole budget takes all of it instead of waiting forever', async () => {
    const budget = new ByteBudget(100);
    const release = await budget.acquire(10_000);
    expect(budget.inUse).toBe(100);
    const next = budget.acquire(1);
    expect(await granted([next])).toEqual([false]);
    release();
    release(); // twice is harmless
    expect(await granted([next])).toEqual([true]);
    expect(budget.inUse).toBe(1);
  });

  test('a request for no bytes is granted at once, even while a large one waits', async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(80);
    let large = false;
    const waiting = budget.acquire(50).then((r) => { large = true; return r; });
    const release = await budget.acquire(0);
    expect(large).toBe(false);
    release();
    held();
    (await waiting)();
    expect(budget.inUse).toBe(0);
  });
});
