// Wires the ImageStreamsBackup steps to the cluster: informers on ISBs, Velero Backups and
// BackupStorageLocations in each watched namespace, a work queue keyed by namespace/name, and
// the shared life cycle that runs the copies. A Velero Backup or BSL change enqueues the ISBs
// that depend on it, so a completed Velero backup starts its ISB without polling delay; an ISB
// is enqueued when its spec, deletion or cancel annotation changes, not for a status write.
import { GROUP, ISB_PLURAL, VERSION, type ImageStreamsBackup } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { Namespaces } from '../../pkg/k8s/namespaces.js';
import { Secrets } from '../../pkg/k8s/secrets.js';
import {
  VeleroBackupStorageLocations, VeleroBackups, type BackupStorageLocation, type VeleroBackup,
} from '../../pkg/k8s/velero.js';
import { resolveLocation } from '../backupLocation.js';
import { TERMINAL_PHASES } from '../conditions.js';
import { GarbageCollector, type CollectTarget } from '../gc/collector.js';
import { orphanRule } from '../gc/orphans.js';
import { openLocationStore } from '../locationStore.js';
import type { ControllerContext, RunningController } from '../context.js';
import { Lifecycle } from '../runtime/lifecycle.js';
import { Runs } from '../runtime/runs.js';
import { keyOf, type WorkQueue } from '../runtime/workQueue.js';
import {
  dataPathConcurrency, eventRecorder, isAdminNamespace, locationsFrom, reconcileQueue, requeueOnLocationChange,
  runsMetrics, startWatching, workChanged,
} from '../wiring.js';
import { bundleFinalizer } from './finalize.js';
import { STALLED_LOCATION_RETRY_MS, backupKind, type BackupRunResult } from './reconcile.js';
import { checkLocationWithStore, deleteBundleWithStore, runBackupWithStore } from './runBackup.js';

export const CONTROLLER = 'imagestreamsbackup';

export type { ControllerContext, RunningController } from '../context.js';

export async function startImageStreamsBackupController(ctx: ControllerContext): Promise<RunningController> {
  const { kubeConfig: kc, config, metrics } = ctx;
  const log = ctx.log.child({ controller: CONTROLLER });
  const isbs = new CustomResources<ImageStreamsBackup>(kc, { group: GROUP, version: VERSION, plural: ISB_PLURAL });
  const veleroBackups = new CustomResources<VeleroBackup>(kc, VeleroBackups);
  const bsls = new CustomResources<BackupStorageLocation>(kc, VeleroBackupStorageLocations);

  const informer = ctx.informers.of.bind(ctx.informers);
  // BSLs by namespace: watched for requeues, and read from this cache by the location lookup.
  const bslInformers = new Map(config.watchNamespaces.map((ns) => [ns, informer('backupstoragelocations', bsls, ns)] as const));

  // The queue and the runs refer to each other: a run's start and end enqueue its key.
  let queue: WorkQueue | undefined;
  const runs = new Runs<BackupRunResult>({
    concurrency: config.maxConcurrentRuns, onChange: (key) => queue?.add(key), ...runsMetrics(CONTROLLER, metrics),
  });
  const record = eventRecorder(ctx, log);
  const locations = locationsFrom(bslInformers, bsls, new Secrets(kc));
  const trusted = (ns: string) => isAdminNamespace(config, ns);
  const watchedNamespaces = new Set(config.watchNamespaces);
  const isbInformers = config.watchNamespaces.map((ns) => informer('imagestreamsbackups', isbs, ns));
  const allIsbs = () => isbInformers.flatMap((i) => i.list());

  const collector = new GarbageCollector({
    gc: config.gc,
    targets: () => collectTargets([...bslInformers.values()].flatMap((i) => i.list()), allIsbs()),
    resolve: (ns, spec) => resolveLocation(ns, spec, locations, { purpose: 'backup', trusted: trusted(ns) }),
    openStore: (location) => openLocationStore(location, log, config.transport),
    orphan: orphanRule({ ...(ctx.cluster && { cluster: ctx.cluster }), watchedNamespaces, liveUid: async (ns, name) => (await isbs.get(ns, name))?.metadata?.uid }),
    record, metrics, log: log.child({ component: 'garbage-collector' }),
  });
  const namespaces = new Namespaces(kc);
  const lifecycle = new Lifecycle({
    ...backupKind({
      isbs,
      veleroBackups,
      locations,
      runBackup: runBackupWithStore,
      checkLocation: checkLocationWithStore,
      registry: ctx.registry,
      internalRegistry: config.internalRegistry,
      transport: config.transport,
      progressIntervalMs: config.progressIntervalMs,
      ...dataPathConcurrency(config),
      referrers: config.backupReferrers,
      watchedNamespaces,
      trusted,
      ...(ctx.cluster && { cluster: ctx.cluster }),
      gcFenceMs: config.gc.fenceMs,
      metrics,
      log,
    }),
    finalizer: bundleFinalizer({
      locations,
      deleteBundle: deleteBundleWithStore,
      namespaceTerminating: (ns) => namespaces.terminating(ns),
      trusted,
      onBundleDeleted: (location, ns) => collector.soon(location, ns, location.name === 'inline' ? undefined : bslInformers.get(ns)?.get(location.name, ns)),
      transport: config.transport,
      log,
    }),
  }, {
    client: isbs, runs: runs as Runs<unknown>, record, retry: config.runRetry, locationRetryMs: STALLED_LOCATION_RETRY_MS, log,
  });
  queue = reconcileQueue(CONTROLLER, ctx, log, (key) => lifecycle.reconcile(key));
  const q = queue;

  metrics.observePhases('ImageStreamsBackup', allIsbs);
  const changed = workChanged();
  for (const inf of isbInformers) inf.on((event, obj) => { if (changed(event, obj)) q.add(keyOf(obj)); });

  const veleroInformers = config.watchNamespaces.map((ns) => informer('velero-backups', veleroBackups, ns));
  for (const inf of veleroInformers) {
    inf.on((_event, vb) => {
      const ns = vb.metadata?.namespace;
      const name = vb.metadata?.name;
      for (const isb of allIsbs()) {
        const ref = isb.spec?.veleroBackupReference;
        if (ref && ref.name === name && (ref.namespace || isb.metadata?.namespace) === ns) q.add(keyOf(isb));
      }
    });
  }

  requeueOnLocationChange([...bslInformers.values()], allIsbs, TERMINAL_PHASES, q);

  const running = await startWatching(CONTROLLER, [...veleroInformers, ...bslInformers.values()], isbInformers, q, runs);
  collector.start();
  log.info('controller started', { namespaces: config.watchNamespaces, gc: { ...config.gc } });
  return {
    ...running,
    stop: async () => {
      await collector.stop();
      await running.stop();
    },
  };
}

/** Every BSL, and every ImageStreamsBackup's inline location (the collector keeps one per location). */
function collectTargets(bslList: BackupStorageLocation[], isbList: ImageStreamsBackup[]): CollectTarget[] {
  const targets: CollectTarget[] = bslList.map((bsl) => ({ namespace: bsl.metadata?.namespace ?? '', spec: { name: bsl.metadata?.name ?? '' }, bsl }));
  for (const isb of isbList) {
    const spec = isb.spec?.backupLocation;
    if (spec?.velero) targets.push({ namespace: isb.metadata?.namespace ?? '', spec });
  }
  return targets;
}
