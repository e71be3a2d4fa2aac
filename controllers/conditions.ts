// Condition types and reasons of both resources, in one place: they are API (users and the
// Velero plugin match on them), so they are named once and documented here.

export const ConditionTypes = {
  /** True once the work is finished (Completed or PartiallyFailed); False, with a reason, before. */
  Ready: 'Ready',
  /** Only with spec.veleroBackupReference: whether that Velero Backup has completed; the reason is its phase. */
  VeleroBackupCompleted: 'VeleroBackupCompleted',
  /** The backup location resolved, its credentials read, and its bucket answered. */
  BackupLocationAvailable: 'BackupLocationAvailable',
  /** Every image reference is by digest and points at the internal registry. */
  ReferencesValid: 'ReferencesValid',
} as const;

export const Reasons = {
  // Ready, while held (phase WaitingForStart)
  StartBackupFalse: 'StartBackupFalse',
  WaitingForVeleroBackup: 'WaitingForVeleroBackup',
  // Ready, while copying (phase InProgress)
  BackupQueued: 'BackupQueued',
  BackupInProgress: 'BackupInProgress',
  // Ready, at the end
  Completed: 'Completed',
  PartiallyFailed: 'PartiallyFailed',
  VeleroBackupFailed: 'VeleroBackupFailed',
  VeleroBackupNotFound: 'VeleroBackupNotFound',
  NoValidReferences: 'NoValidReferences',
  BackupFailed: 'BackupFailed',
  // BackupLocationAvailable (and Ready while the location cannot be used)
  BackupLocationNotFound: 'BackupLocationNotFound',
  NoDefaultBackupLocation: 'NoDefaultBackupLocation',
  MultipleDefaultBackupLocations: 'MultipleDefaultBackupLocations',
  BackupLocationReadOnly: 'BackupLocationReadOnly',
  CredentialSecretNotFound: 'CredentialSecretNotFound',
  CredentialKeyNotFound: 'CredentialKeyNotFound',
  BackupLocationAvailable: 'BackupLocationAvailable',
  // ReferencesValid
  AllReferencesValid: 'AllReferencesValid',
  InvalidReferences: 'InvalidReferences',
  // Used for Unknown before anything was observed
  NotChecked: 'NotChecked',
} as const;

/** VeleroBackupCompleted's reason while that Backup has never been seen; once seen, the reason is its phase. */
export const VeleroBackupNeverSeen = 'NotFound';
/** VeleroBackupCompleted's reason once a Backup that was seen is gone. */
export const VeleroBackupDeleted = 'Deleted';

/** Event reasons. */
export const EventReasons = {
  BackupStarted: 'BackupStarted',
  BackupResumed: 'BackupResumed',
  BackupRestarted: 'BackupRestarted',
  BackupCompleted: 'BackupCompleted',
  BackupPartiallyFailed: 'BackupPartiallyFailed',
  BackupFailed: 'BackupFailed',
  BackupRetrying: 'BackupRetrying',
  BackupLocationUnavailable: 'BackupLocationUnavailable',
  VeleroBackupPartiallyFailed: 'VeleroBackupPartiallyFailed',
} as const;
