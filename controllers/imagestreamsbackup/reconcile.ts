// The ImageStreamsBackup reconcile: from the object as the API server has it now, decide the
// next step, take it, and write the status once. Steps: gates (resolveGates), location
// (resolveLocation + a check of the bucket), references (validateReferences), then the copy,
// which runs beside the work queue (Runs) and is committed by a later reconcile. Every step is
// idempotent: after a crash, the next reconcile starts the copy again and the data path skips
// the blobs that are already in the pool.
import type { ImageStreamsBackup, ImageStreamsBackupPhase } from '../../pkg/api/index.js';
import type { ImageFailure, Progress } from '../../pkg/contracts.js';
import { ReconcileError, StalledError, TransientError, WaitingError, errorMessage } from '../../pkg/errors.js';
import type { VeleroBackup } from '../../pkg/k8s/velero.js';
import { resolveLocation, type LocationDeps, type ResolvedLocation } from '../backupLocation.js';
import { ConditionTypes, EventReasons, Reasons, TERMINAL_PHASES } from '../conditions.js';
import type { RegistryFactory } from '../internalRegistry.js';
import { findCondition, type Condition, type ConditionInput } from '../runtime/conditions.js';
import type { EventType } from '../runtime/events.js';
import type { Logger } from '../runtime/logger.js';
import type { ControllerMetrics } from '../runtime/metrics.js';
import type { Run, Runs } from '../runtime/runs.js';
import { ThrottledWriter } from '../runtime/throttle.js';
import type { ReconcileResult } from '../runtime/workQueue.js';
import { splitKey } from '../runtime/workQueue.js';
import { LOCATION_REASONS } from '../../pkg/store/storeError.js';
import { ExponentialBackoff } from '../runtime/backoff.js';
import { commitStatus, nowTimestamp, type StatusChange, type StatusClient } from './commitStatus.js';
import { ensureDefaults, type BackupSpec, type VeleroBackupRef } from './ensureDefaults.js';
import { resolveGates, type VeleroObservation } from './resolveGates.js';
import type { BackupOutcome, BackupRunner, LocationChecker } from './runBackup.js';
import { formatBytes, plural } from '../runtime/format.js';
import { failuresOf, initialProgress, withInvalid } from './progress.js';
import { validateReferences } from './validateReferences.js';

/** What a run hands back to the reconcile that commits it (it never throws). */
export interface BackupRunResult {
  outcome?: BackupOutcome;
  error?: unknown;
  /** Images refused before the copy (bad references): part of the failures and counts. */
  invalid: ImageFailure[];
  location: string;
}

export interface IsbReconcilerDeps {
  isbs: StatusClient & { get(namespace: string, name: string): Promise<ImageStreamsBackup | undefined> };
  veleroBackups: { get(namespace: string, name: string): Promise<VeleroBackup | undefined> };
  locations: LocationDeps;
  runs: Runs<BackupRunResult>;
  record: (obj: ImageStreamsBackup, type: EventType, reason: string, message: string) => void;
  runBackup: BackupRunner;
  checkLocation: LocationChecker;
  registry: RegistryFactory;
  internalRegistry: string;
  progressIntervalMs: number;
  concurrency?: { images?: number; blobs?: number; bufferBytes?: number };
  /** Namespaces whose Velero Backups are watched; a reference elsewhere is polled. */
  watchedNamespaces: ReadonlySet<string>;
  metrics?: ControllerMetrics;
  log: Logger;
}

/** A Velero Backup in a namespace nobody watches is polled this often. */
export const VELERO_POLL_MS = 30_000;
/** A location refused for a lasting reason (no bucket, bad credentials) is tried again this often, and on each BSL change. */
export const STALLED_LOCATION_RETRY_MS = 60_000;

export class IsbReconciler {
  /** Failed attempts per key since its last success, for the backoff of runs that fail after they started. */
  private readonly retries = new ExponentialBackoff({ baseMs: 5_000, maxMs: 300_000 });

  constructor(private readonly deps: IsbReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const isb = await this.deps.isbs.get(namespace, name);
    // A deleting ISB starts nothing; the owner of its finalizer cleans up.
    const { gone, run } = this.deps.runs.current(key, isb, 'ImageStreamsBackup');
    if (gone || !isb) {
      this.retries.forget(key);
      return;
    }
    if (run && run.state !== 'finished') return this.observeRun(isb, run);
    if (run) {
      this.deps.runs.take(key);
      return this.finishRun(key, isb, run);
    }
    return this.plan(key, isb);
  }

  /** A run is queued or copying: say which (its progress is written by the run itself). */
  private async observeRun(isb: ImageStreamsBackup, run: Run<BackupRunResult>): Promise<void> {
    const queued = run.state === 'queued';
    await this.commit(isb, {
      phase: 'InProgress',
      observedGeneration: run.generation,
      ready: queued
        ? { status: 'False', reason: Reasons.BackupQueued, message: 'waiting for a free slot: other backups or restores are copying' }
        : { status: 'False', reason: Reasons.BackupInProgress, message: 'copying images to the backup location' },
    });
  }

  private async plan(key: string, isb: ImageStreamsBackup, restarted = false): Promise<ReconcileResult | void> {
    const spec = ensureDefaults(isb);
    const status = isb.status ?? {};
    if (TERMINAL_PHASES.has(status.phase ?? '') && status.observedGeneration === spec.generation) return;
    // The gates say when a backup may *start*; once it has started, a new spec or a restart of
    // the controller runs it again at once (the Velero Backup may be gone by then, by design).
    const started = status.startTimestamp !== undefined;
    const conditions: ConditionInput[] = [];
    let veleroWarning: string | undefined;

    if (!started) {
      const velero = spec.veleroBackup ? await this.observeVelero(spec.veleroBackup) : undefined;
      const previous = findCondition(status.conditions as Condition[] | undefined, ConditionTypes.VeleroBackupItemsCollected);
      const gate = resolveGates(spec, velero, previous);
      if (gate.veleroCondition) conditions.push(gate.veleroCondition);
      if (gate.action === 'wait') {
        await this.commit(isb, {
          phase: 'WaitingForStart', observedGeneration: spec.generation, conditions,
          ready: { status: 'False', reason: gate.reason, message: gate.message },
        });
        const polled = spec.veleroBackup && !this.deps.watchedNamespaces.has(spec.veleroBackup.namespace);
        return polled ? { requeueAfterMs: VELERO_POLL_MS } : undefined;
      }
      if (gate.action === 'fail') {
        return this.fail(isb, spec.generation, gate.reason, gate.message, { conditions });
      }
      veleroWarning = gate.warning;
    }

    let location: ResolvedLocation;
    try {
      location = await resolveLocation(spec.namespace, spec.backupLocation, this.deps.locations, { purpose: 'backup' });
      await this.deps.checkLocation(location, this.deps.log.child({ isb: key }));
    } catch (err) {
      return this.locationUnavailable(key, isb, spec, err, started ? 'InProgress' : 'WaitingForStart', conditions);
    }
    conditions.push({ type: ConditionTypes.BackupLocationAvailable, status: 'True', reason: Reasons.BackupLocationAvailable,
      message: `backup location ${location.name} answered` });

    const refs = validateReferences(spec.imageStreams, this.deps.internalRegistry);
    conditions.push(refs.failures.length === 0
      ? { type: ConditionTypes.ReferencesValid, status: 'True', reason: Reasons.AllReferencesValid, message: `${plural(refs.total, 'image reference')}, all valid` }
      : { type: ConditionTypes.ReferencesValid, status: 'False', reason: Reasons.InvalidReferences,
        message: `${refs.failures.length} of ${refs.total} image references are refused (see status.failures): ${refs.failures[0]!.message}` });
    const initial = initialProgress(refs.total, refs.failures.length);
    if (refs.total > 0 && refs.imageStreams.length === 0) {
      return this.fail(isb, spec.generation, Reasons.NoValidReferences,
        `no image reference can be backed up: ${refs.failures[0]!.message}${refs.failures.length > 1 ? ` (and ${refs.failures.length - 1} more, see status.failures)` : ''}`,
        { conditions, failures: refs.failures, progress: initial, backupLocation: location.name });
    }

    const resumed = status.phase === 'InProgress' && status.observedGeneration === spec.generation && !restarted;
    // Status first: if the controller dies right after, the next one sees InProgress and resumes.
    await this.commit(isb, {
      phase: 'InProgress', observedGeneration: spec.generation, conditions,
      ready: { status: 'False', reason: Reasons.BackupInProgress, message: 'copying images to the backup location' },
      set: {
        startTimestamp: resumed || restarted ? (status.startTimestamp ?? nowTimestamp()) : nowTimestamp(),
        completionTimestamp: null,
        progress: initial,
        failures: refs.failures,
        backupLocation: location.name,
      },
    });
    this.startRun(key, spec, location, refs.imageStreams, refs.failures, refs.total);
    if (veleroWarning) this.deps.record(isb, 'Warning', EventReasons.VeleroBackupPartiallyFailed, veleroWarning);
    if (!restarted) {
      const what = `${plural(refs.total, 'image')} to ${location.name === 'inline' ? 'the inline backup location' : `backup location ${location.name}`}`;
      this.deps.record(isb, 'Normal', resumed ? EventReasons.BackupResumed : EventReasons.BackupStarted,
        resumed ? `resuming the backup of ${what}; blobs already stored are skipped` : `backing up ${what}`);
    }
  }

  private startRun(
    key: string, spec: BackupSpec, location: ResolvedLocation,
    imageStreams: ReturnType<typeof validateReferences>['imageStreams'], invalid: ImageFailure[], total: number,
  ): void {
    const { deps } = this;
    const log = deps.log.child({ isb: key, generation: spec.generation });
    deps.runs.start(key, spec.uid, spec.generation, async (signal) => {
      let lastDone = 0;
      let lastSkipped = 0;
      const writer = new ThrottledWriter<Progress>(
        (p) => deps.isbs.patchStatus(spec.namespace, spec.name, { progress: p }).then(() => undefined),
        deps.progressIntervalMs, log);
      deps.metrics?.runsActive.inc({ controller: 'imagestreamsbackup' });
      try {
        const outcome = await deps.runBackup({
          backup: { namespace: spec.namespace, name: spec.name, uid: spec.uid },
          location, imageStreams, registry: deps.registry, signal, log,
          ...(deps.concurrency && { concurrency: deps.concurrency }),
          onProgress: (p) => {
            deps.metrics?.bytesUploaded.inc(Math.max(0, p.bytes.done - lastDone));
            deps.metrics?.bytesSkipped.inc(Math.max(0, p.bytes.skipped - lastSkipped));
            lastDone = p.bytes.done;
            lastSkipped = p.bytes.skipped;
            writer.update(withInvalid(p, invalid.length, total));
          },
        });
        return { outcome, invalid, location: location.name };
      } catch (error) {
        if (!signal.aborted) log.warn('backup run failed', { error });
        return { error, invalid, location: location.name };
      } finally {
        deps.metrics?.runsActive.dec({ controller: 'imagestreamsbackup' });
        await writer.close();
      }
    });
  }

  private async finishRun(key: string, isb: ImageStreamsBackup, run: Run<BackupRunResult>): Promise<ReconcileResult | void> {
    const spec = ensureDefaults(isb);
    const result: BackupRunResult = run.result?.ok ? run.result.value : { error: run.result?.error, invalid: [], location: '' };
    if (spec.generation !== run.generation) {
      // The spec changed while the copy ran: its work is not wasted (the blobs are in the pool),
      // but the bundle must describe the new spec, so back up again at once.
      this.deps.record(isb, 'Normal', EventReasons.BackupRestarted,
        `the spec changed while the backup ran (generation ${run.generation} -> ${spec.generation}): backing up again; stored blobs are skipped`);
      return this.plan(key, isb, true);
    }
    if (result.outcome) {
      this.retries.forget(key);
      return this.complete(isb, run.generation, result.outcome, result);
    }
    const err = result.error;
    if (err instanceof StalledError && !LOCATION_REASONS.has(err.reason)) {
      // Progress stays as the run last wrote it.
      this.retries.forget(key);
      return this.fail(isb, run.generation, err.reason, err.message, { failures: [...result.invalid, ...failuresOf(err)] });
    }
    if (err instanceof ReconcileError && LOCATION_REASONS.has(err.reason)) {
      return this.locationUnavailable(key, isb, spec, err, 'InProgress', []);
    }
    const delay = this.nextRetry(key, err);
    const reason = err instanceof ReconcileError ? err.reason : 'BackupError';
    const message = `${errorMessage(err)}; retrying in ${Math.round(delay / 1000)}s`;
    await this.commit(isb, { phase: 'InProgress', observedGeneration: run.generation, ready: { status: 'False', reason, message } });
    this.deps.record(isb, 'Warning', EventReasons.BackupRetrying, message);
    return { requeueAfterMs: delay };
  }

  private async complete(isb: ImageStreamsBackup, generation: number, outcome: BackupOutcome, result: BackupRunResult): Promise<void> {
    const failures = [...result.invalid, ...outcome.failures];
    const progress = withInvalid(outcome.progress, result.invalid.length, outcome.progress.images.total + result.invalid.length);
    const p = progress;
    const bytes = `${formatBytes(p.bytes.done)} uploaded, ${formatBytes(p.bytes.skipped)} already stored`;
    const partial = failures.length > 0;
    const message = partial
      ? `backed up ${p.images.done} of ${plural(p.images.total, 'image')} (${bytes}); ${p.images.failed} failed, see status.failures`
      : `backed up ${plural(p.images.done, 'image')} (${bytes})`;
    const phase: ImageStreamsBackupPhase = partial ? 'PartiallyFailed' : 'Completed';
    const committed = await this.commit(isb, {
      phase, observedGeneration: generation,
      ready: { status: 'True', reason: partial ? Reasons.PartiallyFailed : Reasons.Completed, message },
      set: { completionTimestamp: nowTimestamp(), progress, failures, bundle: outcome.bundleKey, backupLocation: result.location },
    });
    if (committed.previousPhase !== phase) {
      this.deps.record(isb, partial ? 'Warning' : 'Normal', partial ? EventReasons.BackupPartiallyFailed : EventReasons.BackupCompleted, message);
    }
  }

  private async fail(
    isb: ImageStreamsBackup, generation: number, reason: string, message: string,
    extra: { conditions?: ConditionInput[]; failures?: ImageFailure[]; progress?: Progress; backupLocation?: string },
  ): Promise<void> {
    const committed = await this.commit(isb, {
      phase: 'Failed', observedGeneration: generation, conditions: extra.conditions ?? [],
      ready: { status: 'False', reason, message },
      set: {
        completionTimestamp: nowTimestamp(),
        ...(extra.failures && { failures: extra.failures }),
        ...(extra.progress && { progress: extra.progress }),
        ...(extra.backupLocation && { backupLocation: extra.backupLocation }),
      },
    });
    if (committed.previousPhase !== 'Failed' || committed.previousReason !== reason) {
      this.deps.record(isb, 'Warning', EventReasons.BackupFailed, message);
    }
  }

  /** The location cannot be used (yet): say why, keep the phase, and try again later. */
  private async locationUnavailable(
    key: string, isb: ImageStreamsBackup, spec: BackupSpec, err: unknown,
    phase: ImageStreamsBackupPhase, conditions: ConditionInput[],
  ): Promise<ReconcileResult> {
    if (!(err instanceof ReconcileError)) throw err; // an API error: the queue retries with backoff
    const retryMs = err instanceof WaitingError ? err.retryAfterMs
      : err instanceof TransientError ? this.nextRetry(key, err) : STALLED_LOCATION_RETRY_MS;
    const committed = await this.commit(isb, {
      phase, observedGeneration: spec.generation,
      conditions: [...conditions, { type: ConditionTypes.BackupLocationAvailable, status: 'False', reason: err.reason, message: err.message }],
      ready: { status: 'False', reason: err.reason, message: err.message },
    });
    if (committed.previousReason !== err.reason) this.deps.record(isb, 'Warning', EventReasons.BackupLocationUnavailable, err.message);
    return { requeueAfterMs: retryMs };
  }

  private async observeVelero(ref: VeleroBackupRef): Promise<VeleroObservation> {
    const vb = await this.deps.veleroBackups.get(ref.namespace, ref.name);
    return vb ? { found: true, phase: vb.status?.phase ?? '' } : { found: false };
  }

  private async commit(isb: ImageStreamsBackup, change: StatusChange) {
    return commitStatus(this.deps.isbs, isb, change);
  }

  private nextRetry(key: string, err: unknown): number {
    return this.retries.next(key, err instanceof WaitingError ? err.retryAfterMs : undefined);
  }
}
