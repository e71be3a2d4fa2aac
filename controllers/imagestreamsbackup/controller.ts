// Wires the ImageStreamsBackup reconcile to the cluster: informers on ISBs, Velero Backups and
// BackupStorageLocations in each watched namespace, a work queue keyed by namespace/name, and
// the runs that copy the data. A Velero Backup or BSL change enqueues the ISBs that depend on
// it, so a completed Velero backup starts its ISB without polling delay.
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { GROUP, ISB_PLURAL, VERSION, type ImageStreamsBackup } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { Secrets } from '../../pkg/k8s/secrets.js';
import {
  VeleroBackupStorageLocations, VeleroBackups, type BackupStorageLocation, type VeleroBackup,
} from '../../pkg/k8s/velero.js';
import type { ControllerContext, RunningController } from '../context.js';
import { ResilientInformer } from '../runtime/informer.js';
import { Runs } from '../runtime/runs.js';
import { WorkQueue, keyOf } from '../runtime/workQueue.js';
import { IsbReconciler, type BackupRunResult } from './reconcile.js';
import { checkLocationWithStore, runBackupWithStore, type BackupRunner, type LocationChecker } from './runBackup.js';

export const CONTROLLER = 'imagestreamsbackup';

export type { ControllerContext, RunningController } from '../context.js';

export interface BackupControllerContext extends ControllerContext {
  /** Replaceable data path (tests); defaults to pkg/store + pkg/backup. */
  runBackup?: BackupRunner;
  checkLocation?: LocationChecker;
}

const TERMINAL = new Set(['Completed', 'PartiallyFailed', 'Failed']);

export async function startImageStreamsBackupController(ctx: BackupControllerContext): Promise<RunningController> {
  const { kubeConfig: kc, config, metrics } = ctx;
  const log = ctx.log.child({ controller: CONTROLLER });
  const isbs = new CustomResources<ImageStreamsBackup>(kc, { group: GROUP, version: VERSION, plural: ISB_PLURAL });
  const veleroBackups = new CustomResources<VeleroBackup>(kc, VeleroBackups);
  const bsls = new CustomResources<BackupStorageLocation>(kc, VeleroBackupStorageLocations);
  const secrets = new Secrets(kc);

  // The queue and the runs refer to each other: a run's start and end enqueue its key.
  let queue: WorkQueue | undefined;
  const runs = new Runs<BackupRunResult>({ concurrency: config.maxConcurrentRuns, onChange: (key) => queue?.add(key) });
  const reconciler = new IsbReconciler({
    isbs,
    veleroBackups,
    locations: {
      getLocation: (ns, name) => bsls.get(ns, name),
      listLocations: async (ns) => (await bsls.list(ns)).items,
      readSecretKey: (ns, name, key) => secrets.readKey(ns, name, key),
    },
    runs,
    record: (obj, type, reason, message) => {
      log.info('event', { object: keyOf(obj), type, reason, message });
      void ctx.recorder.record(obj, type, reason, message);
    },
    runBackup: ctx.runBackup ?? runBackupWithStore,
    checkLocation: ctx.checkLocation ?? checkLocationWithStore,
    registry: ctx.registry,
    internalRegistry: config.internalRegistry,
    progressIntervalMs: config.progressIntervalMs,
    ...((config.imageConcurrency !== undefined || config.blobConcurrency !== undefined) && {
      concurrency: {
        ...(config.imageConcurrency !== undefined && { images: config.imageConcurrency }),
        ...(config.blobConcurrency !== undefined && { blobs: config.blobConcurrency }),
      },
    }),
    watchedNamespaces: new Set(config.watchNamespaces),
    metrics,
    log,
  });
  queue = new WorkQueue({
    name: CONTROLLER,
    concurrency: config.maxConcurrentReconciles,
    reconcile: (key) => reconciler.reconcile(key),
    log,
    onResult: (_key, outcome) => {
      metrics.reconciles.inc({ controller: CONTROLLER, result: outcome });
      if (outcome === 'error') metrics.errors.inc({ controller: CONTROLLER });
    },
  });
  const q = queue;

  const informer = <T extends KubernetesObject>(name: string, res: CustomResources<T>, ns: string) =>
    new ResilientInformer<T>({
      name: `${name}/${ns}`, path: res.path(ns), kubeConfig: kc, log, relistIntervalMs: config.relistIntervalMs,
      list: async () => (await res.list(ns)) as KubernetesListObject<T>,
    });

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

  // A BSL appearing or changing may unblock the ISBs of its namespace that wait for a location.
  const bslInformers = config.watchNamespaces.map((ns) => informer('backupstoragelocations', bsls, ns));
  for (const inf of bslInformers) {
    inf.on((_event, bsl) => {
      for (const isb of allIsbs()) {
        if (isb.metadata?.namespace === bsl.metadata?.namespace && !TERMINAL.has(isb.status?.phase ?? '')) q.add(keyOf(isb));
      }
    });
  }

  const all = [...isbInformers, ...veleroInformers, ...bslInformers];
  // The dependents first, so that an ISB reconciled right after its informer lists sees them cached.
  await Promise.all([...veleroInformers, ...bslInformers].map((i) => i.start()));
  await Promise.all(isbInformers.map((i) => i.start()));
  log.info('controller started', { namespaces: config.watchNamespaces });

  return {
    name: CONTROLLER,
    synced: () => all.every((i) => i.synced),
    stop: async () => {
      await Promise.all(all.map((i) => i.stop()));
      await q.shutdown();
      await runs.shutdown();
    },
  };
}
