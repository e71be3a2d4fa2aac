// The ImageStreamsRestore's steps, for the shared life cycle (runtime/lifecycle.ts): location
// (resolveLocation), bundle (findBundle, waited for until a deadline: waitDeadline), selection
// (pkg/restore/select.ts), then the run, which pushes beside the work queue. Every step is
// idempotent: after a controller restart or a retry the next run skips what the registry holds.
// With spec.verifyOnly the same steps lead to a run that reads and hashes instead (runVerify.ts):
// nothing goes to the registry, which need not be reachable.
import type { ImageStreamsRestore } from '../../pkg/api/index.js';
import { ReconcileError, TransientImagesError, classify, isLocationError } from '../../pkg/errors.js';
import { selectForRestore, type RestoreSelector } from '../../pkg/restore/select.js';
import type { Progress } from '../../pkg/contracts.js';
import { INSECURE_LOCATION_WARNING, resolveLocation, skipsTlsVerification, type LocationDeps, type ResolvedLocation } from '../backupLocation.js';
import { EventReasons, Reasons, TERMINAL_PHASES } from '../conditions.js';
import type { TransportSettings } from '../config.js';
import type { RegistryFactory } from '../internalRegistry.js';
import type { Event, Kind, Preparation, RunContext } from '../runtime/lifecycle.js';
import type { Logger } from '../runtime/logger.js';
import type { ControllerMetrics } from '../runtime/metrics.js';
import type { StatusClient } from '../runtime/status.js';
import { ensureDefaults, type RestoreSpec } from './ensureDefaults.js';
import type { BundleFinder, RestoreOutcome, RestoreRunner } from './runRestore.js';
import type { VerifyOutcome, VerifyRunner } from './runVerify.js';
import {
  failedStatus, finishedPhase, finishedStatus, observedRunStatus, retryingStatus, startedStatus, waitingStatus,
  type RestoreStatus,
} from './status.js';
import { verifiedEvent, verifiedStatus } from './verifyStatus.js';
import { BUNDLE_WAIT_ENV, waitDecision } from './waitDeadline.js';

/** What a run hands back to be committed (selectors that named nothing are among its failures), or what a verification found. */
export type RestoreRunResult = { outcome: RestoreOutcome } | { verification: VerifyOutcome };

export interface IsrDeps {
  isrs: StatusClient & { get(namespace: string, name: string): Promise<ImageStreamsRestore | undefined> };
  locations: LocationDeps;
  findBundle: BundleFinder;
  runRestore: RestoreRunner;
  runVerify: VerifyRunner;
  registry: RegistryFactory;
  transport?: TransportSettings;
  progressIntervalMs: number;
  /** How long after its creation a restore waits for its location and bundle (RESTORE_BUNDLE_WAIT_SECONDS). */
  bundleWaitMs: number;
  concurrency?: { images?: number; blobs?: number };
  trusted?: (namespace: string) => boolean;
  metrics?: ControllerMetrics;
  log: Logger;
}

export function restoreKind(deps: IsrDeps): Kind<ImageStreamsRestore, RestoreStatus, RestoreRunResult> {
  const specOf = (isr: ImageStreamsRestore, now: Date) => ensureDefaults(isr, now);
  return {
    name: 'ImageStreamsRestore',
    events: { retrying: EventReasons.RestoreRetrying, failed: EventReasons.RestoreFailed, cancelled: EventReasons.RestoreCancelled },
    prepare: (key, isr, now) => prepare(deps, key, isr, now),
    finished: (isr, run, now) => finished(isr, run.result, now),
    observed: (isr, generation, queued, now) => observedRunStatus(isr.status, { ...specOf(isr, now), generation }, queued, now),
    retrying: (isr, r, now) => retryingStatus(isr.status, specOf(isr, now), r, now),
    failed: (isr, f, now) => failedStatus(isr.status, specOf(isr, now), { reason: f.reason, message: f.message, location: isLocationError(f.error) }, now),
  };
}

async function prepare(deps: IsrDeps, key: string, isr: ImageStreamsRestore, now: Date): Promise<Preparation<RestoreStatus, RestoreRunResult>> {
  const spec = ensureDefaults(isr, now);
  const status = isr.status;
  // A restore runs once: a new one is a new ImageStreamsRestore (as with a Velero Restore).
  if (TERMINAL_PHASES.has(status?.phase ?? '')) return { action: 'done' };
  if (!spec.backupName) {
    return fail(isr, spec, { reason: Reasons.NoBackupName, message: 'spec.imageStreamsBackupReference.name is required: the name of the backup to restore' }, now);
  }
  const log = deps.log.child({ isr: key });

  let location: ResolvedLocation;
  try {
    location = await resolveLocation(spec.namespace, spec.backupLocation, deps.locations, { purpose: 'restore', trusted: deps.trusted?.(spec.namespace) ?? true });
  } catch (err) {
    if (!(err instanceof ReconcileError)) throw err; // an API error: the queue retries with backoff
    return waitOrFail(deps, isr, spec, { reason: err.reason, message: err.message, locationAvailable: false }, now);
  }
  let lookup;
  try {
    lookup = await deps.findBundle(location, spec.backupName, log, deps.transport);
  } catch (err) {
    if (!(err instanceof ReconcileError)) throw err;
    // A bundle that cannot be read, or of a newer format: nothing to wait for.
    if (!isLocationError(err) && classify(err) !== 'transient') {
      return fail(isr, spec, { reason: err.reason, message: err.message, notFound: true }, now);
    }
    return waitOrFail(deps, isr, spec, { reason: err.reason, message: err.message, locationAvailable: false, locationName: location.name }, now);
  }
  if (!lookup.found) {
    const message = `backup ${JSON.stringify(spec.backupName)} is not in backup location ${location.name} (no ${lookup.key} in bucket `
      + `${lookup.bucket}): the backup has not completed, the location has not synced yet, or the name or location is wrong`;
    return waitOrFail(deps, isr, spec, { reason: Reasons.BackupNotFound, message, locationAvailable: true, locationName: location.name }, now);
  }

  const admin = deps.trusted?.(spec.namespace) ?? true;
  // A verification pushes nothing, so it has no target: neither the mapping nor the rule that a
  // tenant restores into its own namespace applies. Reading is what the location's credential
  // allows anyway; the location's rules (resolveLocation, above) still apply.
  const selection = spec.verifyOnly
    ? selectForRestore(lookup.backup, spec.imageStreams)
    : selectForRestore(lookup.backup, spec.imageStreams, spec.namespaceMapping, admin ? undefined : spec.namespace);
  if (spec.imageStreams.length > 0 && selection.targets.length === 0) {
    // Restoring "the rest" would restore everything, which nobody asked for.
    const streams = lookup.backup.imageStreams;
    const available = streams.slice(0, 10).map((x) => `${x.namespace}/${x.name}`);
    const more = streams.length > available.length ? `, and ${streams.length - available.length} more` : '';
    return fail(isr, spec, {
      reason: Reasons.NoMatchingImageStreams,
      message: `none of spec.imageStreams is in backup ${JSON.stringify(lookup.backup.backup.name)} (${selection.failures[0]?.message ?? 'nothing selected'}; `
        + `it holds ${available.length ? available.join(', ') + more : 'no image stream'})`,
    }, now);
  }
  const imageStreams = selection.targets.length;
  const images = selection.images + selection.failures.filter((f) => f.reference !== '').length;

  const resumed = status?.startTimestamp !== undefined;
  const events: Event[] = [];
  if (skipsTlsVerification(location)) events.push({ type: 'Warning', reason: EventReasons.InsecureBackupLocation, message: INSECURE_LOCATION_WARNING, once: true });
  if (!status?.attempts && spec.verifyOnly) {
    const what = `${images} images of ${imageStreams} image streams of backup ${JSON.stringify(spec.backupName)}`;
    events.push({
      type: 'Normal', reason: EventReasons.VerifyStarted,
      message: `${resumed ? 'verifying again, from the start,' : 'verifying'} ${what} (backup location ${location.name}): nothing is written to the registry`,
    });
  } else if (!status?.attempts) {
    const what = `${images} images of ${imageStreams} image streams from backup ${JSON.stringify(spec.backupName)}`;
    events.push({
      type: 'Normal', reason: resumed ? EventReasons.RestoreResumed : EventReasons.RestoreStarted,
      message: resumed ? `resuming the restore of ${what}; what the registry holds already is not pushed again` : `restoring ${what} (backup location ${location.name})`,
    });
  }
  return {
    action: 'start',
    generation: spec.generation,
    status: startedStatus(status, spec, { locationName: location.name, bundleKey: lookup.key, imageStreams, images, resumed }, now),
    events,
    run: (ctx) => (spec.verifyOnly ? verify(deps, key, spec, location, ctx) : run(deps, key, spec, location, spec.imageStreams, !resumed, ctx)),
  };
}

async function run(
  deps: IsrDeps, key: string, spec: RestoreSpec, location: ResolvedLocation, imageStreams: RestoreSelector[], firstRun: boolean, ctx: RunContext,
): Promise<RestoreRunResult> {
  const log = deps.log.child({ isr: key, generation: spec.generation });
  let lastDone = 0;
  let lastSkipped = 0;
  try {
    const outcome = await deps.runRestore({
      backupName: spec.backupName,
      location,
      imageStreams,
      namespaceMapping: spec.namespaceMapping,
      ...(!(deps.trusted?.(spec.namespace) ?? true) && { targetNamespace: spec.namespace }),
      registry: deps.registry,
      ...(deps.transport && { transport: deps.transport }),
      ...(deps.concurrency && { concurrency: deps.concurrency }),
      finalAttempt: ctx.finalAttempt,
      firstRun,
      writeProgress: async (progress: Progress) => {
        deps.metrics?.bytesRestored.inc(Math.max(0, progress.bytes.done - lastDone));
        deps.metrics?.restoreBytesSkipped.inc(Math.max(0, progress.bytes.skipped - lastSkipped));
        lastDone = progress.bytes.done;
        lastSkipped = progress.bytes.skipped;
        await deps.isrs.patchStatus(spec.namespace, spec.name, { progress });
      },
      progressIntervalMs: deps.progressIntervalMs,
      signal: ctx.signal,
      log,
    });
    return { outcome };
  } catch (err) {
    if (!ctx.signal.aborted) log.warn('restore run failed', { error: err });
    // The status keeps the progress of a run that will be tried again.
    if (err instanceof TransientImagesError) await deps.isrs.patchStatus(spec.namespace, spec.name, { progress: err.progress }).catch(() => undefined);
    throw err;
  }
}

/** Reads and hashes what a restore would push (pkg/verify); a damaged blob is a finding, not an error. */
async function verify(deps: IsrDeps, key: string, spec: RestoreSpec, location: ResolvedLocation, ctx: RunContext): Promise<RestoreRunResult> {
  const log = deps.log.child({ isr: key, generation: spec.generation, verifyOnly: true });
  try {
    const verification = await deps.runVerify({
      backupName: spec.backupName,
      location,
      imageStreams: spec.imageStreams,
      ...(deps.transport && { transport: deps.transport }),
      ...(deps.concurrency?.blobs && { concurrency: deps.concurrency.blobs }),
      writeProgress: async (progress: Progress) => {
        await deps.isrs.patchStatus(spec.namespace, spec.name, { progress });
      },
      progressIntervalMs: deps.progressIntervalMs,
      signal: ctx.signal,
      log,
    });
    return { verification };
  } catch (err) {
    if (!ctx.signal.aborted) log.warn('verification failed', { error: err });
    throw err;
  }
}

function finished(isr: ImageStreamsRestore, r: RestoreRunResult, now: Date): { status: RestoreStatus; events?: Event[] } {
  const spec = ensureDefaults(isr, now);
  if ('verification' in r) return { status: verifiedStatus(isr.status, spec, r.verification, now), events: [verifiedEvent(spec, r.verification)] };
  const result = { progress: r.outcome.progress, failures: r.outcome.failures };
  const phase = finishedPhase(result);
  const status = finishedStatus(isr.status, spec, result, now);
  const reason = phase === 'Completed' ? EventReasons.RestoreCompleted : phase === 'PartiallyFailed' ? EventReasons.RestorePartiallyFailed : EventReasons.RestoreFailed;
  return { status, events: [{ type: phase === 'Completed' ? 'Normal' : 'Warning', reason, message: status.message ?? phase, once: true }] };
}

/**
 * Before the restore has started, a missing location or bundle is waited for until the deadline
 * (on a new cluster the BSL and Velero's sync may come after the restore); then it fails.
 */
function waitOrFail(
  deps: IsrDeps, isr: ImageStreamsRestore, spec: RestoreSpec,
  w: { reason: string; message: string; locationAvailable: boolean; locationName?: string }, now: Date,
): Preparation<RestoreStatus, RestoreRunResult> {
  const decision = waitDecision(spec.createdAt, now, deps.bundleWaitMs);
  if (decision.action === 'fail') {
    const waited = `${Math.round(deps.bundleWaitMs / 1000)}s`;
    return fail(isr, spec, {
      reason: w.reason, message: `gave up after ${waited} (${BUNDLE_WAIT_ENV}): ${w.message}`,
      location: !w.locationAvailable, notFound: w.locationAvailable,
    }, now);
  }
  return {
    action: 'write',
    status: waitingStatus(isr.status, spec, { ...w, until: decision.deadline }, now),
    events: [{ type: 'Warning', reason: w.locationAvailable ? EventReasons.BackupNotFound : EventReasons.BackupLocationUnavailable, message: w.message, once: true }],
    requeueAfterMs: decision.retryAfterMs,
  };
}

function fail(isr: ImageStreamsRestore, spec: RestoreSpec, f: { reason: string; message: string; location?: boolean; notFound?: boolean }, now: Date): Preparation<RestoreStatus, RestoreRunResult> {
  const status = failedStatus(isr.status, spec, f, now);
  return { action: 'write', status, events: [{ type: 'Warning', reason: EventReasons.RestoreFailed, message: status.message ?? f.message, once: true }] };
}
