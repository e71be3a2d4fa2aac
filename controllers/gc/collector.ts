// Runs the pool's garbage collector (pkg/gc/collect.ts) over every location this controller
// writes to: each ReadWrite BSL of the watched namespaces and each inline location of an
// ImageStreamsBackup, once per location however many BSLs name it (a location is its provider,
// endpoint, bucket and prefix). A pass runs on a period (GC_INTERVAL_SECONDS) and soon after a
// bundle was deleted; passes run one at a time. What a pass freed goes to the log, the metrics
// and, for a BSL, an event on it.
import { hostname } from 'node:os';
import type { BackupLocation } from '../../pkg/api/index.js';
import type { LocationSpec } from '../../pkg/contracts.js';
import { errorMessage } from '../../pkg/errors.js';
import { collectGarbage, GcStoppedError, type CollectReport } from '../../pkg/gc/collect.js';
import type { BackupStorageLocation } from '../../pkg/k8s/velero.js';
import type { ObjectStore } from '../../pkg/store/index.js';
import { PROVIDERS } from '../../pkg/store/provider.js';
import type { ResolvedLocation } from '../backupLocation.js';
import type { GcSettings } from '../config.js';
import { formatBytes, plural } from '../runtime/format.js';
import type { Logger } from '../runtime/logger.js';
import type { ControllerMetrics } from '../runtime/metrics.js';
import type { RecordEvent } from '../wiring.js';
import type { BundleOwner } from './orphans.js';

/** Where a pass may run: a BSL (events go to it) or an ISB's inline location. */
export interface CollectTarget {
  namespace: string;
  spec: BackupLocation;
  bsl?: BackupStorageLocation;
}

export interface CollectorDeps {
  gc: GcSettings;
  targets: () => CollectTarget[];
  resolve: (namespace: string, spec: BackupLocation) => Promise<ResolvedLocation>;
  openStore: (location: ResolvedLocation) => Promise<ObjectStore>;
  orphan: (owner: BundleOwner) => Promise<boolean>;
  record: RecordEvent;
  metrics?: ControllerMetrics;
  log: Logger;
  /** Who holds a location's lock, for people reading the bucket. */
  holder?: string;
}

export const GcEventReasons = {
  GarbageCollected: 'GarbageCollected',
  GarbageCollectionDryRun: 'GarbageCollectionDryRun',
  GarbageCollectionStopped: 'GarbageCollectionStopped',
} as const;

/** A location is its provider, endpoint, bucket and prefix, whatever BSL names it. */
export function locationKey(l: LocationSpec): string {
  const c = l.config ?? {};
  const endpoint = c.s3Url ?? c.storageAccountURI ?? c.storageAccount ?? '';
  // As the stores read them: velero.io/aws is aws, a//b/ is a/b (pkg/store/provider.ts, keys.ts).
  const prefix = (l.objectStorage.prefix ?? '').split('/').filter((x) => x !== '').join('/');
  return JSON.stringify([PROVIDERS.get(l.provider) ?? l.provider, endpoint, l.objectStorage.bucket, prefix]);
}

/** How long after a deletion its location's pass starts (deletions in a row share one). */
const AFTER_DELETION_MS = 5_000;
/** The first periodic pass after the start, at the latest. */
const FIRST_PASS_MS = 60_000;

export class GarbageCollector {
  private timer?: NodeJS.Timeout;
  private readonly soonTimers = new Map<string, NodeJS.Timeout>();
  private chain: Promise<void> = Promise.resolve();
  private readonly stopping = new AbortController();
  private readonly holder: string;

  constructor(private readonly deps: CollectorDeps) {
    this.holder = deps.holder ?? `${hostname()}/${process.pid}`;
  }

  start(): void {
    const { intervalMs } = this.deps.gc;
    if (intervalMs <= 0) return;
    const tick = (delay: number) => {
      this.timer = setTimeout(() => {
        this.passAll();
        tick(intervalMs);
      }, delay);
      this.timer.unref();
    };
    tick(Math.min(intervalMs, FIRST_PASS_MS));
  }

  /** A bundle was deleted from this location: a pass over it soon. */
  soon(location: ResolvedLocation, namespace: string, bsl?: BackupStorageLocation): void {
    const key = locationKey(location.location);
    if (this.stopping.signal.aborted || this.soonTimers.has(key)) return;
    const t = setTimeout(() => {
      this.soonTimers.delete(key);
      this.enqueue(key, { namespace, spec: {}, ...(bsl && { bsl }) }, location);
    }, AFTER_DELETION_MS);
    t.unref();
    this.soonTimers.set(key, t);
  }

  /** One pass over every location (each once). */
  passAll(): void {
    void (async () => {
      const seen = new Set<string>();
      for (const target of this.deps.targets()) {
        if (target.bsl?.spec?.accessMode === 'ReadOnly') continue;
        let location: ResolvedLocation;
        try {
          location = await this.deps.resolve(target.namespace, target.spec);
        } catch (err) {
          this.deps.log.debug('garbage collection: location skipped', { namespace: target.namespace, location: target.spec.name ?? 'inline', error: errorMessage(err) });
          continue;
        }
        if (location.readOnly) continue;
        const key = locationKey(location.location);
        if (seen.has(key)) continue;
        seen.add(key);
        this.enqueue(key, target, location);
      }
    })();
  }

  /** Passes run one after the other. */
  private enqueue(key: string, target: CollectTarget, location: ResolvedLocation): Promise<void> {
    this.chain = this.chain.then(() => (this.stopping.signal.aborted ? undefined : this.pass(key, target, location)));
    return this.chain;
  }

  /** Waits for the passes queued so far (tests, shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }

  async stop(): Promise<void> {
    this.stopping.abort(new DOMException('the controller is stopping', 'AbortError'));
    clearTimeout(this.timer);
    for (const t of this.soonTimers.values()) clearTimeout(t);
    this.soonTimers.clear();
    await this.chain;
  }

  private async pass(key: string, target: CollectTarget, location: ResolvedLocation): Promise<void> {
    const label = target.bsl ? `${target.namespace}/${target.bsl.metadata?.name ?? ''}` : `${target.namespace}/inline`;
    const { gc, metrics, log } = this.deps;
    let store: ObjectStore | undefined;
    try {
      store = await this.deps.openStore(location);
      const report = await collectGarbage(store, {
        graceMs: gc.graceMs, fenceMs: gc.fenceMs, dryRun: gc.dryRun, holder: this.holder, orphan: this.deps.orphan, signal: this.stopping.signal,
        log: (message, fields) => log.debug(message, { location: label, ...fields }),
      });
      metrics?.gcPasses.inc({ location: label, result: report.ran ? report.pass ?? 'first' : 'locked' });
      if (!report.ran) return;
      metrics?.gcDeletedBlobs.inc({ location: label }, report.deletedBlobs);
      metrics?.gcFreedBytes.inc({ location: label }, report.freedBytes);
      metrics?.gcCandidates.set({ location: label }, gc.dryRun ? report.wouldDelete.length : report.candidates);
      metrics?.gcDeletedBundles.inc({ location: label }, gc.dryRun ? 0 : report.orphanedBundles.length);
      log.info('garbage collection pass', {
        location: label, key, pass: report.pass, referenced: report.referenced, candidates: report.candidates, deletedBlobs: report.deletedBlobs,
        freedBytes: report.freedBytes, abortedUploads: report.abortedUploads, removedLeases: report.removedLeases,
        orphanedBundles: report.orphanedBundles, dryRun: gc.dryRun, wouldDelete: report.wouldDelete.length,
      });
      const event = describe(report, gc);
      if (event && target.bsl) this.deps.record(target.bsl, 'Normal', gc.dryRun ? GcEventReasons.GarbageCollectionDryRun : GcEventReasons.GarbageCollected, event);
    } catch (err) {
      if (this.stopping.signal.aborted) return;
      const stopped = err instanceof GcStoppedError;
      metrics?.gcPasses.inc({ location: label, result: stopped ? 'stopped' : 'error' });
      log.warn('garbage collection pass failed', { location: label, error: errorMessage(err) });
      if (target.bsl) {
        this.deps.record(target.bsl, 'Warning', GcEventReasons.GarbageCollectionStopped,
          `garbage collection stopped, nothing more was deleted: ${errorMessage(err)}`);
      }
    } finally {
      await store?.close();
    }
  }
}

/** The event of a pass that did something (a pass that only looked says nothing). */
function describe(r: CollectReport, gc: GcSettings): string | undefined {
  const hours = `${Math.round(gc.graceMs / 360_000) / 10}h`;
  const parts: string[] = [];
  if (gc.dryRun) {
    if (r.wouldDelete.length === 0 && r.orphanedBundles.length === 0) return undefined;
    if (r.wouldDelete.length) parts.push(`would delete ${plural(r.wouldDelete.length, 'blob')} no backup uses (first: ${r.wouldDelete[0]})`);
    if (r.orphanedBundles.length) parts.push(`would delete ${plural(r.orphanedBundles.length, 'orphaned bundle')} (${r.orphanedBundles.slice(0, 3).join(', ')})`);
    return `dry run (GC_DRY_RUN): ${parts.join('; ')}`;
  }
  if (r.deletedBlobs) parts.push(`freed ${plural(r.deletedBlobs, 'blob')} (${formatBytes(r.freedBytes)}) no backup uses`);
  if (r.orphanedBundles.length) parts.push(`deleted ${plural(r.orphanedBundles.length, 'bundle')} whose ImageStreamsBackup is gone (${r.orphanedBundles.slice(0, 3).join(', ')})`);
  if (r.abortedUploads) parts.push(`aborted ${plural(r.abortedUploads, 'multipart upload')} of interrupted backups`);
  if (parts.length === 0) return undefined;
  const remaining = r.candidates - r.deletedBlobs;
  if (remaining > 0) parts.push(`${plural(remaining, 'more blob')} no backup uses wait for the grace period (${hours})`);
  if (r.retention && (r.retention.versioning !== 'Off' || r.retention.objectLock)) {
    parts.push('the bucket keeps versions or locks objects, so deleting frees no space until its own lifecycle rules remove them');
  }
  return parts.join('; ');
}
