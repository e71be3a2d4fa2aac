// Wires the ImageStreamsRestore steps to the cluster, as the backup controller does: an
// informer on ISRs and one on BackupStorageLocations in each watched namespace, a work queue
// keyed by namespace/name, and the shared life cycle that runs the pushes. A BSL appearing or
// changing enqueues the restores of its namespace that still wait for their backup, so a
// restore created before its location starts as soon as the location is there.
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsRestore } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { Secrets } from '../../pkg/k8s/secrets.js';
import { VeleroBackupStorageLocations, type BackupStorageLocation } from '../../pkg/k8s/velero.js';
import { TERMINAL_PHASES } from '../conditions.js';
import type { ControllerContext, RunningController } from '../context.js';
import { STALLED_LOCATION_RETRY_MS } from '../imagestreamsbackup/reconcile.js';
import { Lifecycle } from '../runtime/lifecycle.js';
import { Runs } from '../runtime/runs.js';
import { keyOf, type WorkQueue } from '../runtime/workQueue.js';
import {
  dataPathConcurrency, eventRecorder, isAdminNamespace, locationsFrom, reconcileQueue, requeueOnLocationChange,
  runsMetrics, startWatching, workChanged,
} from '../wiring.js';
import { restoreKind, type RestoreRunResult } from './reconcile.js';
import { findBundleWithStore, runRestoreWithStore } from './runRestore.js';
import { runVerifyWithStore } from './runVerify.js';

export const CONTROLLER = 'imagestreamsrestore';

export async function startImageStreamsRestoreController(ctx: ControllerContext): Promise<RunningController> {
  const { kubeConfig: kc, config, metrics } = ctx;
  const log = ctx.log.child({ controller: CONTROLLER });
  const waitMs = config.restoreBundleWaitSeconds * 1000;
  const isrs = new CustomResources<ImageStreamsRestore>(kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
  const bsls = new CustomResources<BackupStorageLocation>(kc, VeleroBackupStorageLocations);

  const informer = ctx.informers.of.bind(ctx.informers);
  // BSLs by namespace: watched for requeues, and read from this cache by the location lookup.
  const bslInformers = new Map(config.watchNamespaces.map((ns) => [ns, informer('backupstoragelocations', bsls, ns)] as const));

  // The queue and the runs refer to each other: a run's start and end enqueue its key.
  let queue: WorkQueue | undefined;
  const runs = new Runs<RestoreRunResult>({
    concurrency: config.maxConcurrentRuns, onChange: (key) => queue?.add(key), ...runsMetrics(CONTROLLER, metrics),
  });
  const lifecycle = new Lifecycle(restoreKind({
    isrs,
    locations: locationsFrom(bslInformers, bsls, new Secrets(kc)),
    findBundle: findBundleWithStore,
    runRestore: runRestoreWithStore,
    runVerify: runVerifyWithStore,
    registry: ctx.registry,
    transport: config.transport,
    progressIntervalMs: config.progressIntervalMs,
    bundleWaitMs: waitMs,
    ...dataPathConcurrency(config),
    trusted: (ns) => isAdminNamespace(config, ns),
    metrics,
    log,
  }), {
    client: isrs, runs: runs as Runs<unknown>, record: eventRecorder(ctx, log), retry: config.runRetry, locationRetryMs: STALLED_LOCATION_RETRY_MS, log,
  });
  queue = reconcileQueue(CONTROLLER, ctx, log, (key) => lifecycle.reconcile(key));
  const q = queue;

  const isrInformers = config.watchNamespaces.map((ns) => informer('imagestreamsrestores', isrs, ns));
  const allIsrs = () => isrInformers.flatMap((i) => i.list());
  metrics.observePhases('ImageStreamsRestore', allIsrs);
  const changed = workChanged();
  for (const inf of isrInformers) inf.on((event, obj) => { if (changed(event, obj)) q.add(keyOf(obj)); });

  requeueOnLocationChange([...bslInformers.values()], allIsrs, TERMINAL_PHASES, q);

  const running = await startWatching(CONTROLLER, [...bslInformers.values()], isrInformers, q, runs);
  log.info('controller started', { namespaces: config.watchNamespaces, bundleWaitSeconds: waitMs / 1000 });
  return running;
}
