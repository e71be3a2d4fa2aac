// When may the backup start? startBackup, and with veleroBackupReference the phase of that
// Velero Backup, decide (see README.md in this folder for the table). A pure function: the
// caller fetches the Velero Backup and applies the decision.
import { Reasons, VeleroBackupDeleted, VeleroBackupNeverSeen, ConditionTypes } from '../conditions.js';
import type { Condition, ConditionInput } from '../runtime/conditions.js';
import type { BackupSpec } from './ensureDefaults.js';

/** What the controller saw of the Velero Backup: absent, or its status.phase ('' when it has none yet). */
export type VeleroObservation = { found: false } | { found: true; phase: string };

export type GateDecision =
  | { action: 'start'; veleroCondition?: ConditionInput; /** Said in an event: the Velero Backup partially failed. */ warning?: string }
  | { action: 'wait'; reason: string; message: string; veleroCondition?: ConditionInput }
  | { action: 'fail'; reason: string; message: string; veleroCondition?: ConditionInput };

const FAILED = new Set(['Failed', 'FailedValidation']);
const SUCCEEDED = new Set(['Completed', 'PartiallyFailed']);

export function resolveGates(spec: BackupSpec, velero: VeleroObservation | undefined, previous?: Condition): GateDecision {
  const ref = spec.veleroBackup;
  if (!ref) {
    return spec.startBackup
      ? { action: 'start' }
      : { action: 'wait', reason: Reasons.StartBackupFalse, message: 'spec.startBackup is false: set it to true to start the backup' };
  }
  const shown = `Velero Backup ${ref.namespace}/${ref.name}`;
  const condition = (status: ConditionInput['status'], reason: string, message: string): ConditionInput =>
    ({ type: ConditionTypes.VeleroBackupCompleted, status, reason, message, observedGeneration: spec.generation });

  if (!velero?.found) {
    // Seen before and now gone: deleted. Never seen: it may not have been created yet.
    const seen = previous !== undefined && previous.reason !== VeleroBackupNeverSeen;
    if (seen) {
      const message = `${shown} was deleted before it completed`;
      return { action: 'fail', reason: Reasons.VeleroBackupNotFound, message, veleroCondition: condition('False', VeleroBackupDeleted, message) };
    }
    const message = `${shown} does not exist (yet); the backup starts once it exists and has completed`;
    return { action: 'wait', reason: Reasons.WaitingForVeleroBackup, message, veleroCondition: condition('Unknown', VeleroBackupNeverSeen, message) };
  }

  const phase = velero.phase || 'New';
  if (phase === 'Deleting') {
    const message = `${shown} is being deleted`;
    return { action: 'fail', reason: Reasons.VeleroBackupNotFound, message, veleroCondition: condition('False', phase, message) };
  }
  if (FAILED.has(phase)) {
    const message = `${shown} ended ${phase}; its images are not backed up`;
    return { action: 'fail', reason: Reasons.VeleroBackupFailed, message, veleroCondition: condition('False', phase, message) };
  }
  if (!SUCCEEDED.has(phase)) {
    const message = `waiting for ${shown} to complete (phase ${phase})`;
    return { action: 'wait', reason: Reasons.WaitingForVeleroBackup, message, veleroCondition: condition('False', phase, message) };
  }

  const done = condition('True', phase, `${shown} is ${phase}`);
  if (!spec.startBackup && !ref.startOnCompletion) {
    return {
      action: 'wait', reason: Reasons.StartBackupFalse, veleroCondition: done,
      message: `${shown} is ${phase}, but spec.startBackup is false and startOnCompletion is not set: set either to start`,
    };
  }
  return phase === 'PartiallyFailed'
    ? { action: 'start', veleroCondition: done, warning: `${shown} is PartiallyFailed: its resources that could be backed up were, so its images are backed up too` }
    : { action: 'start', veleroCondition: done };
}
