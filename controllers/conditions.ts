// Condition types, condition reasons and event reasons of both resources (ImageStreamsBackup
// and ImageStreamsRestore), in one place: they are API (users and the Velero plugin match on
// them), so they are named once and documented here.

/** Phases in which an object's work for its generation is over (both kinds). */
export const TERMINAL_PHASES: ReadonlySet<string> = new Set(['Completed', 'PartiallyFailed', 'Failed']);

export const ConditionTypes = {
  /** True once the work is finished (Completed or PartiallyFailed); False, with a reason, before. */
  Ready: 'Ready',
  /** Only with spec.veleroBackupReference: whether that Velero Backup has collected its items (the backup may start); the reason is its phase. */
  VeleroBackupItemsCollected: 'VeleroBackupItemsCollected',
  /** The backup location resolved, its credentials read, and its bucket answered. */
  BackupLocationAvailable: 'BackupLocationAvailable',
  /** Every image reference is by digest and points at the internal registry. */
  ReferencesValid: 'ReferencesValid',
  /** ImageStreamsRestore only: True once bundle.tar of the named backup was found in the location; False while it is not there. */
  BackupFound: 'BackupFound',
} as const;

export const Reasons = {
  // Ready of a backup, while held (phase WaitingForStart)
  StartBackupFalse: 'StartBackupFalse',
  WaitingForVeleroBackup: 'WaitingForVeleroBackup',
  // Ready of a backup, while copying (phase InProgress)
  BackupQueued: 'BackupQueued',
  // Ready of a deleted backup whose bundle cannot be deleted yet (the finalizer holds it)
  DeletionBlocked: 'DeletionBlocked',
  BackupInProgress: 'BackupInProgress',
  // Ready of a restore, while pushing (phase InProgress)
  RestoreQueued: 'RestoreQueued',
  RestoreInProgress: 'RestoreInProgress',
  // Ready of a restore with spec.verifyOnly, while it reads (phase InProgress)
  VerifyQueued: 'VerifyQueued',
  VerifyInProgress: 'VerifyInProgress',
  // Ready, at the end (both kinds)
  Completed: 'Completed',
  PartiallyFailed: 'PartiallyFailed',
  // Ready, at the end of a backup
  VeleroBackupFailed: 'VeleroBackupFailed',
  VeleroBackupNotFound: 'VeleroBackupNotFound',
  NoValidReferences: 'NoValidReferences',
  BackupFailed: 'BackupFailed',
  // Ready, at the end of a restore
  /** Every image failed, or the restore could not run (the message says why). */
  RestoreFailed: 'RestoreFailed',
  /** spec.verifyOnly found blobs missing, of the wrong size or hashing to another digest, or a bundle that is not valid (phase Failed). */
  BackupCorrupt: 'BackupCorrupt',
  /** spec.imageStreams names nothing that is in the backup. */
  NoMatchingImageStreams: 'NoMatchingImageStreams',
  /** The object has neither spelling of the backup reference (the CRD refuses this; old objects). */
  NoBackupName: 'NoBackupName',
  // BackupFound, and Ready of a restore while it waits for the backup (then at the end, phase Failed)
  BackupNotFound: 'BackupNotFound',
  BackupFound: 'BackupFound',
  // BackupLocationAvailable (and Ready while the location cannot be used)
  BackupLocationNotFound: 'BackupLocationNotFound',
  NoDefaultBackupLocation: 'NoDefaultBackupLocation',
  MultipleDefaultBackupLocations: 'MultipleDefaultBackupLocations',
  BackupLocationReadOnly: 'BackupLocationReadOnly',
  CredentialSecretNotFound: 'CredentialSecretNotFound',
  CredentialKeyNotFound: 'CredentialKeyNotFound',
  /** A location without a credential would use the controller's own identity: not for objects outside the admin namespaces. */
  CredentialRequired: 'CredentialRequired',
  BackupLocationAvailable: 'BackupLocationAvailable',
  // ReferencesValid
  AllReferencesValid: 'AllReferencesValid',
  InvalidReferences: 'InvalidReferences',
  // Ready of either kind once the cancel annotation stopped it (phase Failed)
  Cancelled: 'Cancelled',
  // Used for Unknown before anything was observed
  NotChecked: 'NotChecked',
} as const;

/** VeleroBackupItemsCollected's reason while that Backup has never been seen; once seen, the reason is its phase. */
export const VeleroBackupNeverSeen = 'NotFound';
/** VeleroBackupItemsCollected's reason once a Backup that was seen is gone. */
export const VeleroBackupDeleted = 'Deleted';

/** Event reasons. */
export const EventReasons = {
  // ImageStreamsBackup
  BackupStarted: 'BackupStarted',
  BackupResumed: 'BackupResumed',
  BackupRestarted: 'BackupRestarted',
  BackupCompleted: 'BackupCompleted',
  BackupPartiallyFailed: 'BackupPartiallyFailed',
  BackupFailed: 'BackupFailed',
  BackupRetrying: 'BackupRetrying',
  /** The cancel annotation stopped the backup (the Velero plugin sets it at Velero's item operation timeout). */
  BackupCancelled: 'BackupCancelled',
  /** A re-run could not read images again: they are kept from the bundle committed before. */
  ImagesCarriedForward: 'ImagesCarriedForward',
  VeleroBackupPartiallyFailed: 'VeleroBackupPartiallyFailed',
  /** Velero deleted the backup a plugin-made ISB belongs to: the controller deletes the ISB (controllers/veleroBackups/). */
  VeleroBackupDeleted: 'VeleroBackupDeleted',
  /** The ISB was deleted and so was its bundle.tar; the collector frees its layers later. */
  BundleDeleted: 'BundleDeleted',
  /** The ISB was deleted, its data stays (deletionPolicy Retain, a ReadOnly location, or its namespace went with its location). */
  BundleRetained: 'BundleRetained',
  /** The bundle under the deleted ISB's name belongs to another ISB (uid): left alone. */
  BundleNotOwned: 'BundleNotOwned',
  /** The deleted ISB's bundle cannot be deleted yet (its location cannot be used): the finalizer holds the object. */
  BundleDeletionBlocked: 'BundleDeletionBlocked',
  // ImageStreamsRestore
  RestoreStarted: 'RestoreStarted',
  /** Started again after a controller restart: what the registry holds is not pushed again. */
  RestoreResumed: 'RestoreResumed',
  RestoreCompleted: 'RestoreCompleted',
  RestorePartiallyFailed: 'RestorePartiallyFailed',
  RestoreFailed: 'RestoreFailed',
  RestoreRetrying: 'RestoreRetrying',
  RestoreCancelled: 'RestoreCancelled',
  BackupNotFound: 'BackupNotFound',
  // ImageStreamsRestore with spec.verifyOnly
  VerifyStarted: 'VerifyStarted',
  /** Every blob read is intact. */
  VerifyCompleted: 'VerifyCompleted',
  /** What was read is intact, but some of spec.imageStreams names nothing in the backup. */
  VerifyPartiallyFailed: 'VerifyPartiallyFailed',
  /** Damaged blobs, named in the message as far as it holds them (the controller's log has all). */
  BackupCorrupt: 'BackupCorrupt',
  // Both kinds
  BackupLocationUnavailable: 'BackupLocationUnavailable',
  /** The location turns TLS verification off (insecureSkipTLSVerify). */
  InsecureBackupLocation: 'InsecureBackupLocation',
} as const;
