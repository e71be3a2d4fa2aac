// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does: a
// standby takes the Lease once its holder has not renewed it for leaseDuration, judged by this
// process's own clock from when it last saw the record change (so clocks need not agree); the
// leader renews every retryPeriod and gives up leading when it could not renew for
// renewDeadline, which is shorter than leaseDuration, so it stops before anyone else may start.
// On a clean stop the leader releases the Lease, so a standby takes over at once.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { apiErrorMessage, isConflict, isNotFound } from '../../pkg/k8s/errors.js';
import type { LeaderElection } from '../config.js';
import { silentLogger, type Logger } from './logger.js';

export interface LeaseClient {
  read(namespace: string, name: string): Promise<V1Lease>;
  create(namespace: string, lease: V1Lease): Promise<V1Lease>;
  replace(namespace: string, name: string, lease: V1Lease): Promise<V1Lease>;
}

export interface LeaderCallbacks {
  /** This process leads from now on. */
  started(): void;
  /** It led and no longer does (could not renew): everything it does as leader must stop at once. */
  stopped(): void;
}

export function newIdentity(): string {
  return `${hostname()}_${randomBytes(6).toString('hex')}`;
}

export class LeaderElector {
  /** The Lease record as last seen, and when (by this process's clock). */
  private observed?: { record: string; at: number };
  private holder?: string;
  private leading = false;
  private readonly stopController = new AbortController();
  private loop?: Promise<void>;

  constructor(
    private readonly client: LeaseClient,
    private readonly cfg: Pick<LeaderElection, 'namespace' | 'name' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>,
    readonly identity: string = newIdentity(),
    private readonly log: Logger = silentLogger,
    private readonly now: () => number = Date.now,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns until it leads, then renews until it loses the Lease or stop() is called. */
  start(cb: LeaderCallbacks): void {
    this.loop ??= this.campaign(cb);
  }

  /** Stops campaigning or renewing; a leader releases the Lease. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
    if (this.leading) {
      this.leading = false;
      await this.release();
    }
  }

  private async campaign(cb: LeaderCallbacks): Promise<void> {
    const signal = this.stopController.signal;
    const { retryPeriodMs, renewDeadlineMs } = this.cfg;
    this.log.info('waiting for the leader lease', { lease: `${this.cfg.namespace}/${this.cfg.name}`, identity: this.identity });
    while (!signal.aborted) {
      // Acquire: try every retryPeriod (with jitter, so standbys do not try in step).
      while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
        await pause(retryPeriodMs * (1 + Math.random() * 0.2), signal);
      }
      if (signal.aborted) return;
      this.leading = true;
      this.log.info('became leader', { lease: `${this.cfg.namespace}/${this.cfg.name}`, identity: this.identity });
      cb.started();
      // Renew: a renewal that has not succeeded within renewDeadline ends the leadership.
      let lastRenew = this.now();
      while (!signal.aborted) {
        await pause(retryPeriodMs, signal);
        if (signal.aborted) return;
        if (await this.tryAcquireOrRenew()) {
          lastRenew = this.now();
          continue;
        }
        if (this.now() - lastRenew >= renewDeadlineMs || this.holder !== this.identity) break;
      }
      this.leading = false;
      this.log.warn('lost the leader lease: stopping all work', { lease: `${this.cfg.namespace}/${this.cfg.name}` });
      cb.stopped();
      return;
    }
  }

  /** One attempt; false when someone else holds a live Lease or the API did not answer. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, leaseDurationMs } = this.cfg;
    const now = this.now();
    const spec = (acquired: Date, transitions: number) => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: new V1MicroTime(acquired.getTime()),
      renewTime: new V1MicroTime(now),
      leaseTransitions: transitions,
    });
    let current: V1Lease;
    try {
      current = await this.client.read(namespace, name);
    } catch (err) {
      if (!isNotFound(err)) {
        this.log.warn('cannot read the leader lease', { error: apiErrorMessage(err) });
        return false;
      }
      try {
        await this.client.create(namespace, { metadata: { name, namespace }, spec: spec(new Date(now), 0) });
        this.observe(`${this.identity}@created`, this.identity);
        return true;
      } catch (createErr) {
        if (!isConflict(createErr)) this.log.warn('cannot create the leader lease', { error: apiErrorMessage(createErr) });
        return false;
      }
    }
    const s = current.spec ?? {};
    const record = `${s.holderIdentity ?? ''}|${s.renewTime ? new Date(s.renewTime).getTime() : ''}|${current.metadata?.resourceVersion ?? ''}`;
    if (this.observed?.record !== record) this.observe(record, s.holderIdentity);
    const held = s.holderIdentity !== undefined && s.holderIdentity !== '';
    const duration = (s.leaseDurationSeconds ?? Math.ceil(leaseDurationMs / 1000)) * 1000;
    const mine = s.holderIdentity === this.identity;
    if (held && !mine && this.observed!.at + duration > now) return false;
    const transitions = (s.leaseTransitions ?? 0) + (mine ? 0 : 1);
    const acquired = mine && s.acquireTime ? new Date(s.acquireTime) : new Date(now);
    try {
      const updated = await this.client.replace(namespace, name, { ...current, spec: { ...s, ...spec(acquired, transitions) } });
      this.observe(`${this.identity}|${now}|${updated.metadata?.resourceVersion ?? ''}`, this.identity);
      return true;
    } catch (err) {
      // A conflict means someone else wrote the Lease first: they lead (or renewed) now.
      if (!isConflict(err)) this.log.warn('cannot update the leader lease', { error: apiErrorMessage(err) });
      return false;
    }
  }

  private observe(record: string, holder: string | undefined): void {
    this.observed = { record, at: this.now() };
    this.holder = holder;
  }

  /** Gives the Lease up (holder cleared, duration 1 s), as client-go's ReleaseOnCancel does. */
  private async release(): Promise<void> {
    const { namespace, name } = this.cfg;
    try {
      const current = await this.client.read(namespace, name);
      if (current.spec?.holderIdentity !== this.identity) return;
      await this.client.replace(namespace, name, {
        ...current,
        spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.now()) },
      });
      this.log.info('released the leader lease', { lease: `${namespace}/${name}` });
    } catch (err) {
      this.log.warn('could not release the leader lease; a standby takes it once it expires', { error: apiErrorMessage(err) });
    }
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // stopped
  }
}
