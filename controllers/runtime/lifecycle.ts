// The life of a backup or a restore, one for both kinds: dispatch (what the object needs now),
// the start of a run (status first, so that a restarted controller resumes), the end of a run
// (finished, retried after a backoff, or failed), cancellation and deadlines. Each kind
// supplies its steps (prepare), the status of a finished run, and its pure status functions.
//
// Runs that fail for a reason that may pass are not final: the object stays InProgress, its
// status says what it waits for and when the next run starts (status.nextAttemptTime,
// status.attempts), and the next run starts only then: a reconcile in between (a restart, an
// event) waits out the rest. Past the run's deadline (RUN_DEADLINE_SECONDS, counted from
// status.startTimestamp) the last error is final. A run that starts so late that a failure
// could not be retried before the deadline is the last attempt: the kind then treats the
// failures that may pass as final and keeps what it could do (finalAttempt).
import type { KubernetesObject } from '@kubernetes/client-node';
import { CANCEL_ANNOTATION } from '../../pkg/api/constants.js';
import { classify, errorMessage, isLocationError, ReconcileError, WaitingError } from '../../pkg/errors.js';
import type { RunRetry } from '../config.js';
import { TERMINAL_PHASES } from '../conditions.js';
import { rfc3339 } from './conditions.js';
import type { EventType } from './events.js';
import type { Logger } from './logger.js';
import { addFinalizer, hasFinalizer, removeFinalizer, type MetadataPatcher } from './finalizers.js';
import type { Run, Runs } from './runs.js';
import { writeStatus, type StatusClient } from './status.js';
import type { ReconcileResult } from './workQueue.js';
import { splitKey } from './workQueue.js';

export { CANCEL_ANNOTATION };

export interface LifecycleStatus {
  phase?: string;
  message?: string;
  conditions?: unknown[];
  observedGeneration?: number;
  startTimestamp?: string;
  attempts?: number;
  nextAttemptTime?: string;
}

export type LifecycleObject = KubernetesObject & { status?: LifecycleStatus };

export interface Event {
  type: EventType;
  reason: string;
  message: string;
  /** Recorded only when the phase or the Ready reason changes with this status (not at every reconcile). */
  once?: boolean;
}

/** Where a run of a generation stands when it is started. */
export interface RunContext {
  signal: AbortSignal;
  /** No time is left for another try after this one: failures that may pass are final. */
  finalAttempt: boolean;
}

export type Preparation<S, R> =
  /** Nothing to do for the object as it is (its work for this spec is over). */
  | { action: 'done' }
  /** A status to show (waiting for something, or finished without a run), maybe a requeue. */
  | { action: 'write'; status: S; events?: Event[]; requeueAfterMs?: number }
  /** Start a run: `status` is written first, the run then copies beside the work queue. */
  | { action: 'start'; status: S; events?: Event[]; generation: number; run: (ctx: RunContext) => Promise<R> };

export interface FailureInput {
  reason: string;
  message: string;
  /** The error that ended the run, when there is one (a kind may show per-image failures it carries). */
  error?: unknown;
}

export interface RetryInput {
  reason: string;
  message: string;
  attempts: number;
  next: Date;
  error: unknown;
}

/** What a kind's finalizer decides for an object being deleted, once no run of it is left. */
export type Finalization<S> =
  /** The object may go: its finalizer is removed. */
  | { action: 'release'; events?: Event[] }
  /** Not yet (the location cannot be reached): the status says why, and it is tried again. */
  | { action: 'wait'; status: S; events?: Event[]; requeueAfterMs: number };

export interface Finalizer<O, S> {
  name: string;
  finalize(key: string, obj: O, now: Date): Promise<Finalization<S>>;
}

/** What a kind brings to the shared life cycle. */
export interface Kind<O extends LifecycleObject, S, R> {
  /** `ImageStreamsBackup` or `ImageStreamsRestore`, for messages. */
  name: string;
  events: { retrying: string; failed: string; cancelled: string };
  prepare(key: string, obj: O, now: Date): Promise<Preparation<S, R>>;
  /** The status of a run that returned; 'again' when the object must be prepared again instead (its spec changed meanwhile). */
  finished(obj: O, run: { generation: number; result: R }, now: Date): { status: S; events?: Event[] } | 'again';
  /** A run (of `generation`) is queued or copying. */
  observed(obj: O, generation: number, queued: boolean, now: Date): S;
  retrying(obj: O, r: RetryInput, now: Date): S;
  failed(obj: O, f: FailureInput, now: Date): S;
  /** Put on every object; its work runs when the object is deleted, after its run has stopped. */
  finalizer?: Finalizer<O, S>;
}

export interface LifecycleDeps<O extends LifecycleObject> {
  client: StatusClient & MetadataPatcher<O> & { get(namespace: string, name: string): Promise<O | undefined> };
  runs: Runs<unknown>;
  record: (obj: O, type: EventType, reason: string, message: string) => void;
  retry: RunRetry;
  /** A run that failed because the location refused it (credentials, bucket) is tried again on this period. */
  locationRetryMs: number;
  log: Logger;
  now?: () => Date;
  random?: () => number;
}

export class Lifecycle<O extends LifecycleObject, S extends LifecycleStatus, R> {
  constructor(private readonly kind: Kind<O, S, R>, private readonly deps: LifecycleDeps<O>) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private get runs(): Runs<R> {
    return this.deps.runs as Runs<R>;
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    let obj = await this.deps.client.get(namespace, name);
    const finalizer = this.kind.finalizer;
    if (obj && finalizer && obj.metadata?.deletionTimestamp && hasFinalizer(obj, finalizer.name)) return this.finalize(key, obj, finalizer);
    const { gone, run } = this.runs.current(key, obj, this.kind.name);
    if (gone || !obj) return;
    if (finalizer && !hasFinalizer(obj, finalizer.name)) obj = await addFinalizer(this.deps.client, obj, finalizer.name);
    const cancel = obj.metadata?.annotations?.[CANCEL_ANNOTATION];
    if (cancel !== undefined && !TERMINAL_PHASES.has(obj.status?.phase ?? '')) return this.cancel(key, obj, cancel);
    if (run && run.state !== 'finished') {
      await this.write(obj, this.kind.observed(obj, run.generation, run.state === 'queued', this.now()));
      return;
    }
    if (run) {
      this.runs.take(key);
      return this.finish(key, obj, run);
    }
    return this.plan(key, obj);
  }

  /** A deleted object: its run is stopped (and has ended) before the kind deletes its data. */
  private async finalize(key: string, obj: O, finalizer: Finalizer<O, S>): Promise<ReconcileResult | void> {
    await this.runs.stop(key, `the ${this.kind.name} is being deleted`);
    const end = await finalizer.finalize(key, obj, this.now());
    if (end.action === 'wait') {
      await this.write(obj, end.status, end.events);
      return { requeueAfterMs: end.requeueAfterMs };
    }
    for (const e of end.events ?? []) this.deps.record(obj, e.type, e.reason, e.message);
    await removeFinalizer(this.deps.client, obj, finalizer.name);
  }

  private async plan(key: string, obj: O): Promise<ReconcileResult | void> {
    const status = obj.status;
    const generation = obj.metadata?.generation ?? 0;
    // Waiting out the backoff of a run that failed for a reason that may pass.
    if (status?.nextAttemptTime && status.observedGeneration === generation && !TERMINAL_PHASES.has(status.phase ?? '')) {
      const wait = new Date(status.nextAttemptTime).getTime() - this.now().getTime();
      if (wait > 0) return { requeueAfterMs: wait };
    }
    const prep = await this.kind.prepare(key, obj, this.now());
    if (prep.action === 'done') return;
    if (prep.action === 'write') {
      await this.write(obj, prep.status, prep.events);
      return prep.requeueAfterMs !== undefined ? { requeueAfterMs: prep.requeueAfterMs } : undefined;
    }
    // Status first: if the controller dies right after, the next one sees InProgress and resumes.
    const written = await this.write(obj, prep.status, prep.events);
    const finalAttempt = this.finalAttempt(written, (written.attempts ?? 0) + 1);
    const work = prep.run;
    this.runs.start(key, obj.metadata?.uid ?? '', prep.generation, (signal) => work({ signal, finalAttempt }));
  }

  private async finish(key: string, obj: O, run: Run<R>): Promise<ReconcileResult | void> {
    const now = this.now();
    if (run.result?.ok) {
      const end = this.kind.finished(obj, { generation: run.generation, result: run.result.value }, now);
      if (end === 'again') return this.plan(key, obj);
      await this.write(obj, end.status, end.events);
      return;
    }
    const err = run.result?.error;
    // The spec changed while the run failed: the new spec gets a fresh start.
    if ((obj.metadata?.generation ?? 0) !== run.generation) return this.plan(key, obj);
    const what = classify(err);
    const location = isLocationError(err);
    if (what !== 'transient' && !location) return this.fail(obj, err);

    const attempts = (obj.status?.attempts ?? 0) + 1;
    const delay = location && what !== 'transient' ? this.deps.locationRetryMs : this.backoff(attempts, err);
    const deadline = this.deadline(obj.status);
    if (deadline !== undefined && now.getTime() + delay > deadline.getTime()) {
      const limit = `${Math.round(this.deps.retry.deadlineMs / 1000)}s (RUN_DEADLINE_SECONDS)`;
      return this.fail(obj, err, `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${limit}: ${errorMessage(err)}`);
    }
    const next = new Date(now.getTime() + delay);
    const reason = err instanceof ReconcileError ? err.reason : 'RunError';
    const message = `${errorMessage(err)}; attempt ${attempts} failed, the next starts at ${rfc3339(next)}`;
    this.deps.log.warn('run failed; retrying after a backoff', { object: key, reason, attempts, delayMs: delay, error: errorMessage(err) });
    await this.write(obj, this.kind.retrying(obj, { reason, message, attempts, next, error: err }, now), [
      // The message does not change with the attempt, so Kubernetes counts the repeats in one event.
      { type: 'Warning', reason: this.kind.events.retrying, message: `${errorMessage(err)}; retrying with backoff`, once: true },
    ]);
    return { requeueAfterMs: delay };
  }

  private async fail(obj: O, err: unknown, message = errorMessage(err)): Promise<void> {
    const reason = err instanceof ReconcileError ? err.reason : 'RunError';
    await this.write(obj, this.kind.failed(obj, { reason, message, error: err }, this.now()), [
      { type: 'Warning', reason: this.kind.events.failed, message, once: true },
    ]);
  }

  private async cancel(key: string, obj: O, why: string): Promise<void> {
    this.runs.abort(key, `the ${this.kind.name} was cancelled`);
    const message = `cancelled${why ? `: ${why}` : ''}`;
    await this.write(obj, this.kind.failed(obj, { reason: 'Cancelled', message }, this.now()), [
      { type: 'Warning', reason: this.kind.events.cancelled, message, once: true },
    ]);
  }

  /** Writes the status (when it differs) and the events; returns the status as written. */
  private async write(obj: O, status: S, events: Event[] = []): Promise<S> {
    const committed = await writeStatus(this.deps.client, obj, status);
    const ready = (status.conditions as Array<{ type: string; reason: string }> | undefined)?.find((c) => c.type === 'Ready')?.reason;
    const changed = committed.previousPhase !== status.phase || committed.previousReason !== ready;
    for (const e of events) if (!e.once || changed) this.deps.record(obj, e.type, e.reason, e.message);
    return status;
  }

  /** Exponential, from the base to the ceiling, with jitter; never less than a server's Retry-After or a WaitingError's period. */
  backoff(attempts: number, err?: unknown): number {
    const { baseMs, maxMs } = this.deps.retry;
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
    const jittered = Math.round(ceiling * (0.8 + (this.deps.random ?? Math.random)() * 0.2));
    const asked = err instanceof WaitingError ? err.retryAfterMs : (err as { retryAfterMs?: number } | undefined)?.retryAfterMs;
    return Math.max(jittered, Math.min(asked ?? 0, maxMs));
  }

  private deadline(status: LifecycleStatus | undefined): Date | undefined {
    if (!status?.startTimestamp) return undefined;
    return new Date(new Date(status.startTimestamp).getTime() + this.deps.retry.deadlineMs);
  }

  /** Would a failure of the run about to start leave no time for another try before the deadline? */
  private finalAttempt(status: LifecycleStatus, attempts: number): boolean {
    const deadline = this.deadline(status);
    return deadline !== undefined && this.now().getTime() + this.backoff(attempts) >= deadline.getTime();
  }
}
