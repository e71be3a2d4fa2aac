// Wires the ImageStreamsBackup reconcile to the cluster: informers on ISBs, Velero Backups and
// BackupStorageLocations in each watched namespace, a work queue keyed by namespace/name, and
// the runs that copy the data. A Velero Backup or BSL change enqueues the ISBs that depend on
// it, so a completed Velero backup starts its ISB without polling delay.
import { GROUP, ISB_PLURAL, VERSION, type ImageStreamsBackup } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { Secrets } from '../../pkg/k8s/secrets.js';
import {
  VeleroBackupStorageLocations, VeleroBackups, type BackupStorageLocation, type VeleroBackup,
} from '../../pkg/k8s/velero.js';
import { TERMINAL_PHASES } from '../conditions.js';
import type { ControllerContext, RunningController } from '../context.js';
import { Runs } from '../runtime/runs.js';
import { keyOf, type WorkQueue } from '../runtime/workQueue.js';
import {
  dataPathConcurrency, eventRecorder, informerFactory, locationsFrom, reconcileQueue, requeueOnLocationChange, startWatching,
} from '../wiring.js';
import { IsbReconciler, type BackupRunResult } from './reconcile.js';
import { checkLocationWithStore, runBackupWithStore } from './runBackup.js';

export const CONTROLLER = 'imagestreamsbackup';

export type { ControllerContext, RunningController } from '../context.js';

export async function startImageStreamsBackupController(ctx: ControllerContext): Promise<RunningController> {
  const { kubeConfig: kc, config, metrics } = ctx;
  const log = ctx.log.child({ controller: CONTROLLER });
  const isbs = new CustomResources<ImageStreamsBackup>(kc, { group: GROUP, version: VERSION, plural: ISB_PLURAL });
  const veleroBackups = new CustomResources<VeleroBackup>(kc, VeleroBackups);
  const bsls = new CustomResources<BackupStorageLocation>(kc, VeleroBackupStorageLocations);

  const informer = informerFactory(ctx, log);
  // BSLs by namespace: watched for requeues, and read from this cache by the location lookup.
  const bslInformers = new Map(config.watchNamespaces.map((ns) => [ns, informer('backupstoragelocations', bsls, ns)] as const));

  // The queue and the runs refer to each other: a run's start and end enqueue its key.
  let queue: WorkQueue | undefined;
  const runs = new Runs<BackupRunResult>({ concurrency: config.maxConcurrentRuns, onChange: (key) => queue?.add(key) });
  const reconciler = new IsbReconciler({
    isbs,
    veleroBackups,
    locations: locationsFrom(bslInformers, bsls, new Secrets(kc)),
    runs,
    record: eventRecorder(ctx, log),
    runBackup: runBackupWithStore,
    checkLocation: checkLocationWithStore,
    registry: ctx.registry,
    internalRegistry: config.internalRegistry,
    progressIntervalMs: config.progressIntervalMs,
    ...dataPathConcurrency(config),
    watchedNamespaces: new Set(config.watchNamespaces),
    metrics,
    log,
  });
  queue = reconcileQueue(CONTROLLER, ctx, log, (key) => reconciler.reconcile(key));
  const q = queue;

  const isbInformers = config.watchNamespaces.map((ns) => informer('imagestreamsbackups', isbs, ns));
  const allIsbs = () => isbInformers.flatMap((i) => i.list());
  metrics.observePhases('ImageStreamsBackup', allIsbs);
  for (const inf of isbInformers) inf.on((_event, obj) => q.add(keyOf(obj)));

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
  log.info('controller started', { namespaces: config.watchNamespaces });
  return running;
}
