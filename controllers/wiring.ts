// The parts the controllers wire the same way: the reconcile queue with its metrics, the
// informers shared by kind and namespace, the location lookup over the API, events that are
// also logged, and the data path's concurrency from the settings.
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { CustomResources } from '../pkg/k8s/customResources.js';
import type { Secrets } from '../pkg/k8s/secrets.js';
import type { BackupStorageLocation } from '../pkg/k8s/velero.js';
import type { LocationDeps } from './backupLocation.js';
import type { Config } from './config.js';
import type { ControllerContext, RunningController } from './context.js';
import type { EventType } from './runtime/events.js';
import { ResilientInformer } from './runtime/informer.js';
import { CANCEL_ANNOTATION } from './runtime/lifecycle.js';
import type { Logger } from './runtime/logger.js';
import type { ControllerMetrics } from './runtime/metrics.js';
import { WorkQueue, keyOf, type ReconcileResult } from './runtime/workQueue.js';

/** One queue keyed by namespace/name, each outcome counted in /metrics. */
export function reconcileQueue(controller: string, ctx: ControllerContext, log: Logger, reconcile: (key: string) => Promise<ReconcileResult | void>): WorkQueue {
  const { metrics } = ctx;
  return new WorkQueue({
    name: controller,
    concurrency: ctx.config.maxConcurrentReconciles,
    reconcile,
    log,
    onResult: (_key, outcome, durationMs) => {
      metrics.reconciles.inc({ controller, result: outcome });
      metrics.reconcileSeconds.observe({ controller }, durationMs / 1000);
      if (outcome === 'error') metrics.errors.inc({ controller });
    },
    onQueue: ({ added, retry, depth }) => {
      metrics.queueDepth.set({ name: controller }, depth);
      if (added) metrics.queueAdds.inc({ name: controller });
      if (retry) metrics.queueRetries.inc({ name: controller });
    },
  });
}

export type InformerFactory = <T extends KubernetesObject>(kind: string, resources: CustomResources<T>, namespace: string) => ResilientInformer<T>;

export function informerFactory(kubeConfig: KubeConfig, config: Pick<Config, 'relistIntervalMs' | 'apiTimeoutMs'>, log: Logger): InformerFactory {
  return <T extends KubernetesObject>(kind: string, resources: CustomResources<T>, namespace: string) => new ResilientInformer<T>({
    name: `${kind}/${namespace}`, path: resources.path(namespace), kubeConfig, log,
    relistIntervalMs: config.relistIntervalMs,
    startTimeoutMs: config.apiTimeoutMs * 2,
    list: async () => (await resources.list(namespace)) as KubernetesListObject<T>,
  });
}

/**
 * One informer per kind and namespace for the whole process, whichever controllers read it: one
 * list and one watch on the API server, one cache. Each controller adds its own handlers and
 * starts it (a second start is the first); it is stopped with the process.
 */
export class SharedInformers {
  private readonly byPath = new Map<string, ResilientInformer<KubernetesObject>>();

  constructor(private readonly make: InformerFactory) {}

  of<T extends KubernetesObject>(kind: string, resources: CustomResources<T>, namespace: string): ResilientInformer<T> {
    const path = resources.path(namespace);
    let informer = this.byPath.get(path);
    if (!informer) {
      informer = this.make(kind, resources, namespace) as unknown as ResilientInformer<KubernetesObject>;
      this.byPath.set(path, informer);
    }
    // The path names the kind, and one kind has one type.
    return informer as unknown as ResilientInformer<T>;
  }
}

/**
 * The location lookup: BSLs from the informers' caches (an object's BSL is in its own, watched,
 * namespace; the API answers for any other), credential Secrets from the API server (Secrets are not
 * watched: the controller reads only the ones named).
 */
export function locationsFrom(
  bslInformers: ReadonlyMap<string, ResilientInformer<BackupStorageLocation>>, bsls: CustomResources<BackupStorageLocation>, secrets: Secrets,
): LocationDeps {
  return {
    getLocation: async (ns, name) => {
      const cached = bslInformers.get(ns);
      return cached ? cached.get(name, ns) : bsls.get(ns, name);
    },
    listLocations: async (ns) => {
      const cached = bslInformers.get(ns);
      return cached ? [...cached.list(ns)] : (await bsls.list(ns)).items;
    },
    readSecretKey: (ns, name, key) => secrets.readKey(ns, name, key),
  };
}

export type RecordEvent = (obj: KubernetesObject, type: EventType, reason: string, message: string) => void;

/** Events go to the API server and, so that `kubectl logs` tells the same story, to the log. */
export function eventRecorder(ctx: ControllerContext, log: Logger): RecordEvent {
  return (obj, type, reason, message) => {
    log.info('event', { object: keyOf(obj), type, reason, message });
    void ctx.recorder.record(obj, type, reason, message);
  };
}

export interface DataPathConcurrency {
  images?: number;
  blobs?: number;
  /** Backups only: bytes of part buffers all multipart uploads may hold. */
  bufferBytes?: number;
}

/** `{ concurrency }` when the settings name any, to spread into a reconciler's deps; else nothing (the data path's defaults). */
export function dataPathConcurrency(config: Config): { concurrency?: DataPathConcurrency } {
  if (config.imageConcurrency === undefined && config.blobConcurrency === undefined && config.uploadBufferMiB === undefined) return {};
  return {
    concurrency: {
      ...(config.imageConcurrency !== undefined && { images: config.imageConcurrency }),
      ...(config.blobConcurrency !== undefined && { blobs: config.blobConcurrency }),
      ...(config.uploadBufferMiB !== undefined && { bufferBytes: config.uploadBufferMiB * 1024 * 1024 }),
    },
  };
}

/** A BSL appearing or changing may unblock the objects of its namespace that wait for a location: enqueue those not finished. */
export function requeueOnLocationChange<T extends KubernetesObject & { status?: { phase?: string } }>(
  bslInformers: Array<ResilientInformer<BackupStorageLocation>>, objects: () => T[], finished: ReadonlySet<string>, queue: WorkQueue,
): void {
  for (const inf of bslInformers) {
    inf.on((_event, bsl) => {
      for (const o of objects()) {
        if (o.metadata?.namespace === bsl.metadata?.namespace && !finished.has(o.status?.phase ?? '')) queue.add(keyOf(o));
      }
    });
  }
}

/** May objects of this namespace read and write any namespace (ADMIN_NAMESPACES, the controller's own)? */
export function isAdminNamespace(config: Pick<Config, 'adminNamespaces'>, namespace: string): boolean {
  return config.adminNamespaces.includes(namespace);
}

/** The runs-active and runs-queued gauges of one controller. */
export function runsMetrics(controller: string, metrics: ControllerMetrics): { onCounts: (running: number, queued: number) => void } {
  return {
    onCounts: (running, queued) => {
      metrics.runsActive.set({ controller }, running);
      metrics.runsQueued.set({ controller }, queued);
    },
  };
}

/**
 * An informer event that may change the work on an object: its first sight, a new spec
 * (generation), deletion, finalizers or the cancel annotation. A status write (ours, every
 * progress update) starts nothing, as controller-runtime's GenerationChangedPredicate.
 */
export function workChanged(): (event: 'add' | 'update' | 'delete', obj: KubernetesObject) => boolean {
  const seen = new Map<string, string>();
  return (event, obj) => {
    const key = keyOf(obj);
    if (event === 'delete') {
      seen.delete(key);
      return true;
    }
    const m = obj.metadata ?? {};
    const signature = JSON.stringify([m.uid, m.generation, m.deletionTimestamp ?? null, m.finalizers ?? [], m.annotations?.[CANCEL_ANNOTATION] ?? null]);
    if (seen.get(key) === signature) return false;
    seen.set(key, signature);
    return true;
  };
}

interface Watcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly synced: boolean;
}

/**
 * Starts the informers, `first` before `then`, so that an object reconciled right after its
 * own informer lists finds what it depends on cached; hands back the running controller.
 */
export async function startWatching(
  name: string, first: Watcher[], then: Watcher[],
  queue: WorkQueue, runs: { shutdown(): Promise<void> },
): Promise<RunningController> {
  await Promise.all(first.map((i) => i.start()));
  await Promise.all(then.map((i) => i.start()));
  const all = [...first, ...then];
  return {
    name,
    synced: () => all.every((i) => i.synced),
    stop: async () => {
      await Promise.all(all.map((i) => i.stop()));
      await queue.shutdown();
      await runs.shutdown();
    },
  };
}
