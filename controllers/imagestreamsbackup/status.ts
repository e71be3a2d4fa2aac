// The status an ImageStreamsBackup should have in each situation, as pure functions of the
// current status: the caller writes only the difference (runtime/status.ts), so a reconcile that
// finds nothing new writes nothing.
import type { Condition as ApiCondition, ImageStreamsBackupPhase, ImageStreamsBackupStatus } from '../../pkg/api/index.js';
import type { ImageFailure, Progress } from '../../pkg/contracts.js';
import { ConditionTypes, Reasons } from '../conditions.js';
import { rfc3339, setCondition, truncate, type Condition, type ConditionInput } from '../runtime/conditions.js';
import { formatBytes, plural } from '../runtime/format.js';
import { capFailures } from '../runtime/status.js';

export type BackupStatus = ImageStreamsBackupStatus;
type Ready = Omit<ConditionInput, 'type' | 'observedGeneration'>;

/** `cur` with the phase, the Ready condition (and others) set for `generation`; the message is Ready's. */
function withReady(
  cur: BackupStatus | undefined, generation: number, phase: ImageStreamsBackupPhase, ready: Ready,
  conditions: ConditionInput[], now: Date,
): BackupStatus {
  let list = (cur?.conditions ?? []) as Condition[];
  list = setCondition(list, { type: ConditionTypes.Ready, ...ready, observedGeneration: generation }, now);
  for (const c of conditions) list = setCondition(list, { observedGeneration: generation, ...c }, now);
  return { ...cur, phase, message: truncate(ready.message), conditions: list as ApiCondition[], observedGeneration: generation };
}

/** Held before its first run: by startBackup, the Velero Backup, or the location. */
export function waitingStatus(cur: BackupStatus | undefined, generation: number, ready: Ready, conditions: ConditionInput[], now: Date): BackupStatus {
  return withReady(cur, generation, 'WaitingForStart', ready, conditions, now);
}

/** The location cannot be used (yet): the phase stays as it is (waiting, or a started backup). */
export function locationWaitStatus(
  cur: BackupStatus | undefined, generation: number, phase: ImageStreamsBackupPhase, err: { reason: string; message: string },
  conditions: ConditionInput[], now: Date,
): BackupStatus {
  return withReady(cur, generation, phase, { status: 'False', reason: err.reason, message: err.message }, [
    ...conditions, { type: ConditionTypes.BackupLocationAvailable, status: 'False', reason: err.reason, message: err.message },
  ], now);
}

export interface Start {
  conditions: ConditionInput[];
  progress: Progress;
  /** Refused before the copy (bad references). */
  failures: ImageFailure[];
  location: string;
  contentHash: string;
  /** Resumed after a restart or a retry (same spec): startTimestamp, attempts and progress stay. */
  resumed: boolean;
}

const QUEUED = 'waiting for a free slot: other backups or restores are copying';
const COPYING = 'copying images to the backup location';

/** Created queued (Runs starts it when a slot is free); observedRunStatus follows it. */
export function startedStatus(cur: BackupStatus | undefined, generation: number, s: Start, now: Date): BackupStatus {
  const next = withReady(cur, generation, 'InProgress', { status: 'False', reason: Reasons.BackupQueued, message: QUEUED }, s.conditions, now);
  return {
    ...next,
    startTimestamp: s.resumed ? (cur?.startTimestamp ?? rfc3339(now)) : rfc3339(now),
    completionTimestamp: undefined,
    progress: s.resumed && cur?.progress ? cur.progress : s.progress,
    failures: s.failures.length ? capFailures(s.failures) : undefined,
    backupLocation: s.location,
    contentHash: s.contentHash,
    carriedForward: undefined,
    ...(!s.resumed && { attempts: undefined, nextAttemptTime: undefined }),
  };
}

/** A run is queued or copying: Ready says which; the progress is the run's to write. */
export function observedRunStatus(cur: BackupStatus | undefined, generation: number, queued: boolean, now: Date): BackupStatus {
  const ready: Ready = queued
    ? { status: 'False', reason: Reasons.BackupQueued, message: QUEUED }
    : { status: 'False', reason: Reasons.BackupInProgress, message: COPYING };
  return { ...withReady(cur, generation, 'InProgress', ready, [], now), nextAttemptTime: undefined };
}

/** A run failed for a reason that may pass: InProgress, and when the next one starts. */
export function retryingStatus(cur: BackupStatus | undefined, generation: number, r: { reason: string; message: string; attempts: number; next: Date }, now: Date): BackupStatus {
  return {
    ...withReady(cur, generation, 'InProgress', { status: 'False', reason: r.reason, message: r.message }, [], now),
    attempts: r.attempts,
    nextAttemptTime: rfc3339(r.next),
  };
}

export interface Failure {
  reason: string;
  message: string;
  conditions?: ConditionInput[];
  failures?: ImageFailure[];
  progress?: Progress;
  location?: string;
}

/** No bundle was written for this spec. */
export function failedStatus(cur: BackupStatus | undefined, generation: number, f: Failure, now: Date): BackupStatus {
  return {
    ...withReady(cur, generation, 'Failed', { status: 'False', reason: f.reason, message: f.message }, f.conditions ?? [], now),
    completionTimestamp: rfc3339(now),
    attempts: undefined,
    nextAttemptTime: undefined,
    ...(f.failures && { failures: f.failures.length ? capFailures(f.failures) : undefined }),
    ...(f.progress && { progress: f.progress }),
    ...(f.location && { backupLocation: f.location }),
  };
}

export interface Finished {
  progress: Progress;
  failures: ImageFailure[];
  carried: ImageFailure[];
  bundleKey: string;
  location: string;
  contentHash: string;
}

export function finishedPhase(f: Pick<Finished, 'failures'>): ImageStreamsBackupPhase {
  return f.failures.length > 0 ? 'PartiallyFailed' : 'Completed';
}

/** The bundle is committed: Completed, or PartiallyFailed with the images it lacks. */
export function finishedStatus(cur: BackupStatus | undefined, generation: number, f: Finished, now: Date): BackupStatus {
  const p = f.progress;
  const phase = finishedPhase(f);
  const bytes = `${formatBytes(p.bytes.done)} uploaded, ${formatBytes(p.bytes.skipped)} already stored`;
  const carried = f.carried.length
    ? `; ${plural(f.carried.length, 'image')} could not be read again and ${f.carried.length === 1 ? 'was' : 'were'} kept from the previous bundle`
    : '';
  const message = phase === 'PartiallyFailed'
    ? `backed up ${p.images.done} of ${plural(p.images.total, 'image')} (${bytes}); ${p.images.failed} failed, see status.failures${carried}`
    : `backed up ${plural(p.images.done, 'image')} (${bytes})${carried}`;
  return {
    ...withReady(cur, generation, phase, { status: 'True', reason: phase === 'Completed' ? Reasons.Completed : Reasons.PartiallyFailed, message }, [], now),
    completionTimestamp: rfc3339(now),
    progress: p,
    failures: f.failures.length ? capFailures(f.failures) : undefined,
    bundle: f.bundleKey,
    backupLocation: f.location,
    contentHash: f.contentHash,
    carriedForward: f.carried.length || undefined,
    attempts: undefined,
    nextAttemptTime: undefined,
  };
}

/** The spec changed, but not what the bundle is made of (startBackup alone): no new run, the status follows the generation. */
export function unchangedContentStatus(cur: BackupStatus, generation: number): BackupStatus {
  const conditions = (cur.conditions ?? []).map((c) => ({ ...c, observedGeneration: generation }));
  return { ...cur, observedGeneration: generation, conditions };
}

/** Deleted, but its bundle cannot be deleted yet: the phase stays, Ready says why and how to let go. */
export function deletionBlockedStatus(cur: BackupStatus | undefined, generation: number, err: { reason: string; message: string }, now: Date): BackupStatus {
  return withReady(cur, generation, cur?.phase ?? 'WaitingForStart', { status: 'False', reason: Reasons.DeletionBlocked, message: err.message }, [
    { type: ConditionTypes.BackupLocationAvailable, status: 'False', reason: err.reason, message: err.message },
  ], now);
}
