// Polling and ports for the fault suite. Polls tolerate errors (a fault may be making the API
// server or a proxy refuse for a while): the last error is reported if the deadline passes.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** `signal` ends the wait early (the case is being closed): nothing polls after its test. */
export async function waitFor<T>(
  what: string, get: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, intervalMs = 250, signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await get();
      last = { value };
      if (done(value)) return value;
    } catch (error) {
      last = { error };
    }
    if (Date.now() > deadline) {
      const detail = last === undefined ? 'nothing read' : 'error' in last ? `last error: ${String(last.error)}` : `last: ${JSON.stringify(last.value)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${detail}`);
    }
    await sleep(intervalMs, undefined, signal ? { signal } : {});
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
