// When may the backup start? startBackup, and with veleroBackupReference the phase of that
// Velero Backup, decide (the README has the table). A Velero Backup may be waited for only
// until it has collected its items: the product's Velero plugin makes it wait for the images
// (WaitingForPluginOperations) and complete after them. A pure function: the caller fetches
// the Velero Backup and applies the decision.
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

/** Velero has collected every item: what its plugins append to the ISB is all there. */
export function itemsCollected(phase: string): boolean {
  return phase === 'Completed' || phase === 'PartiallyFailed' || phase.startsWith('WaitingForPluginOperations') || phase.startsWith('Finalizing');
}

/** Velero could not back up some items (their ImageStreams may be among them). */
function partiallyFailed(phase: string): boolean {
  return phase.endsWith('PartiallyFailed');
}

export function resolveGates(spec: BackupSpec, velero: VeleroObservation | undefined, previous?: Condition): GateDecision {
  const ref = spec.veleroBackup;
  if (!ref) {
    return spec.startBackup
      ? { action: 'start' }
      : { action: 'wait', reason: Reasons.StartBackupFalse, message: 'spec.startBackup is false: set it to true to start the backup' };
  }
  const shown = `Velero Backup ${ref.namespace}/${ref.name}`;
  const condition = (status: ConditionInput['status'], reason: string, message: string): ConditionInput =>
    ({ type: ConditionTypes.VeleroBackupItemsCollected, status, reason, message, observedGeneration: spec.generation });

  if (!velero?.found) {
    // Seen before and now gone: deleted. Never seen: it may not have been created yet.
    const seen = previous !== undefined && previous.reason !== VeleroBackupNeverSeen;
    if (seen) {
      const message = `${shown} was deleted before it collected its items`;
      return { action: 'fail', reason: Reasons.VeleroBackupNotFound, message, veleroCondition: condition('False', VeleroBackupDeleted, message) };
    }
    const message = `${shown} does not exist (yet); the backup starts once it exists and has collected its items`;
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
  if (!itemsCollected(phase)) {
    const message = `waiting for ${shown} to collect its items (phase ${phase})`;
    return { action: 'wait', reason: Reasons.WaitingForVeleroBackup, message, veleroCondition: condition('False', phase, message) };
  }

  const done = condition('True', phase, `${shown} has collected its items (phase ${phase})`);
  if (!spec.startBackup && !ref.startOnCompletion) {
    return {
      action: 'wait', reason: Reasons.StartBackupFalse, veleroCondition: done,
      message: `${shown} has collected its items (phase ${phase}), but spec.startBackup is false and startOnCompletion is not set: set either to start`,
    };
  }
  return partiallyFailed(phase)
    ? { action: 'start', veleroCondition: done, warning: `${shown} is ${phase}: the resources it could back up were, so the images of those ImageStreams are backed up too` }
    : { action: 'start', veleroCondition: done };
}
