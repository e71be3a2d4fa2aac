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
  dataPathConcurrency, eventRecorder, informerFactory, locationsFromApi, reconcileQueue, requeueOnLocationChange, startWatching,
} from '../wiring.js';
import { IsbReconciler, type BackupRunResult } from './reconcile.js';
import { checkLocationWithStore, runBackupWithStore, type BackupRunner, type LocationChecker } from './runBackup.js';

export const CONTROLLER = 'imagestreamsbackup';

export type { ControllerContext, RunningController } from '../context.js';

export interface BackupControllerContext extends ControllerContext {
  /** Replaceable data path (tests); defaults to pkg/store + pkg/backup. */
  runBackup?: BackupRunner;
  checkLocation?: LocationChecker;
}

export async function startImageStreamsBackupController(ctx: BackupControllerContext): Promise<RunningController> {
  const { kubeConfig: kc, config, metrics } = ctx;
  const log = ctx.log.child({ controller: CONTROLLER });
  const isbs = new CustomResources<ImageStreamsBackup>(kc, { group: GROUP, version: VERSION, plural: ISB_PLURAL });
  const veleroBackups = new CustomResources<VeleroBackup>(kc, VeleroBackups);
  const bsls = new CustomResources<BackupStorageLocation>(kc, VeleroBackupStorageLocations);

  // The queue and the runs refer to each other: a run's start and end enqueue its key.
  let queue: WorkQueue | undefined;
  const runs = new Runs<BackupRunResult>({ concurrency: config.maxConcurrentRuns, onChange: (key) => queue?.add(key) });
  const reconciler = new IsbReconciler({
    isbs,
    veleroBackups,
    locations: locationsFromApi(bsls, new Secrets(kc)),
    runs,
    record: eventRecorder(ctx, log),
    runBackup: ctx.runBackup ?? runBackupWithStore,
    checkLocation: ctx.checkLocation ?? checkLocationWithStore,
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
  const informer = informerFactory(ctx, log);

  const isbInformers = config.watchNamespaces.map((ns) => informer('imagestreamsbackups', isbs, ns));
  const allIsbs = () => isbInformers.flatMap((i) => i.list());
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

  const bslInformers = config.watchNamespaces.map((ns) => informer('backupstoragelocations', bsls, ns));
  requeueOnLocationChange(bslInformers, allIsbs, TERMINAL_PHASES, q);

  const running = await startWatching(CONTROLLER, [...veleroInformers, ...bslInformers], isbInformers, q, runs);
  log.info('controller started', { namespaces: config.watchNamespaces });
  return running;
}
