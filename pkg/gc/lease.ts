// A lease announces the blobs a backup, restore, export or verification in progress relies on,
// before it skips, uploads or reads any of them, so that the collector keeps them. It lives
// under plugins/imagestreams/v1/leases/, is renewed while the work runs (a lease whose object
// was not written for LEASE_TTL is stale: its writer died, and the collector ignores it), and
// is deleted at the end. Freshness is judged by the store's own clock (the object's
// lastModified), so the writer's and the collector's clocks need not agree.
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors.js';
import type { ObjectStore } from '../store/objectStore.js';

export const LEASE_TTL_MS = 15 * 60_000;
export const LEASE_RENEW_MS = 60_000;

export interface LeaseDoc {
  id: string;
  kind: 'backup' | 'restore' | 'export' | 'verify';
  /** Who holds it, for people reading the bucket. */
  owner: string;
  blobs: string[];
}

export function leasesPrefix(root: string): string {
  return `${root}leases/`;
}

export class Lease {
  private readonly blobs = new Set<string>();
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private released = false;
  /** The store's time of the first write: a collector that ran after it may have missed nothing of it. */
  writtenAt?: Date;
  /** This process's time of the first write: the fence of the commit counts from it. */
  writtenLocally = 0;
  readonly key: string;

  private constructor(private readonly store: ObjectStore, readonly kind: LeaseDoc['kind'], readonly owner: string, readonly id = randomUUID()) {
    this.key = `${leasesPrefix(store.root)}${id}.json`;
  }

  /** Writes the lease (and keeps renewing it); `blobs` are announced before the promise resolves. */
  static async take(store: ObjectStore, kind: LeaseDoc['kind'], owner: string, blobs: Iterable<string> = [], opts: { renewMs?: number; onRenewError?: (err: unknown) => void } = {}): Promise<Lease> {
    const lease = new Lease(store, kind, owner);
    for (const b of blobs) lease.blobs.add(b);
    await lease.write();
    lease.writtenLocally = Date.now();
    lease.writtenAt = (await store.head(lease.key))?.lastModified ?? new Date();
    lease.timer = setInterval(() => {
      lease.write().catch((err: unknown) => opts.onRenewError?.(err));
    }, opts.renewMs ?? LEASE_RENEW_MS);
    lease.timer.unref();
    return lease;
  }

  /**
   * A lease for work that goes on without one (a restore, a verification): a location that
   * refuses the write (a credential that may only read) is told to `onError`, and the bundle's
   * own references keep its blobs while it exists.
   */
  static async tryTake(store: ObjectStore, kind: LeaseDoc['kind'], owner: string, blobs: Iterable<string>, onError?: (message: string) => void): Promise<Lease | undefined> {
    try {
      return await Lease.take(store, kind, owner, blobs);
    } catch (err) {
      onError?.(`the lease of the ${owner} could not be written (${errorMessage(err)}): it goes on without it`);
      return undefined;
    }
  }

  /** Adds blobs to the announcement: written before the promise resolves (call it before relying on them). */
  async add(digests: Iterable<string>): Promise<void> {
    let added = false;
    for (const d of digests) {
      if (!this.blobs.has(d)) {
        this.blobs.add(d);
        added = true;
      }
    }
    if (added) await this.write();
  }

  has(digest: string): boolean {
    return this.blobs.has(digest);
  }

  async release(): Promise<void> {
    this.released = true;
    clearInterval(this.timer);
    await this.writing.catch(() => undefined);
    try {
      await this.store.delete(this.key);
    } catch {
      // A lease left behind goes stale and is removed by the collector.
    }
  }

  // Writes one at a time, each the latest set: a renewal never overwrites a bigger announcement with a smaller one.
  private write(): Promise<void> {
    const next = this.writing.catch(() => undefined).then(async () => {
      if (this.released) return;
      const doc: LeaseDoc = { id: this.id, kind: this.kind, owner: this.owner, blobs: [...this.blobs] };
      await this.store.put(this.key, Buffer.from(JSON.stringify(doc)), { contentType: 'application/json' });
    });
    this.writing = next;
    return next;
  }
}

/** The leases of the location, live and stale (by the store's clock: `now` is the store's too). */
export async function readLeases(store: ObjectStore, now: Date, ttlMs = LEASE_TTL_MS, signal?: AbortSignal): Promise<{ live: LeaseDoc[]; stale: Array<LeaseDoc & { key: string }> }> {
  const live: LeaseDoc[] = [];
  const stale: Array<LeaseDoc & { key: string }> = [];
  for await (const o of store.list(leasesPrefix(store.root), signal)) {
    let doc: LeaseDoc;
    try {
      doc = JSON.parse((await store.getRange(o.key, 0, o.size, { ...(signal && { signal }) })).toString('utf8')) as LeaseDoc;
      if (!Array.isArray(doc.blobs)) throw new Error('no blobs list');
    } catch (err) {
      // A lease that cannot be read cannot be proven stale: nothing is collected while it is there.
      if ((err as { reason?: string }).reason === 'ObjectNotFound') continue;
      throw new LeaseUnreadableError(o.key, errorMessage(err));
    }
    const age = now.getTime() - (o.lastModified ?? now).getTime();
    if (age > ttlMs) stale.push({ ...doc, key: o.key });
    else live.push(doc);
  }
  return { live, stale };
}

export class LeaseUnreadableError extends Error {
  constructor(readonly key: string, why: string) {
    super(`lease ${key} cannot be read (${why}): nothing is collected while it is there`);
  }
}
