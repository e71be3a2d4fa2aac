// The ImageStreamsRestore reconcile: from the object as the API server has it now, decide the
// next step, take it, and write the status once. Steps: location (resolveLocation), bundle
// (findBundle, waited for until a deadline: waitDeadline), selection (selectImageStreams), then
// the push, which runs beside the work queue (Runs) and is committed by a later reconcile.
// Every step is idempotent: after a controller restart the next reconcile sees InProgress and
// runs the restore again, and the restorer skips what the registry already holds.
import type { ImageStreamsRestore } from '../../pkg/api/index.js';
import type { ImageFailure } from '../../pkg/contracts.js';
import { ReconcileError, StalledError, WaitingError, errorMessage } from '../../pkg/errors.js';
import type { StreamSelector } from '../../pkg/restore/plan.js';
import { resolveLocation, type LocationDeps, type ResolvedLocation } from '../backupLocation.js';
import { EventReasons, Reasons, TERMINAL_PHASES } from '../conditions.js';
import type { RegistryFactory } from '../internalRegistry.js';
import type { EventType } from '../runtime/events.js';
import type { Logger } from '../runtime/logger.js';
import type { ControllerMetrics } from '../runtime/metrics.js';
import type { Run, Runs } from '../runtime/runs.js';
import type { ReconcileResult } from '../runtime/workQueue.js';
import { splitKey } from '../runtime/workQueue.js';
import { LOCATION_REASONS } from '../../pkg/store/storeError.js';
import { ExponentialBackoff } from '../runtime/backoff.js';
import { writeStatus, type StatusClient } from '../runtime/status.js';
import { ensureDefaults, type RestoreSpec } from './ensureDefaults.js';
import type { BundleFinder, RestoreOutcome, RestoreRunner } from './runRestore.js';
import { selectImageStreams } from './selectImageStreams.js';
import {
  failedStatus, finishedPhase, finishedStatus, observedRunStatus, retryingStatus, startedStatus, waitingStatus,
  type RestoreStatus,
} from './status.js';
import { BUNDLE_WAIT_ENV, waitDecision } from './waitDeadline.js';

/** What a run hands back to the reconcile that commits it (it never throws). */
export interface RestoreRunResult {
  outcome?: RestoreOutcome;
  error?: unknown;
  /** Selectors of spec.imageStreams that named nothing in the backup: part of the failures. */
  unmatched: ImageFailure[];
}

export interface IsrReconcilerDeps {
  isrs: StatusClient & { get(namespace: string, name: string): Promise<ImageStreamsRestore | undefined> };
  locations: LocationDeps;
  runs: Runs<RestoreRunResult>;
  record: (obj: ImageStreamsRestore, type: EventType, reason: string, message: string) => void;
  findBundle: BundleFinder;
  runRestore: RestoreRunner;
  registry: RegistryFactory;
  progressIntervalMs: number;
  /** How long after its creation a restore waits for its location and bundle (RESTORE_BUNDLE_WAIT_SECONDS). */
  bundleWaitMs: number;
  concurrency?: { images?: number; blobs?: number };
  metrics?: ControllerMetrics;
  log: Logger;
  now?: () => Date;
}


export class IsrReconciler {
  /** Failed runs per key since its last success, for the backoff of runs that fail as a whole. */
  private readonly retries = new ExponentialBackoff({ baseMs: 5_000, maxMs: 300_000 });

  constructor(private readonly deps: IsrReconcilerDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const isr = await this.deps.isrs.get(namespace, name);
    const { gone, run } = this.deps.runs.current(key, isr, 'ImageStreamsRestore');
    if (gone || !isr) {
      this.retries.forget(key);
      return;
    }
    if (run && run.state !== 'finished') {
      await writeStatus(this.deps.isrs, isr, observedRunStatus(isr.status, ensureDefaults(isr, this.now()), run.state === 'queued', this.now()));
      return;
    }
    if (run) {
      this.deps.runs.take(key);
      return this.finishRun(key, isr, run);
    }
    return this.plan(key, isr);
  }

  private async plan(key: string, isr: ImageStreamsRestore): Promise<ReconcileResult | void> {
    const now = this.now();
    const spec = ensureDefaults(isr, now);
    const status = isr.status;
    // A restore runs once: a new one is a new ImageStreamsRestore (as with a Velero Restore).
    if (TERMINAL_PHASES.has(status?.phase ?? '')) return;
    if (!spec.backupName) {
      return this.fail(isr, spec, { reason: Reasons.NoBackupName, message: 'spec.imageStreamsBackupReference.name is required: the name of the backup to restore' });
    }
    const log = this.deps.log.child({ isr: key });

    let location: ResolvedLocation;
    try {
      location = await resolveLocation(spec.namespace, spec.backupLocation, this.deps.locations, { purpose: 'restore' });
    } catch (err) {
      return this.locationUnavailable(key, isr, spec, err);
    }
    let lookup;
    try {
      lookup = await this.deps.findBundle(location, spec.backupName, log);
    } catch (err) {
      if (err instanceof StalledError && !LOCATION_REASONS.has(err.reason)) {
        return this.fail(isr, spec, { reason: err.reason, message: err.message, notFound: true });
      }
      return this.locationUnavailable(key, isr, spec, err, location.name);
    }
    if (!lookup.found) {
      const message = `backup ${JSON.stringify(spec.backupName)} is not in backup location ${location.name} (no ${lookup.key} in bucket `
        + `${lookup.bucket}): the backup has not completed, the location has not synced yet, or the name or location is wrong`;
      return this.waitOrFail(isr, spec, { reason: Reasons.BackupNotFound, message, locationAvailable: true, locationName: location.name });
    }

    const selection = selectImageStreams(spec.imageStreams, lookup.backup);
    if (selection.action === 'fail') return this.fail(isr, spec, { reason: Reasons.NoMatchingImageStreams, message: selection.message });
    const { imageStreams, images } = selection.count;

    const resumed = status?.startTimestamp !== undefined;
    const retried = this.retries.attempts(key) > 0;
    // Status first: if the controller dies right after, the next one sees InProgress and resumes.
    await writeStatus(this.deps.isrs, isr, startedStatus(status, spec, {
      locationName: location.name, bundleKey: lookup.key, imageStreams, images, resumed,
    }, now));
    this.startRun(key, spec, location, selection.imageStreams, selection.unmatched);
    if (!retried) {
      const what = `${images} images of ${imageStreams} image streams from backup ${JSON.stringify(spec.backupName)}`;
      this.deps.record(isr, 'Normal', resumed ? EventReasons.RestoreResumed : EventReasons.RestoreStarted, resumed
        ? `resuming the restore of ${what}; what the registry holds already is not pushed again`
        : `restoring ${what} (backup location ${location.name})`);
    }
  }

  private startRun(key: string, spec: RestoreSpec, location: ResolvedLocation, imageStreams: StreamSelector[] | undefined, unmatched: ImageFailure[]): void {
    const { deps } = this;
    const log = deps.log.child({ isr: key, generation: spec.generation });
    deps.runs.start(key, spec.uid, spec.generation, async (signal) => {
      deps.metrics?.runsActive.inc({ controller: 'imagestreamsrestore' });
      try {
        const outcome = await deps.runRestore({
          backupName: spec.backupName,
          location,
          ...(imageStreams && { imageStreams }),
          namespaceMapping: spec.namespaceMapping,
          registry: deps.registry,
          ...(deps.concurrency && { concurrency: deps.concurrency }),
          writeProgress: async (progress) => { await deps.isrs.patchStatus(spec.namespace, spec.name, { progress }); },
          progressIntervalMs: deps.progressIntervalMs,
          signal,
          log,
        });
        return { outcome, unmatched };
      } catch (error) {
        if (!signal.aborted) log.warn('restore run failed', { error });
        return { error, unmatched };
      } finally {
        deps.metrics?.runsActive.dec({ controller: 'imagestreamsrestore' });
      }
    });
  }

  private async finishRun(key: string, isr: ImageStreamsRestore, run: Run<RestoreRunResult>): Promise<ReconcileResult | void> {
    const spec = { ...ensureDefaults(isr, this.now()), generation: run.generation };
    const result: RestoreRunResult = run.result?.ok ? run.result.value : { error: run.result?.error, unmatched: [] };
    if (result.outcome) {
      this.retries.forget(key);
      const finished = { progress: result.outcome.progress, failures: [...result.unmatched, ...result.outcome.failures] };
      const phase = finishedPhase(finished);
      const committed = await writeStatus(this.deps.isrs, isr, finishedStatus(isr.status, spec, finished, this.now()));
      if (committed.previousPhase !== phase) {
        const reason = phase === 'Completed' ? EventReasons.RestoreCompleted
          : phase === 'PartiallyFailed' ? EventReasons.RestorePartiallyFailed : EventReasons.RestoreFailed;
        this.deps.record(isr, phase === 'Completed' ? 'Normal' : 'Warning', reason, committed.status.message ?? phase);
      }
      return;
    }
    const err = result.error;
    // The bundle was there when the run was planned and is gone now: plan again (wait, then fail).
    if (err instanceof WaitingError && err.reason === 'BundleNotFound') return this.plan(key, isr);
    if (err instanceof StalledError && !LOCATION_REASONS.has(err.reason)) {
      this.retries.forget(key);
      return this.fail(isr, spec, { reason: err.reason, message: err.message });
    }
    const delay = this.nextRetry(key, err);
    const reason = err instanceof ReconcileError ? err.reason : 'RestoreError';
    const message = `${errorMessage(err)}; retrying in ${Math.round(delay / 1000)}s`;
    await writeStatus(this.deps.isrs, isr, retryingStatus(isr.status, spec, reason, message, this.now()));
    this.deps.record(isr, 'Warning', EventReasons.RestoreRetrying, message);
    return { requeueAfterMs: delay };
  }

  /**
   * The location cannot be used: before the restore has started this is waited for until the
   * deadline, as a missing bundle is (on a new cluster the BSL may come after the restore);
   * once started, the bundle was there, so it is retried with backoff for as long as it takes.
   */
  private async locationUnavailable(key: string, isr: ImageStreamsRestore, spec: RestoreSpec, err: unknown, locationName?: string): Promise<ReconcileResult | void> {
    if (!(err instanceof ReconcileError)) throw err; // an API error: the queue retries with backoff
    if (isr.status?.startTimestamp === undefined) {
      return this.waitOrFail(isr, spec, { reason: err.reason, message: err.message, locationAvailable: false, ...(locationName && { locationName }) });
    }
    const delay = this.nextRetry(key, err);
    const committed = await writeStatus(this.deps.isrs, isr, retryingStatus(isr.status, spec, err.reason, err.message, this.now()));
    if (committed.previousReason !== err.reason) this.deps.record(isr, 'Warning', EventReasons.BackupLocationUnavailable, err.message);
    return { requeueAfterMs: delay };
  }

  private async waitOrFail(
    isr: ImageStreamsRestore, spec: RestoreSpec,
    w: { reason: string; message: string; locationAvailable: boolean; locationName?: string },
  ): Promise<ReconcileResult | void> {
    const now = this.now();
    const decision = waitDecision(spec.createdAt, now, this.deps.bundleWaitMs);
    if (decision.action === 'fail') {
      const waited = `${Math.round(this.deps.bundleWaitMs / 1000)}s`;
      return this.fail(isr, spec, {
        reason: w.reason,
        message: `gave up after ${waited} (${BUNDLE_WAIT_ENV}): ${w.message}`,
        location: !w.locationAvailable,
        notFound: w.locationAvailable,
      });
    }
    const committed = await writeStatus(this.deps.isrs, isr, waitingStatus(isr.status, spec, { ...w, until: decision.deadline }, now));
    if (committed.previousReason !== w.reason) {
      this.deps.record(isr, 'Warning', w.locationAvailable ? EventReasons.BackupNotFound : EventReasons.BackupLocationUnavailable, w.message);
    }
    return { requeueAfterMs: decision.retryAfterMs };
  }

  private async fail(isr: ImageStreamsRestore, spec: RestoreSpec, f: { reason: string; message: string; location?: boolean; notFound?: boolean }): Promise<void> {
    const desired: RestoreStatus = failedStatus(isr.status, spec, f, this.now());
    const committed = await writeStatus(this.deps.isrs, isr, desired);
    if (committed.previousPhase !== 'Failed') this.deps.record(isr, 'Warning', EventReasons.RestoreFailed, desired.message ?? f.message);
  }

  private nextRetry(key: string, err: unknown): number {
    return this.retries.next(key, err instanceof WaitingError ? err.retryAfterMs : undefined);
  }
}
