import { WorkQueue, keyOf, splitKey, type ReconcileFn } from './workQueue.js';
import { ExponentialBackoff, TokenBucket } from './backoff.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves when `count` calls have been seen. */
function counter(count: number) {
  const done = deferred();
  let n = 0;
  return { hit: () => { if (++n === count) done.resolve(); }, done: done.promise, get n() { return n; } };
}

function queue(reconcile: ReconcileFn, concurrency = 2) {
  return new WorkQueue({ name: 'test', concurrency, reconcile, backoff: { baseMs: 5, maxMs: 40 } });
}

describe('WorkQueue', () => {
  it('runs a key added several times while queued only once', async () => {
    const seen: string[] = [];
    const gate = deferred();
    const q = queue(async (key) => { seen.push(key); await gate.promise; }, 1);
    q.add('ns/blocker');
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/a');
    gate.resolve();
    await q.idle();
    expect(seen).toEqual(['ns/blocker', 'ns/a']);
  });

  it('never runs one key twice at once, and runs it again when it was added while running', async () => {
    let running = 0;
    let maxRunning = 0;
    const first = deferred();
    const release = deferred();
    const calls = counter(2);
    const q = queue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      calls.hit();
      if (calls.n === 1) { first.resolve(); await release.promise; }
      running--;
    }, 4);
    q.add('ns/a');
    await first.promise;
    q.add('ns/a');
    q.add('ns/a');
    release.resolve();
    await calls.done;
    await q.idle();
    expect(calls.n).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it.each([
    { concurrency: 1, keys: 4, expected: 1 },
    { concurrency: 3, keys: 4, expected: 3 },
    { concurrency: 8, keys: 4, expected: 4 },
  ])('runs at most $concurrency different keys at once ($keys keys)', async ({ concurrency, keys, expected }) => {
    let running = 0;
    let maxRunning = 0;
    const q = queue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setImmediate(r));
      running--;
    }, concurrency);
    for (let i = 0; i < keys; i++) q.add(`ns/k${i}`);
    await q.idle();
    expect(maxRunning).toBe(expected);
  });

  it('retries a failing key with growing delays and forgets its failures after a success', async () => {
    const times: number[] = [];
    const done = deferred();
    const q = queue(async () => {
      times.push(Date.now());
      if (times.length < 4) throw new Error('boom');
      done.resolve();
    });
    q.add('ns/a');
    await done.promise;
    await q.idle();
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // base 5ms doubling: >= 5, 10, 20 (timers never fire early).
    expect(gaps[0]).toBeGreaterThanOrEqual(4);
    expect(gaps[1]).toBeGreaterThanOrEqual(9);
    expect(gaps[2]).toBeGreaterThanOrEqual(19);
    expect(q.failures('ns/a')).toBe(0);
  });

  it('keeps serving other keys while one keeps failing', async () => {
    const ok = counter(3);
    const q = queue(async (key) => {
      if (key === 'ns/bad') throw new Error('always');
      ok.hit();
    }, 1);
    q.add('ns/bad');
    q.add('ns/good1');
    q.add('ns/good2');
    q.add('ns/good3');
    await ok.done;
    expect(q.failures('ns/bad')).toBeGreaterThanOrEqual(1);
    await q.shutdown();
  });

  it('runs a key again after the delay its reconcile asked for', async () => {
    const times: number[] = [];
    const twice = counter(2);
    const q = queue(async () => {
      times.push(Date.now());
      twice.hit();
      return times.length === 1 ? { requeueAfterMs: 30 } : undefined;
    });
    q.add('ns/a');
    await twice.done;
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(29);
    await q.shutdown();
  });

  it('keeps the earliest of several delayed adds of a key', async () => {
    const ran = counter(1);
    const start = Date.now();
    let at = 0;
    const q = queue(async () => { at = Date.now(); ran.hit(); });
    q.addAfter('ns/a', 10_000);
    q.addAfter('ns/a', 20);
    q.addAfter('ns/a', 5_000);
    await ran.done;
    expect(at - start).toBeLessThan(5_000);
    await q.shutdown();
    expect(ran.n).toBe(1);
  });

  it('waits for running reconciles on shutdown and takes no key after', async () => {
    const release = deferred();
    const started = deferred();
    let finished = false;
    const seen: string[] = [];
    const q = queue(async (key) => { seen.push(key); started.resolve(); await release.promise; finished = true; });
    q.add('ns/a');
    await started.promise;
    const stopping = q.shutdown();
    q.add('ns/b');
    release.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(seen).toEqual(['ns/a']);
  });
});

describe('keys', () => {
  it.each([
    { obj: { metadata: { namespace: 'ns', name: 'a' } }, key: 'ns/a' },
    { obj: { metadata: { name: 'cluster-scoped' } }, key: '/cluster-scoped' },
  ])('keyOf($obj) is $key and splits back', ({ obj, key }) => {
    expect(keyOf(obj)).toBe(key);
    expect(splitKey(key)).toEqual({ namespace: obj.metadata.namespace ?? '', name: obj.metadata.name });
  });
});

describe('backoff', () => {
  it('doubles per failure up to the maximum', () => {
    const b = new ExponentialBackoff({ baseMs: 100, maxMs: 1_000 });
    expect([1, 2, 3, 4, 5, 6].map(() => b.next('k'))).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.forget('k');
    expect(b.next('k')).toBe(100);
  });

  it('makes callers wait once the bucket burst is spent, then refills over time', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 2, () => now);
    expect([bucket.take(), bucket.take()]).toEqual([0, 0]);
    expect(bucket.take()).toBe(100);
    now = 1_000;
    expect(bucket.take()).toBe(0);
  });
});
