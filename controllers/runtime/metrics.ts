// The controller's Prometheus series, on prom-client: the process (RSS, heap, event loop lag),
// reconciles (count, errors, duration), work queues (depth, adds, retries), runs (active,
// queued), bytes moved, the objects of each kind by phase, and the checks against Velero
// backups. The README lists them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ControllerMetrics {
  registry: Registry;
  reconciles: Counter<'controller' | 'result'>;
  errors: Counter<'controller'>;
  reconcileSeconds: Histogram<'controller'>;
  queueDepth: Gauge<'name'>;
  queueAdds: Counter<'name'>;
  queueRetries: Counter<'name'>;
  runsActive: Gauge<'controller'>;
  runsQueued: Gauge<'controller'>;
  bytesUploaded: Counter;
  bytesSkipped: Counter;
  bytesRestored: Counter;
  restoreBytesSkipped: Counter;
  leader: Gauge;
  /** Checks of plugin-made ImageStreamsBackups against their Velero backups, by result (Deleted, or why the ISB stays). */
  veleroBackupChecks: Counter<'result'>;
  gcPasses: Counter<'location' | 'result'>;
  gcDeletedBlobs: Counter<'location'>;
  gcFreedBytes: Counter<'location'>;
  gcCandidates: Gauge<'location'>;
  gcDeletedBundles: Counter<'location'>;
  /** Reports the phases of a kind's objects at each scrape (from an informer's cache). */
  observePhases(kind: string, objects: () => Iterable<{ status?: { phase?: string } }>): void;
}

export function controllerMetrics(registry = new Registry()): ControllerMetrics {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const registers = [registry];
  const phaseSources = new Map<string, () => Iterable<{ status?: { phase?: string } }>>();
  new Gauge({
    name: 'imagestream_backup_objects', help: 'ImageStreamsBackups and ImageStreamsRestores in the watched namespaces, by kind and phase ("" before the first status).',
    labelNames: ['kind', 'phase'], registers,
    collect() {
      this.reset();
      for (const [kind, list] of phaseSources) {
        const counts = new Map<string, number>();
        for (const o of list()) counts.set(o.status?.phase ?? '', (counts.get(o.status?.phase ?? '') ?? 0) + 1);
        for (const [phase, n] of counts) this.set({ kind, phase }, n);
      }
    },
  });
  return {
    registry,
    reconciles: new Counter({ name: 'imagestream_backup_reconciles_total', help: 'Reconciles run, by controller and result (success, error).', labelNames: ['controller', 'result'], registers }),
    errors: new Counter({ name: 'imagestream_backup_reconcile_errors_total', help: 'Reconciles that ended in an error (retried with backoff), by controller.', labelNames: ['controller'], registers }),
    reconcileSeconds: new Histogram({
      name: 'imagestream_backup_reconcile_duration_seconds', help: 'Time a reconcile takes (the copy itself runs beside it), by controller.',
      labelNames: ['controller'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers,
    }),
    queueDepth: new Gauge({ name: 'imagestream_backup_workqueue_depth', help: 'Keys waiting in a work queue, by queue.', labelNames: ['name'], registers }),
    queueAdds: new Counter({ name: 'imagestream_backup_workqueue_adds_total', help: 'Keys added to a work queue, by queue.', labelNames: ['name'], registers }),
    queueRetries: new Counter({ name: 'imagestream_backup_workqueue_retries_total', help: 'Keys put back in a work queue after a failed reconcile, by queue.', labelNames: ['name'], registers }),
    runsActive: new Gauge({ name: 'imagestream_backup_runs_active', help: 'Backups or restores copying data now, by controller.', labelNames: ['controller'], registers }),
    runsQueued: new Gauge({ name: 'imagestream_backup_runs_queued', help: 'Backups or restores waiting for a free slot (MAX_CONCURRENT_RUNS), by controller.', labelNames: ['controller'], registers }),
    bytesUploaded: new Counter({ name: 'imagestream_backup_bytes_uploaded_total', help: 'Layer bytes a backup uploaded to object storage.', registers }),
    bytesSkipped: new Counter({ name: 'imagestream_backup_bytes_skipped_total', help: 'Layer bytes a backup did not upload because the location held them.', registers }),
    bytesRestored: new Counter({ name: 'imagestream_backup_bytes_restored_total', help: 'Blob bytes a restore pushed to the registry.', registers }),
    restoreBytesSkipped: new Counter({ name: 'imagestream_backup_restore_bytes_skipped_total', help: 'Blob bytes a restore did not push: already in the registry, or mounted.', registers }),
    leader: new Gauge({ name: 'imagestream_backup_leader', help: '1 while this process holds the leader Lease (or runs without leader election), else 0.', registers }),
    veleroBackupChecks: new Counter({
      name: 'imagestream_backup_velero_backup_checks_total',
      help: 'Checks of ImageStreamsBackups against the Velero backups they belong to, by result: Deleted (Velero deleted the backup), or why the ISB stays.',
      labelNames: ['result'], registers,
    }),
    gcPasses: new Counter({ name: 'imagestream_backup_gc_passes_total', help: 'Passes of the pool\'s garbage collector, by location (namespace/BSL) and result (first, sweep, waiting, locked: another collector worked, stopped: something could not be proven unreferenced, error).', labelNames: ['location', 'result'], registers }),
    gcDeletedBlobs: new Counter({ name: 'imagestream_backup_gc_deleted_blobs_total', help: 'Blobs the garbage collector deleted from the pool, by location.', labelNames: ['location'], registers }),
    gcFreedBytes: new Counter({ name: 'imagestream_backup_gc_freed_bytes_total', help: 'Bytes the garbage collector freed in the pool, by location.', labelNames: ['location'], registers }),
    gcCandidates: new Gauge({ name: 'imagestream_backup_gc_candidate_blobs', help: 'Blobs no backup uses, waiting for the grace period (or, in a dry run, that would be deleted), by location, at the last pass.', labelNames: ['location'], registers }),
    gcDeletedBundles: new Counter({ name: 'imagestream_backup_gc_orphaned_bundles_deleted_total', help: 'Bundles the collector deleted because their ImageStreamsBackup is gone (the orphan rule), by location.', labelNames: ['location'], registers }),
    observePhases: (kind, objects) => { phaseSources.set(kind, objects); },
  };
}
