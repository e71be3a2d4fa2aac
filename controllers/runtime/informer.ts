// An informer that keeps going. client-node's ListWatch stops for good after a list or watch
// error (it only calls its error callbacks), and a watch on a half-open connection can stay
// silent for ever. This wrapper replaces the ListWatch with a fresh one (a full relist) after an
// error, with backoff, and on a timer. A relist reports every object again (a resync), and
// objects that vanished while nobody watched are reported deleted, diffed against the old cache.
import {
  makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache,
} from '@kubernetes/client-node';
import { apiErrorMessage } from '../../pkg/k8s/errors.js';
import { ExponentialBackoff } from './backoff.js';
import { silentLogger, type Logger } from './logger.js';

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (event: InformerEvent, obj: T) => void;
export type ListFn<T extends KubernetesObject> = () => Promise<KubernetesListObject<T>>;
export type InformerFactory<T extends KubernetesObject> = (path: string, list: ListFn<T>) => Informer<T> & ObjectCache<T>;

export interface ResilientInformerOptions<T extends KubernetesObject> {
  name: string;
  /** The watch path, e.g. /apis/velero.io/v1/namespaces/ns/backups. */
  path: string;
  list: ListFn<T>;
  kubeConfig?: KubeConfig;
  /** Defaults to client-node's makeInformer; tests pass a ListWatch over a fake Watch. */
  factory?: InformerFactory<T>;
  relistIntervalMs?: number;
  /** A list (and the watch's start) that takes longer fails and is tried again: it must never wedge the informer. */
  startTimeoutMs?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  log?: Logger;
}

export class ResilientInformer<T extends KubernetesObject> {
  private current?: Informer<T> & ObjectCache<T>;
  /** Silences the current informer's callbacks once it is replaced or stopped. */
  private retireCurrent?: () => void;
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly backoff: ExponentialBackoff;
  private readonly factory: InformerFactory<T>;
  private readonly log: Logger;
  private relistTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private replacing = false;
  private stopped = true;
  private starting?: Promise<void>;
  private syncWaiters: Array<() => void> = [];
  /** True once a list has succeeded; stays true through later relists (the old cache serves meanwhile). */
  synced = false;
  /** Completed replacements (initial list included), for tests and metrics. */
  relists = 0;

  constructor(private readonly opts: ResilientInformerOptions<T>) {
    this.backoff = new ExponentialBackoff({ baseMs: opts.backoff?.baseMs ?? 1_000, maxMs: opts.backoff?.maxMs ?? 60_000 });
    this.log = (opts.log ?? silentLogger).child({ informer: opts.name });
    if (opts.factory) this.factory = opts.factory;
    else if (opts.kubeConfig) {
      const kc = opts.kubeConfig;
      this.factory = (path, list) => makeInformer<T>(kc, path, list);
    } else throw new Error(`informer ${opts.name}: needs a kubeConfig or a factory`);
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  /**
   * Starts listing and watching; resolves after the first attempt, whatever its outcome (retries go on).
   * Shared by several controllers: a second start is the first one.
   */
  start(): Promise<void> {
    this.starting ??= this.startNow();
    return this.starting;
  }

  private async startNow(): Promise<void> {
    this.stopped = false;
    const interval = this.opts.relistIntervalMs ?? 5 * 60_000;
    this.relistTimer = setInterval(() => void this.replace('relist'), interval);
    this.relistTimer.unref();
    await this.replace('start');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.starting = undefined;
    clearInterval(this.relistTimer);
    clearTimeout(this.retryTimer);
    const cur = this.current;
    this.retireCurrent?.();
    this.current = undefined;
    await cur?.stop();
  }

  async waitForSync(): Promise<void> {
    if (this.synced) return;
    await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
  }

  get(name: string, namespace?: string): T | undefined {
    return this.current?.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.current?.list(namespace) ?? [];
  }

  private emit(event: InformerEvent, obj: T): void {
    for (const h of this.handlers) {
      try {
        h(event, obj);
      } catch (err) {
        this.log.error('informer handler threw', { event, error: err });
      }
    }
  }

  private async replace(why: 'start' | 'relist' | 'error'): Promise<void> {
    if (this.stopped || this.replacing) return;
    this.replacing = true;
    try {
      await this.replaceNow(why);
    } finally {
      this.replacing = false;
    }
  }

  private async replaceNow(why: 'start' | 'relist' | 'error'): Promise<void> {
    clearTimeout(this.retryTimer);
    const next = this.factory(this.opts.path, this.opts.list);
    // Only the live informer may trigger a restart; a retired one reports its own abort as an error.
    let live = true;
    let failure: unknown;
    // During a relist the new cache starts empty: what the old cache knew is an update, not an add.
    next.on('add', (o) => live && this.emit(this.knownBefore(next, o) ? 'update' : 'add', o));
    next.on('update', (o) => live && this.emit('update', o));
    next.on('delete', (o) => live && this.emit('delete', o));
    next.on('error', (err) => {
      if (!live) return;
      if (this.current !== next) {
        failure = err ?? new Error('informer stopped');
        return;
      }
      live = false;
      this.log.warn('watch failed; relisting', { error: apiErrorMessage(err) });
      this.scheduleRetry();
    });
    let deadline: NodeJS.Timeout | undefined;
    try {
      const ms = this.opts.startTimeoutMs ?? 60_000;
      await Promise.race([
        next.start(),
        new Promise<never>((_, reject) => {
          deadline = setTimeout(() => reject(new Error(`list and watch did not start within ${ms} ms`)), ms);
          deadline.unref();
        }),
      ]);
    } catch (err) {
      failure = err;
    } finally {
      clearTimeout(deadline);
    }
    if (this.stopped) {
      live = false;
      await next.stop();
      return;
    }
    if (failure !== undefined) {
      live = false;
      await next.stop();
      this.log.warn('list failed; retrying', { why, error: apiErrorMessage(failure) });
      this.scheduleRetry();
      return;
    }
    const previous = this.current;
    this.retireCurrent?.();
    this.current = next;
    this.retireCurrent = () => { live = false; };
    if (previous) {
      for (const old of previous.list()) {
        const m = old.metadata ?? {};
        if (!next.get(m.name ?? '', m.namespace)) this.emit('delete', old);
      }
      await previous.stop();
    }
    this.backoff.forget('list');
    this.relists++;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    this.log.debug('listed', { why, objects: next.list().length });
  }

  private knownBefore(next: Informer<T> & ObjectCache<T>, o: T): boolean {
    const prev = this.current;
    return prev !== undefined && prev !== next && prev.get(o.metadata?.name ?? '', o.metadata?.namespace) !== undefined;
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const delay = this.backoff.next('list');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.replace('error'), delay);
    this.retryTimer.unref();
  }
}
