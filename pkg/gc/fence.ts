// The writer's half of the collector's fence (collect.ts): before a backup commits its bundle,
// it makes sure that no blob it relies on was deleted under it. Nothing is to be done when no
// collector ran since its lease was written; when one ran, every blob is checked; when one is
// running, the writer first waits until its lease is FENCE old, since the collector may still be
// deleting what it decided before it could see the lease.
import { setTimeout as sleep } from 'node:timers/promises';
import { TransientError } from '../errors.js';
import type { ObjectStore } from '../store/objectStore.js';
import { collectorActivity, GC_FENCE_MS } from './collect.js';
import type { Lease } from './lease.js';

export async function checkBeforeCommit(
  store: ObjectStore, lease: Lease, blobs: Iterable<{ digest: string; size: number }>, opts: { fenceMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const { signal } = opts;
  const activity = await collectorActivity(store, lease.writtenAt ?? new Date(0), signal);
  if (activity === 'none') return;
  if (activity === 'running') {
    const wait = (opts.fenceMs ?? GC_FENCE_MS) - (Date.now() - lease.writtenLocally);
    if (wait > 0) await sleep(wait, undefined, signal ? { signal } : {});
  }
  const missing: string[] = [];
  const list = [...blobs];
  for (let i = 0; i < list.length; i += 32) {
    await Promise.all(list.slice(i, i + 32).map(async (b) => {
      const info = await store.head(store.blobKey(b.digest), signal);
      if (!info || info.size !== b.size) missing.push(b.digest);
    }));
  }
  if (missing.length) {
    throw new TransientError('PoolChanged', `${missing.length} blob${missing.length === 1 ? ' was' : 's were'} removed from the pool while the backup ran `
      + `(first: ${missing[0]}): it runs again and uploads ${missing.length === 1 ? 'it' : 'them'}`);
  }
}
