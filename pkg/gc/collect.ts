// The garbage collector of one location's blob pool. A shared blob store has one race that
// every online collector must fence: a writer decides to reuse a blob just as the collector
// deletes it. The safe designs fence it with time and a second look (kopia), and so does this:
//
// 1. One collector per location at a time: a lock object (gc/lock.json, written if absent,
//    renewed, taken over only when stale). Its write gives the store's "now".
// 2. Mark: every blob named by a committed bundle (its backup.json layers and its metadata
//    entries) or by a live lease (lease.ts). A bundle or a fresh lease that cannot be read
//    stops the sweep: nothing is deleted that is not proven unreferenced.
// 3. Two passes at least GC_GRACE apart: a blob is deleted only if it was unreferenced and
//    older than the grace period at the previous pass (gc/state.json) and still is now.
// 4. A second look: the live leases are read again right before each batch of deletes, and a
//    batch must end within FENCE/2 of that look; a writer that announced its blobs after the
//    look waits, when a collector holds the lock, until its lease is FENCE old and then checks
//    its blobs before it commits (fence.ts). So a deleted blob is never committed.
//
// It also aborts multipart uploads older than the grace period (by prefix, and by the keys of
// stale leases, since some S3 implementations list uploads by exact key only), removes stale
// leases, deletes orphaned bundles when asked to (orphans.ts), and reports what it freed.
import { errorMessage } from '../errors.js';
import { openBundle } from '../bundle/open.js';
import { blobsPrefix, digestOfBlobKey } from '../store/keys.js';
import type { ObjectStore, Retention } from '../store/objectStore.js';
import { PreconditionFailedError } from '../store/objectStore.js';
import { LeaseUnreadableError, readLeases } from './lease.js';

export const GC_FENCE_MS = 20_000;
const LOCK_TTL_MS = 10 * 60_000;
const BATCH = 100;

export interface CollectOptions {
  /** A blob must be unreferenced and older than this at two passes this far apart (GC_GRACE_SECONDS). */
  graceMs: number;
  dryRun?: boolean;
  /** Who collects, for the lock (the controller's identity). */
  holder: string;
  /** Bundles that may be deleted because their ImageStreamsBackup is gone (orphans.ts decides). */
  orphan?: (backup: { namespace: string; name: string; uid: string; cluster?: string; deletionPolicy?: string }) => Promise<boolean>;
  fenceMs?: number;
  leaseTtlMs?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

export interface CollectReport {
  /** False when another collector held the location's lock. */
  ran: boolean;
  /**
   * 'first': no earlier pass, candidates recorded; 'sweep': deletes what was a candidate at the
   * previous pass and still is, and records the new candidates; 'waiting': the grace period has
   * not passed since the previous pass, nothing is done.
   */
  pass?: 'first' | 'sweep' | 'waiting';
  referenced: number;
  candidates: number;
  deletedBlobs: number;
  freedBytes: number;
  /** Would have been deleted, in a dry run. */
  wouldDelete: string[];
  abortedUploads: number;
  removedLeases: number;
  orphanedBundles: string[];
  retention?: Retention;
}

interface State {
  at: string;
  candidates: string[];
}

export async function collectGarbage(store: ObjectStore, opts: CollectOptions): Promise<CollectReport> {
  const log = opts.log ?? (() => {});
  const fenceMs = opts.fenceMs ?? GC_FENCE_MS;
  const { signal } = opts;
  const report: CollectReport = { ran: false, referenced: 0, candidates: 0, deletedBlobs: 0, freedBytes: 0, wouldDelete: [], abortedUploads: 0, removedLeases: 0, orphanedBundles: [] };
  const lock = await takeLock(store, opts.holder, signal);
  if (!lock) return report;
  report.ran = true;
  const renew = setInterval(() => void store.put(lockKey(store), lockBody(opts.holder)).catch(() => undefined), LOCK_TTL_MS / 4);
  renew.unref();
  try {
    const now = lock.now;
    report.retention = await store.retention(signal);
    if (report.retention.versioning !== 'Off' || report.retention.objectLock) {
      log('bucket keeps old versions or locks objects: deleting frees no space or is refused', { ...report.retention });
    }

    // Orphaned bundles go first: their blobs may then be collected in the same passes.
    if (opts.orphan) {
      for await (const o of store.list(`${store.root}backups/`, signal)) {
        if (!o.key.endsWith('/bundle.tar')) continue;
        const b = await openBundle(store, o.key, { name: o.key, stopAfterBackupJson: true, ...(signal && { signal }) });
        if (!b) continue;
        const id = b.backup.backup as { namespace: string; name: string; uid: string; cluster?: string; deletionPolicy?: string };
        if (await opts.orphan(id)) {
          report.orphanedBundles.push(o.key);
          if (!opts.dryRun) await store.delete(o.key, signal);
        }
      }
    }

    const { live, stale } = await leasesAt(store, now, opts.leaseTtlMs, signal);
    const referenced = await markBundles(store, signal);
    for (const l of live) for (const d of l.blobs) referenced.add(d);
    report.referenced = referenced.size;

    const pool = new Map<string, { size: number; lastModified?: Date }>();
    for await (const o of store.list(blobsPrefix(store.root), signal)) {
      const digest = digestOfBlobKey(store.root, o.key);
      if (digest) pool.set(digest, { size: o.size, ...(o.lastModified && { lastModified: o.lastModified }) });
    }
    const old = (d: string) => (pool.get(d)?.lastModified?.getTime() ?? now.getTime()) < now.getTime() - opts.graceMs;
    const candidates = [...pool.keys()].filter((d) => !referenced.has(d) && old(d));
    report.candidates = candidates.length;

    const state = await readState(store, signal);
    const elapsed = state ? now.getTime() - new Date(state.at).getTime() : 0;
    let remaining = candidates;
    if (!state) {
      report.pass = 'first';
    } else if (elapsed < opts.graceMs) {
      report.pass = 'waiting';
      remaining = state.candidates;
    } else {
      report.pass = 'sweep';
      const before = new Set(state.candidates);
      const doomed = candidates.filter((d) => before.has(d));
      if (opts.dryRun) {
        report.wouldDelete = doomed;
      } else {
        const deleted = await deleteFenced(store, doomed, pool, now, fenceMs, opts.leaseTtlMs, signal);
        report.deletedBlobs = deleted.count;
        report.freedBytes = deleted.bytes;
      }
      const gone = new Set(doomed);
      remaining = candidates.filter((d) => !gone.has(d));
    }
    if (!opts.dryRun && report.pass !== 'waiting') {
      await store.put(stateKey(store), Buffer.from(JSON.stringify({ at: now.toISOString(), candidates: remaining } satisfies State)), { contentType: 'application/json' });
    }

    // Leftovers of writers that died: their multipart uploads, and their leases.
    if (!opts.dryRun) {
      const keys = new Set<string>([store.root]);
      for (const l of stale) for (const d of l.blobs) keys.add(store.blobKey(d));
      for (const prefix of keys) {
        for await (const u of store.listUploads(prefix, signal)) {
          if (!u.key.startsWith(store.root)) continue;
          if (u.initiated && u.initiated.getTime() >= now.getTime() - opts.graceMs) continue;
          await store.abortUpload(u, signal);
          report.abortedUploads++;
        }
      }
      for (const l of stale) {
        await store.delete(l.key, signal);
        report.removedLeases++;
      }
    }
    log('garbage collection', { ...report, wouldDelete: report.wouldDelete.length });
    return report;
  } finally {
    clearInterval(renew);
    await store.delete(lockKey(store)).catch(() => undefined);
  }
}

/**
 * Deletes in batches, each after a fresh look at the leases. Every delete of a batch must have
 * been answered within half the fence of that look: a request still in flight then is given up
 * (and the sweep stops), so a delete the writer did not see coming lands, at the latest, half a
 * fence before the writer's check; the other half covers the store's own delay.
 */
async function deleteFenced(
  store: ObjectStore, doomed: string[], pool: Map<string, { size: number }>, now: Date, fenceMs: number, leaseTtlMs: number | undefined, signal?: AbortSignal,
): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (let i = 0; i < doomed.length; i += BATCH) {
    const look = Date.now();
    const { live } = await leasesAt(store, new Date(now.getTime() + (look - now.getTime())), leaseTtlMs, signal);
    const announced = new Set(live.flatMap((l) => l.blobs));
    const deadline = AbortSignal.timeout(Math.max(0, look + fenceMs / 2 - Date.now()));
    const within = signal ? AbortSignal.any([signal, deadline]) : deadline;
    for (const d of doomed.slice(i, i + BATCH)) {
      if (announced.has(d)) continue;
      try {
        await store.delete(store.blobKey(d), within);
      } catch (err) {
        // Past half the fence a writer may have announced this blob unseen: the next sweep goes on.
        if (deadline.aborted && !signal?.aborted) return { count, bytes };
        throw err;
      }
      count++;
      bytes += pool.get(d)?.size ?? 0;
    }
  }
  return { count, bytes };
}

async function leasesAt(store: ObjectStore, now: Date, ttlMs: number | undefined, signal?: AbortSignal) {
  try {
    return await readLeases(store, now, ttlMs, signal);
  } catch (err) {
    if (err instanceof LeaseUnreadableError) throw new GcStoppedError(err.message);
    throw err;
  }
}

/** Every blob a committed bundle names: backup.json's layers and the bundle's own entries (which may be in the pool too). */
async function markBundles(store: ObjectStore, signal?: AbortSignal): Promise<Set<string>> {
  const referenced = new Set<string>();
  for await (const o of store.list(`${store.root}backups/`, signal)) {
    if (!o.key.endsWith('/bundle.tar')) continue;
    let bundle;
    try {
      // Little in memory: the digests are what is needed, not the bytes.
      bundle = await openBundle(store, o.key, { name: o.key, budget: 1024 * 1024, ...(signal && { signal }) });
    } catch (err) {
      throw new GcStoppedError(`bundle ${o.key} cannot be read (${errorMessage(err)}): nothing is collected while a bundle's references are unknown`);
    }
    if (!bundle) continue;
    for (const l of bundle.backup.layers) referenced.add(l.digest);
    for (const d of bundle.blobs.digests()) referenced.add(d);
  }
  return referenced;
}

export class GcStoppedError extends Error {}

const lockKey = (store: ObjectStore) => `${store.root}gc/lock.json`;
const stateKey = (store: ObjectStore) => `${store.root}gc/state.json`;
const lockBody = (holder: string) => Buffer.from(JSON.stringify({ holder }));

/** The store's own clock: the time it gives an object it writes now. */
export async function storeNow(store: ObjectStore, signal?: AbortSignal): Promise<Date> {
  const key = `${store.root}gc/clock`;
  await store.put(key, Buffer.from('1'), { contentType: 'text/plain' });
  return (await store.head(key, signal))?.lastModified ?? new Date();
}

/** The lock, taken if absent or stale (by the store's clock); with the store's time of taking it. */
async function takeLock(store: ObjectStore, holder: string, signal?: AbortSignal): Promise<{ now: Date } | undefined> {
  const existing = await store.head(lockKey(store), signal);
  if (existing) {
    const now = await storeNow(store, signal);
    if (now.getTime() - (existing.lastModified ?? now).getTime() < LOCK_TTL_MS) return undefined;
  }
  try {
    await store.put(lockKey(store), lockBody(holder), { contentType: 'application/json', ...(existing?.etag ? { ifMatch: existing.etag } : { ifNoneMatch: true }) });
  } catch (err) {
    // Another collector took it first.
    if (err instanceof PreconditionFailedError) return undefined;
    throw err;
  }
  return { now: (await store.head(lockKey(store), signal))?.lastModified ?? new Date() };
}

async function readState(store: ObjectStore, signal?: AbortSignal): Promise<State | undefined> {
  const info = await store.head(stateKey(store), signal);
  if (!info) return undefined;
  try {
    const doc = JSON.parse((await store.getRange(stateKey(store), 0, info.size, { ...(signal && { signal }) })).toString('utf8')) as State;
    return Array.isArray(doc.candidates) && typeof doc.at === 'string' ? doc : undefined;
  } catch {
    // An unreadable state starts the passes again: nothing is deleted on its word.
    return undefined;
  }
}

/** When a collector holds the lock, or finished after `since`, a writer must check its blobs before it commits. */
export async function collectorActivity(store: ObjectStore, since: Date, signal?: AbortSignal): Promise<'running' | 'ran' | 'none'> {
  const lock = await store.head(lockKey(store), signal);
  if (lock) return 'running';
  const state = await store.head(stateKey(store), signal);
  return state?.lastModified && state.lastModified.getTime() >= since.getTime() - 1_000 ? 'ran' : 'none';
}
