// Condition types, reasons and event reasons of ImageStreamsRestore that controllers/conditions.ts
// (shared with the backup controller) does not have yet. They are API: users match on them.
// Kept here until they are merged into controllers/conditions.ts.

export const RestoreConditionTypes = {
  /** True once bundle.tar of the named backup was found in the location; False while it is not there. */
  BackupFound: 'BackupFound',
} as const;

export const RestoreReasons = {
  // Ready, while working (phase InProgress)
  RestoreInProgress: 'RestoreInProgress',
  RestoreQueued: 'RestoreQueued',
  // Ready while waiting, then at the end (phase Failed), and BackupFound
  BackupNotFound: 'BackupNotFound',
  BackupFound: 'BackupFound',
  // Ready, at the end
  Completed: 'Completed',
  PartiallyFailed: 'PartiallyFailed',
  /** Every image failed, or the restore could not run (the message says why). */
  RestoreFailed: 'RestoreFailed',
  /** spec.imageStreams names nothing that is in the backup. */
  NoMatchingImageStreams: 'NoMatchingImageStreams',
  /** The object has neither spelling of the backup reference (the CRD refuses this; old objects). */
  NoBackupName: 'NoBackupName',
} as const;

export const RestoreEventReasons = {
  RestoreStarted: 'RestoreStarted',
  /** Started again after a controller restart: what the registry holds is not pushed again. */
  RestoreResumed: 'RestoreResumed',
  RestoreCompleted: 'RestoreCompleted',
  RestorePartiallyFailed: 'RestorePartiallyFailed',
  RestoreFailed: 'RestoreFailed',
  RestoreRetrying: 'RestoreRetrying',
  BackupNotFound: 'BackupNotFound',
  BackupLocationUnavailable: 'BackupLocationUnavailable',
} as const;
