// The status an ImageStreamsRestore should have in each situation, as pure functions of the
// current status: the caller writes only the difference (runtime/status.ts), so a reconcile that
// finds nothing new writes nothing.
import type { ImageStreamsRestoreStatus } from '../../pkg/api/index.js';
import type { ImageFailure, Progress } from '../../pkg/contracts.js';
import { ConditionTypes, Reasons } from '../conditions.js';
import { rfc3339, setCondition, truncate, type Condition, type ConditionInput } from '../runtime/conditions.js';
import { formatBytes } from '../runtime/format.js';
import { capFailures } from '../runtime/status.js';
import type { RestoreSpec } from './ensureDefaults.js';

export type RestoreStatus = ImageStreamsRestoreStatus;
export type Phase = NonNullable<RestoreStatus['phase']>;


/** A condition as the status should show it; `undefined` leaves the current one as it is. */
export interface Conditions {
  ready: Omit<ConditionInput, 'type' | 'observedGeneration'>;
  location?: Omit<ConditionInput, 'type' | 'observedGeneration'>;
  found?: Omit<ConditionInput, 'type' | 'observedGeneration'>;
}

export function withConditions(cur: RestoreStatus | undefined, spec: RestoreSpec, c: Conditions, now: Date): Condition[] {
  const generation = spec.generation;
  let list = (cur?.conditions ?? []) as Condition[];
  list = setCondition(list, { type: ConditionTypes.Ready, ...c.ready, observedGeneration: generation }, now);
  if (c.location) list = setCondition(list, { type: ConditionTypes.BackupLocationAvailable, ...c.location, observedGeneration: generation }, now);
  if (c.found) list = setCondition(list, { type: ConditionTypes.BackupFound, ...c.found, observedGeneration: generation }, now);
  return list;
}

/** What every status of the restore carries. */
export function baseStatus(cur: RestoreStatus | undefined, spec: RestoreSpec): RestoreStatus {
  return { ...cur, observedGeneration: spec.generation, ...(spec.backupName && { backupName: spec.backupName }) };
}

export interface Waiting {
  reason: string;
  message: string;
  /** Whether the location answered (the bundle is what is missing). */
  locationAvailable: boolean;
  locationName?: string;
  until: Date;
}

/** The backup cannot be found yet: the restore keeps trying until `until`. */
export function waitingStatus(cur: RestoreStatus | undefined, spec: RestoreSpec, w: Waiting, now: Date): RestoreStatus {
  const message = truncate(`${w.message}; retrying until ${rfc3339(w.until)}`);
  return {
    ...baseStatus(cur, spec),
    phase: 'InProgress',
    message,
    conditions: withConditions(cur, spec, {
      ready: { status: 'False', reason: w.reason, message },
      location: w.locationAvailable
        ? { status: 'True', reason: Reasons.BackupLocationAvailable, message: `backup location ${w.locationName ?? ''} answered` }
        : { status: 'False', reason: w.reason, message: w.message },
      found: w.locationAvailable
        ? { status: 'False', reason: Reasons.BackupNotFound, message: w.message }
        : { status: 'Unknown', reason: Reasons.NotChecked, message: 'the backup location is not available' },
    }, now),
  };
}

export interface Started {
  locationName: string;
  bundleKey: string;
  imageStreams: number;
  images: number;
  /** True when the run starts again after a controller restart or a retry: progress is kept until the run reports. */
  resumed: boolean;
}

const QUEUED_MESSAGE = 'waiting for a free slot: other backups or restores are copying';

/** The run is created queued (Runs starts it when a slot is free); observedRunStatus follows it. */
export function startedStatus(cur: RestoreStatus | undefined, spec: RestoreSpec, s: Started, now: Date): RestoreStatus {
  const what = `${s.imageStreams} image stream${s.imageStreams === 1 ? '' : 's'} (${s.images} image${s.images === 1 ? '' : 's'}) of backup ${JSON.stringify(spec.backupName)}`;
  const verb = spec.verifyOnly ? (s.resumed ? 'verifying again' : 'verifying') : (s.resumed ? 'resumed restoring' : 'restoring');
  const message = `${verb} ${what} from backup location ${s.locationName}`;
  const fresh = { images: { total: s.images, done: 0, failed: 0 }, blobs: { total: 0, done: 0, skipped: 0 }, bytes: { total: 0, done: 0, skipped: 0 } };
  return {
    ...baseStatus(cur, spec),
    phase: 'InProgress',
    message,
    startTimestamp: cur?.startTimestamp ?? rfc3339(now),
    completionTimestamp: undefined,
    failures: undefined,
    progress: s.resumed && cur?.progress ? cur.progress : fresh,
    ...(!s.resumed && { attempts: undefined, nextAttemptTime: undefined }),
    conditions: withConditions(cur, spec, {
      ready: { status: 'False', reason: spec.verifyOnly ? Reasons.VerifyQueued : Reasons.RestoreQueued, message: QUEUED_MESSAGE },
      location: { status: 'True', reason: Reasons.BackupLocationAvailable, message: `backup location ${s.locationName} answered` },
      found: { status: 'True', reason: Reasons.BackupFound, message: `found ${s.bundleKey}` },
    }, now),
  };
}

/** A run is queued or copying: Ready says which; the rest is the run's to write. */
export function observedRunStatus(cur: RestoreStatus | undefined, spec: RestoreSpec, queued: boolean, now: Date): RestoreStatus {
  const ready = queued
    ? { status: 'False' as const, reason: spec.verifyOnly ? Reasons.VerifyQueued : Reasons.RestoreQueued, message: QUEUED_MESSAGE }
    : spec.verifyOnly
      ? { status: 'False' as const, reason: Reasons.VerifyInProgress, message: cur?.message ?? 'verifying the backup' }
      : { status: 'False' as const, reason: Reasons.RestoreInProgress, message: cur?.message ?? 'restoring images' };
  return { ...cur, phase: 'InProgress', nextAttemptTime: undefined, conditions: withConditions(cur, spec, { ready }, now) };
}

/** A run failed for a reason that may pass (the storage or registry did not answer): when the next one starts. */
export function retryingStatus(cur: RestoreStatus | undefined, spec: RestoreSpec, r: { reason: string; message: string; attempts: number; next: Date }, now: Date): RestoreStatus {
  const text = truncate(r.message);
  return {
    ...baseStatus(cur, spec),
    phase: 'InProgress',
    message: text,
    attempts: r.attempts,
    nextAttemptTime: rfc3339(r.next),
    conditions: withConditions(cur, spec, { ready: { status: 'False', reason: r.reason, message: text } }, now),
  };
}

export interface Failure {
  reason: string;
  message: string;
  /** Set when the failure is about the location (then BackupLocationAvailable is False too). */
  location?: boolean;
  /** Set when the failure is that the backup is not there. */
  notFound?: boolean;
}

/** The restore could not run at all. */
export function failedStatus(cur: RestoreStatus | undefined, spec: RestoreSpec, f: Failure, now: Date): RestoreStatus {
  const message = truncate(f.message);
  return {
    ...baseStatus(cur, spec),
    phase: 'Failed',
    message,
    completionTimestamp: rfc3339(now),
    attempts: undefined,
    nextAttemptTime: undefined,
    conditions: withConditions(cur, spec, {
      ready: { status: 'False', reason: f.reason, message },
      ...(f.location && { location: { status: 'False', reason: f.reason, message } }),
      ...(f.notFound && { found: { status: 'False', reason: f.reason, message } }),
    }, now),
  };
}

export interface Finished {
  progress: Progress;
  failures: ImageFailure[];
}

/**
 * Completed when nothing failed; Failed when images were to be restored and none was;
 * PartiallyFailed otherwise (some images, tags, or selected image streams failed).
 */
export function finishedPhase(f: Finished): Phase {
  const { images } = f.progress;
  if (images.total > 0 && images.done === 0 && images.failed > 0) return 'Failed';
  return f.failures.length > 0 ? 'PartiallyFailed' : 'Completed';
}

export function finishedStatus(cur: RestoreStatus | undefined, spec: RestoreSpec, f: Finished, now: Date): RestoreStatus {
  const phase = finishedPhase(f);
  const { images, bytes } = f.progress;
  const counts = `${images.done} of ${images.total} image${images.total === 1 ? '' : 's'} restored`
    + (images.failed ? `, ${images.failed} failed` : '')
    + `; ${formatBytes(bytes.done)} pushed, ${formatBytes(bytes.skipped)} already in the registry or mounted`;
  const first = f.failures[0];
  const why = first ? `; first failure: ${first.imageStream}${first.reference ? ` ${first.reference}` : ''}: ${first.message}` : '';
  const message = truncate(`backup ${JSON.stringify(spec.backupName)}: ${counts}${why}`);
  const reason = phase === 'Completed' ? Reasons.Completed : phase === 'PartiallyFailed' ? Reasons.PartiallyFailed : Reasons.RestoreFailed;
  return {
    ...baseStatus(cur, spec),
    phase,
    message,
    progress: f.progress,
    failures: f.failures.length ? capFailures(f.failures) : undefined,
    completionTimestamp: rfc3339(now),
    attempts: undefined,
    nextAttemptTime: undefined,
    conditions: withConditions(cur, spec, { ready: { status: phase === 'Failed' ? 'False' : 'True', reason, message } }, now),
  } as RestoreStatus;
}

