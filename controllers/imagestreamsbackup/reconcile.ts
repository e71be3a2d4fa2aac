// The ImageStreamsBackup's steps, for the shared life cycle (runtime/lifecycle.ts): from the
// object as the API server has it now, decide whether anything is to be done (a finished backup
// runs again only when what its bundle is made of changed), then the gates (startBackup, the
// Velero Backup), the location (resolved and checked with one request), the references, and the
// run, which copies beside the work queue. Every step is idempotent: after a crash the next
// reconcile starts the copy again and the data path skips the blobs already in the pool.
import { createHash } from 'node:crypto';
import type { ImageStreamsBackup, ImageStreamsBackupPhase } from '../../pkg/api/index.js';
import type { ImageFailure, Progress } from '../../pkg/contracts.js';
import { NothingBackedUpError } from '../../pkg/backup/runBackup.js';
import { ReconcileError, TransientImagesError, WaitingError, isLocationError } from '../../pkg/errors.js';
import type { VeleroBackup } from '../../pkg/k8s/velero.js';
import { INSECURE_LOCATION_WARNING, resolveLocation, skipsTlsVerification, type LocationDeps, type ResolvedLocation } from '../backupLocation.js';
import { ConditionTypes, EventReasons, Reasons, TERMINAL_PHASES } from '../conditions.js';
import type { TransportSettings } from '../config.js';
import type { RegistryFactory } from '../internalRegistry.js';
import { findCondition, type Condition, type ConditionInput } from '../runtime/conditions.js';
import { plural } from '../runtime/format.js';
import type { Event, Kind, Preparation, RunContext } from '../runtime/lifecycle.js';
import type { Logger } from '../runtime/logger.js';
import type { ControllerMetrics } from '../runtime/metrics.js';
import type { StatusClient } from '../runtime/status.js';
import { ThrottledWriter } from '../runtime/throttle.js';
import { ensureDefaults, type BackupSpec, type VeleroBackupRef } from './ensureDefaults.js';
import { initialProgress, withInvalid } from './progress.js';
import { resolveGates, type VeleroObservation } from './resolveGates.js';
import type { BackupOutcome, BackupRunner, LocationChecker } from './runBackup.js';
import {
  failedStatus, finishedStatus, locationWaitStatus, observedRunStatus, retryingStatus, startedStatus, unchangedContentStatus,
  waitingStatus, type BackupStatus,
} from './status.js';
import { validateReferences } from './validateReferences.js';

/** What a run hands back to be committed. */
export interface BackupRunResult {
  outcome: BackupOutcome;
  /** Images refused before the copy (bad references): part of the failures and counts. */
  invalid: ImageFailure[];
  total: number;
  location: string;
  contentHash: string;
}

export interface IsbDeps {
  isbs: StatusClient & { get(namespace: string, name: string): Promise<ImageStreamsBackup | undefined> };
  veleroBackups: { get(namespace: string, name: string): Promise<VeleroBackup | undefined> };
  locations: LocationDeps;
  runBackup: BackupRunner;
  checkLocation: LocationChecker;
  registry: RegistryFactory;
  internalRegistry: string;
  transport?: TransportSettings;
  progressIntervalMs: number;
  concurrency?: { images?: number; blobs?: number; bufferBytes?: number };
  /** Namespaces whose Velero Backups are watched; a reference elsewhere is polled. */
  watchedNamespaces: ReadonlySet<string>;
  /** Namespaces whose objects are trusted with the controller's own identity (admin namespaces). */
  trusted?: (namespace: string) => boolean;
  /** This cluster's identity (kube-system's uid), recorded in each bundle for the collector's orphan rule. */
  cluster?: string;
  /** The collector's fence (GC_FENCE_SECONDS), for a backup that commits while it runs. */
  gcFenceMs?: number;
  metrics?: ControllerMetrics;
  log: Logger;
}

/** A Velero Backup in a namespace nobody watches is polled this often. */
export const VELERO_POLL_MS = 30_000;
/** A location refused for a lasting reason (no bucket, bad credentials) is tried again this often, and on each BSL change. */
export const STALLED_LOCATION_RETRY_MS = 60_000;

/** A hash of what a bundle is made of: a spec change that leaves it equal does not run the backup again. */
export function contentHash(spec: BackupSpec): string {
  return `sha256:${createHash('sha256').update(canonical({ imageStreams: spec.imageStreams, backupLocation: spec.backupLocation ?? null })).digest('hex')}`;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function backupKind(deps: IsbDeps): Kind<ImageStreamsBackup, BackupStatus, BackupRunResult> {
  return {
    name: 'ImageStreamsBackup',
    events: { retrying: EventReasons.BackupRetrying, failed: EventReasons.BackupFailed, cancelled: EventReasons.BackupCancelled },
    prepare: (key, isb, now) => prepare(deps, key, isb, now),
    finished: (isb, run, now) => finished(isb, run, now),
    observed: (isb, generation, queued, now) => observedRunStatus(isb.status, generation, queued, now),
    retrying: (isb, r, now) => retryingStatus(isb.status, isb.metadata?.generation ?? 0, r, now),
    failed: (isb, f, now) => failedStatus(isb.status, isb.metadata?.generation ?? 0, {
      reason: f.reason, message: f.message,
      ...(f.error instanceof NothingBackedUpError && { failures: [...(isb.status?.failures ?? []), ...f.error.failures] }),
    }, now),
  };
}

async function prepare(deps: IsbDeps, key: string, isb: ImageStreamsBackup, now: Date): Promise<Preparation<BackupStatus, BackupRunResult>> {
  const spec = ensureDefaults(isb);
  const status = isb.status ?? {};
  const hash = contentHash(spec);
  const finishedPhase = TERMINAL_PHASES.has(status.phase ?? '');
  if (finishedPhase && status.observedGeneration === spec.generation) return { action: 'done' };
  // A finished backup runs again only when what its bundle is made of changed (not for startBackup alone).
  if (finishedPhase && status.contentHash === hash) return { action: 'write', status: unchangedContentStatus(status, spec.generation) };

  // The gates say when a backup may *start*; once it has started, a new spec or a restart of
  // the controller runs it again at once (the Velero Backup may be gone by then, by design).
  const started = status.startTimestamp !== undefined;
  const conditions: ConditionInput[] = [];
  const events: Event[] = [];
  if (!started) {
    const velero = spec.veleroBackup ? await observeVelero(deps, spec.veleroBackup) : undefined;
    const previous = findCondition(status.conditions as Condition[] | undefined, ConditionTypes.VeleroBackupItemsCollected);
    const gate = resolveGates(spec, velero, previous);
    if (gate.veleroCondition) conditions.push(gate.veleroCondition);
    if (gate.action === 'wait') {
      const polled = spec.veleroBackup && !deps.watchedNamespaces.has(spec.veleroBackup.namespace);
      return {
        action: 'write', status: waitingStatus(status, spec.generation, { status: 'False', reason: gate.reason, message: gate.message }, conditions, now),
        ...(polled && { requeueAfterMs: VELERO_POLL_MS }),
      };
    }
    if (gate.action === 'fail') {
      return {
        action: 'write', status: failedStatus(status, spec.generation, { reason: gate.reason, message: gate.message, conditions }, now),
        events: [{ type: 'Warning', reason: EventReasons.BackupFailed, message: gate.message, once: true }],
      };
    }
    if (gate.warning) events.push({ type: 'Warning', reason: EventReasons.VeleroBackupPartiallyFailed, message: gate.warning, once: true });
  }

  let location: ResolvedLocation;
  try {
    location = await resolveLocation(spec.namespace, spec.backupLocation, deps.locations, { purpose: 'backup', trusted: deps.trusted?.(spec.namespace) ?? true });
    await deps.checkLocation(location, deps.log.child({ isb: key }), deps.transport);
  } catch (err) {
    if (!(err instanceof ReconcileError)) throw err; // an API error: the queue retries with backoff
    const phase: ImageStreamsBackupPhase = started && status.phase === 'InProgress' ? 'InProgress' : 'WaitingForStart';
    return {
      action: 'write', status: locationWaitStatus(status, spec.generation, phase, err, conditions, now),
      events: [{ type: 'Warning', reason: EventReasons.BackupLocationUnavailable, message: err.message, once: true }],
      requeueAfterMs: err instanceof WaitingError ? err.retryAfterMs : isLocationError(err) && err.kind === 'Stalled' ? STALLED_LOCATION_RETRY_MS : 10_000,
    };
  }
  conditions.push({ type: ConditionTypes.BackupLocationAvailable, status: 'True', reason: Reasons.BackupLocationAvailable,
    message: `backup location ${location.name} answered${skipsTlsVerification(location) ? ' (TLS NOT verified: insecureSkipTLSVerify)' : ''}` });
  if (skipsTlsVerification(location)) events.push({ type: 'Warning', reason: EventReasons.InsecureBackupLocation, message: INSECURE_LOCATION_WARNING, once: true });

  const admin = deps.trusted?.(spec.namespace) ?? true;
  const refs = validateReferences(spec.imageStreams, deps.internalRegistry, admin ? undefined : spec.namespace);
  conditions.push(refs.failures.length === 0
    ? { type: ConditionTypes.ReferencesValid, status: 'True', reason: Reasons.AllReferencesValid, message: `${plural(refs.total, 'image reference')}, all valid` }
    : { type: ConditionTypes.ReferencesValid, status: 'False', reason: Reasons.InvalidReferences,
      message: `${refs.failures.length} of ${refs.total} image references are refused (see status.failures): ${refs.failures[0]!.message}` });
  const progress = initialProgress(refs.total, refs.failures.length);
  if (refs.total > 0 && refs.imageStreams.length === 0) {
    const message = `no image reference can be backed up: ${refs.failures[0]!.message}${refs.failures.length > 1 ? ` (and ${refs.failures.length - 1} more, see status.failures)` : ''}`;
    return {
      action: 'write',
      status: failedStatus(status, spec.generation, { reason: Reasons.NoValidReferences, message, conditions, failures: refs.failures, progress, location: location.name }, now),
      events: [{ type: 'Warning', reason: EventReasons.BackupFailed, message, once: true }],
    };
  }

  // The same spec again (a controller restart, or the next try after a failure that may pass): resumed.
  const resumed = status.phase === 'InProgress' && status.observedGeneration === spec.generation;
  const restarted = started && !resumed;
  const what = `${plural(refs.total, 'image')} to ${location.name === 'inline' ? 'the inline backup location' : `backup location ${location.name}`}`;
  if (restarted && status.phase === 'InProgress') {
    events.push({ type: 'Normal', reason: EventReasons.BackupRestarted, message: `the spec changed while the backup ran: backing up ${what} again; stored blobs are skipped` });
  } else if (resumed && !status.attempts) {
    events.push({ type: 'Normal', reason: EventReasons.BackupResumed, message: `resuming the backup of ${what}; blobs already stored are skipped` });
  } else if (!resumed) {
    events.push({ type: 'Normal', reason: EventReasons.BackupStarted, message: `backing up ${what}` });
  }
  const total = refs.total;
  const invalid = refs.failures;
  return {
    action: 'start',
    generation: spec.generation,
    status: startedStatus(status, spec.generation, { conditions, progress, failures: invalid, location: location.name, contentHash: hash, resumed }, now),
    events,
    run: (ctx) => run(deps, key, spec, location, refs.imageStreams, invalid, total, hash, ctx),
  };
}

async function run(
  deps: IsbDeps, key: string, spec: BackupSpec, location: ResolvedLocation, imageStreams: ReturnType<typeof validateReferences>['imageStreams'],
  invalid: ImageFailure[], total: number, hash: string, ctx: RunContext,
): Promise<BackupRunResult> {
  const log = deps.log.child({ isb: key, generation: spec.generation });
  let lastDone = 0;
  let lastSkipped = 0;
  const writer = new ThrottledWriter<Progress>(
    (p) => deps.isbs.patchStatus(spec.namespace, spec.name, { progress: p }).then(() => undefined),
    deps.progressIntervalMs, log);
  try {
    const outcome = await deps.runBackup({
      backup: { namespace: spec.namespace, name: spec.name, uid: spec.uid, deletionPolicy: spec.deletionPolicy, ...(deps.cluster && { cluster: deps.cluster }) },
      ...(deps.gcFenceMs !== undefined && { gcFenceMs: deps.gcFenceMs }),
      location, imageStreams, registry: deps.registry, signal: ctx.signal, log, finalAttempt: ctx.finalAttempt,
      ...(deps.transport && { transport: deps.transport }),
      ...(deps.concurrency && { concurrency: deps.concurrency }),
      onProgress: (p) => {
        deps.metrics?.bytesUploaded.inc(Math.max(0, p.bytes.done - lastDone));
        deps.metrics?.bytesSkipped.inc(Math.max(0, p.bytes.skipped - lastSkipped));
        lastDone = p.bytes.done;
        lastSkipped = p.bytes.skipped;
        writer.update(withInvalid(p, invalid.length, total));
      },
    });
    return { outcome, invalid, total, location: location.name, contentHash: hash };
  } catch (err) {
    if (!ctx.signal.aborted) log.warn('backup run failed', { error: err });
    // The status keeps the progress of a run that will be tried again.
    if (err instanceof TransientImagesError) writer.update(withInvalid(err.progress as Progress, invalid.length, total));
    throw err;
  } finally {
    await writer.close();
  }
}

function finished(isb: ImageStreamsBackup, run: { generation: number; result: BackupRunResult }, now: Date): { status: BackupStatus; events?: Event[] } | 'again' {
  const generation = isb.metadata?.generation ?? 0;
  const r = run.result;
  // The spec changed while the copy ran: its work is not wasted (the blobs are in the pool),
  // but the bundle must describe the new spec, so back up again at once; unless only
  // something else changed (startBackup), which the bundle does not depend on.
  if (generation !== run.generation && contentHash(ensureDefaults(isb)) !== r.contentHash) return 'again';
  const failures = [...r.invalid, ...r.outcome.failures];
  const progress = withInvalid(r.outcome.progress, r.invalid.length, r.total);
  const status = finishedStatus(isb.status, generation, {
    progress, failures, carried: r.outcome.carried, bundleKey: r.outcome.bundleKey, location: r.location, contentHash: r.contentHash,
  }, now);
  const events: Event[] = [{
    type: status.phase === 'Completed' ? 'Normal' : 'Warning',
    reason: status.phase === 'Completed' ? EventReasons.BackupCompleted : EventReasons.BackupPartiallyFailed,
    message: status.message ?? '', once: true,
  }];
  if (r.outcome.carried.length) {
    const first = r.outcome.carried[0]!;
    events.push({ type: 'Warning', reason: EventReasons.ImagesCarriedForward, message: `${plural(r.outcome.carried.length, 'image')} could not be read again `
      + `(first: ${first.imageStream} ${first.reference}: ${first.message}) and ${r.outcome.carried.length === 1 ? 'is' : 'are'} kept from the previous bundle` });
  }
  return { status, events };
}

async function observeVelero(deps: IsbDeps, ref: VeleroBackupRef): Promise<VeleroObservation> {
  const vb = await deps.veleroBackups.get(ref.namespace, ref.name);
  return vb ? { found: true, phase: vb.status?.phase ?? '' } : { found: false };
}
