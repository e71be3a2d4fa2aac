// Wires the ImageStreamsRestore reconcile to the cluster, as the backup controller does: an
// informer on ISRs and one on BackupStorageLocations in each watched namespace, a work queue
// keyed by namespace/name, and the runs that push the images. A BSL appearing or changing
// enqueues the restores of its namespace that still wait for their backup, so a restore created
// before its location starts as soon as the location is there.
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsRestore } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { Secrets } from '../../pkg/k8s/secrets.js';
import { VeleroBackupStorageLocations, type BackupStorageLocation } from '../../pkg/k8s/velero.js';
import type { ControllerContext, RunningController } from '../imagestreamsbackup/controller.js';
import { ResilientInformer } from '../runtime/informer.js';
import { Runs } from '../runtime/runs.js';
import { WorkQueue, keyOf } from '../runtime/workQueue.js';
import { IsrReconciler, type RestoreRunResult } from './reconcile.js';
import { findBundleWithStore, runRestoreWithStore, type BundleFinder, type RestoreRunner } from './runRestore.js';
import { TERMINAL_PHASES } from './status.js';

export const CONTROLLER = 'imagestreamsrestore';

export interface RestoreControllerContext extends ControllerContext {
  /** Replaceable data path (tests); defaults to pkg/store + pkg/restore. */
  runRestore?: RestoreRunner;
  findBundle?: BundleFinder;
}

export async function startImageStreamsRestoreController(ctx: RestoreControllerContext): Promise<RunningController> {
  const { kubeConfig: kc, config, metrics } = ctx;
  const log = ctx.log.child({ controller: CONTROLLER });
  const waitMs = config.restoreBundleWaitSeconds * 1000;
  const isrs = new CustomResources<ImageStreamsRestore>(kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
  const bsls = new CustomResources<BackupStorageLocation>(kc, VeleroBackupStorageLocations);
  const secrets = new Secrets(kc);

  // The queue and the runs refer to each other: a run's start and end enqueue its key.
  let queue: WorkQueue | undefined;
  const runs = new Runs<RestoreRunResult>({ concurrency: config.maxConcurrentRuns, onChange: (key) => queue?.add(key) });
  const reconciler = new IsrReconciler({
    isrs,
    locations: {
      getLocation: (ns, name) => bsls.get(ns, name),
      listLocations: async (ns) => (await bsls.list(ns)).items,
      readSecretKey: (ns, name, key) => secrets.readKey(ns, name, key),
    },
    runs,
    record: (obj, type, reason, message) => void ctx.recorder.record(obj, type, reason, message),
    findBundle: ctx.findBundle ?? findBundleWithStore,
    runRestore: ctx.runRestore ?? runRestoreWithStore,
    registry: ctx.registry,
    progressIntervalMs: config.progressIntervalMs,
    bundleWaitMs: waitMs,
    ...((config.imageConcurrency !== undefined || config.blobConcurrency !== undefined) && {
      concurrency: {
        ...(config.imageConcurrency !== undefined && { images: config.imageConcurrency }),
        ...(config.blobConcurrency !== undefined && { blobs: config.blobConcurrency }),
      },
    }),
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

  const isrInformers = config.watchNamespaces.map((ns) => informer('imagestreamsrestores', isrs, ns));
  const allIsrs = () => isrInformers.flatMap((i) => i.list());
  for (const inf of isrInformers) inf.on((_event, obj) => q.add(keyOf(obj)));

  const bslInformers = config.watchNamespaces.map((ns) => informer('backupstoragelocations', bsls, ns));
  for (const inf of bslInformers) {
    inf.on((_event, bsl) => {
      for (const isr of allIsrs()) {
        if (isr.metadata?.namespace === bsl.metadata?.namespace && !TERMINAL_PHASES.has(isr.status?.phase ?? '')) q.add(keyOf(isr));
      }
    });
  }

  const all = [...isrInformers, ...bslInformers];
  // BSLs first, so that a restore reconciled right after its informer lists finds its location.
  await Promise.all(bslInformers.map((i) => i.start()));
  await Promise.all(isrInformers.map((i) => i.start()));
  log.info('controller started', { namespaces: config.watchNamespaces, bundleWaitSeconds: waitMs / 1000 });

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
