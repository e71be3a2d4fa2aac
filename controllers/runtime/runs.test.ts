import { Runs } from './runs.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

describe('Runs', () => {
  it('queues runs beyond the concurrency and starts them as others finish', async () => {
    const changes: string[] = [];
    const runs = new Runs<number>({ concurrency: 1, onChange: (k) => changes.push(k) });
    const first = deferred<number>();
    const a = runs.start('ns/a', 'u1', 1, () => first.promise);
    const b = runs.start('ns/b', 'u2', 1, async () => 2);
    await Promise.resolve();
    expect([a.state, b.state]).toEqual(['running', 'queued']);
    first.resolve(1);
    await b.done;
    expect(a.result).toEqual({ ok: true, value: 1 });
    expect(b.result).toEqual({ ok: true, value: 2 });
    expect(changes).toEqual(['ns/a', 'ns/a', 'ns/b', 'ns/b']);
    expect(runs.take('ns/a')).toBe(a);
    expect(runs.get('ns/a')).toBeUndefined();
  });

  it('keeps a failure as the result and never throws', async () => {
    const runs = new Runs<number>({ concurrency: 2, onChange: () => {} });
    const r = runs.start('ns/a', 'u', 1, async () => { throw new Error('disk full'); });
    await r.done;
    expect(r.result).toMatchObject({ ok: false, error: expect.objectContaining({ message: 'disk full' }) });
    expect(runs.active).toBe(0);
  });

  it.each(['running', 'queued'] as const)('aborts a %s run, frees its slot and does not report it', async (state) => {
    const changes: string[] = [];
    const runs = new Runs<string>({ concurrency: 1, onChange: (k) => changes.push(k) });
    const blocker = deferred<string>();
    if (state === 'queued') runs.start('ns/blocker', 'u0', 1, () => blocker.promise);
    const r = runs.start('ns/a', 'u', 1, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
    await Promise.resolve();
    expect(r.state).toBe(state);
    runs.abort('ns/a');
    await r.done;
    expect(r.result).toMatchObject({ ok: false });
    expect(runs.get('ns/a')).toBeUndefined();
    expect(changes.filter((k) => k === 'ns/a')).toHaveLength(state === 'running' ? 1 : 0);
    blocker.resolve('x');
    await runs.shutdown();
    expect(runs.active).toBe(0);
  });

  it('refuses a second run for a key until the first is taken', async () => {
    const runs = new Runs<number>({ concurrency: 1, onChange: () => {} });
    const r = runs.start('ns/a', 'u', 1, async () => 1);
    expect(() => runs.start('ns/a', 'u', 2, async () => 2)).toThrow(/exists already/);
    await r.done;
    expect(runs.take('ns/a')).toBe(r);
    expect(runs.start('ns/a', 'u', 2, async () => 2).generation).toBe(2);
  });

  it.each([
    { name: 'an object that still is, unchanged', obj: { metadata: { uid: 'u' } }, gone: false, kept: true },
    { name: 'a deleted object', obj: undefined, gone: true, kept: false },
    { name: 'an object being deleted', obj: { metadata: { uid: 'u', deletionTimestamp: '2026-01-01T00:00:00Z' } }, gone: true, kept: false },
    { name: 'a replaced object (another uid)', obj: { metadata: { uid: 'v' } }, gone: false, kept: false },
  ])('for $name, current() keeps the run: $kept, says gone: $gone', async ({ obj, gone, kept }) => {
    const runs = new Runs<number>({ concurrency: 1, onChange: () => {} });
    const run = runs.start('ns/a', 'u', 1, (signal) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
    await Promise.resolve();
    expect(run.state).toBe('running');
    const found = runs.current('ns/a', obj, 'Thing');
    expect(found.gone).toBe(gone);
    expect(found.run).toBe(kept ? run : undefined);
    expect(run.signal.aborted).toBe(!kept);
    if (kept) runs.abort('ns/a');
    await run.done;
  });
});
