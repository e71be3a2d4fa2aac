// Has Velero deleted the backup that an ImageStreamsBackup made by the Velero plugin belongs to?
//
// The signal: BOTH the Velero Backup object is gone (a live GET answers 404) AND Velero's own
// record of the backup, `<prefix>/backups/<name>/velero-backup.json`, is definitely absent from
// the ISB's backup location. Why both:
// - The Backup object alone is not the backup: `kubectl delete backup` (or a namespace wiped and
//   rebuilt) removes only the object, Velero keeps the data, and its BSL sync brings the object
//   back from velero-backup.json. Such an ISB must stay.
// - `velero backup delete` and a TTL expiry both go through a DeleteBackupRequest, which deletes
//   the backup's files from the BSL (velero-backup.json among them) and then the Backup object.
//   A DeleteItemAction plugin would be told only when Velero can download the backup's tarball,
//   and a DeleteBackupRequest is processed before the files go: neither is a safe signal alone,
//   so they only make the controller look again (controller.ts).
// A hand-written ISB (without the plugin's label and veleroBackupReference) keeps its own
// lifetime. Nothing is deleted while unsure: a location that cannot be resolved or read, or
// that is ReadOnly (Velero refuses to delete backups through a ReadOnly BSL, so a record absent
// there was never deleted by Velero), keeps the ISB, and the check runs again later.
import type { ImageStreamsBackup } from '../../pkg/api/index.js';
import { ReconcileError } from '../../pkg/errors.js';
import { LABEL_BACKUP_NAME, validLabelValue } from '../../pkg/k8s/veleroLabels.js';
import { resolveLocation, type LocationDeps, type ResolvedLocation } from '../backupLocation.js';

/** Why an ISB stays; the metric's `result` label and the log say it. */
export type KeepReason =
  | 'HandWritten' | 'BeingDeleted' | 'VeleroBackupExists' | 'VeleroBackupDataRemains'
  | 'LocationUnavailable' | 'LocationReadOnly' | 'BackupStorageUnreadable';

export interface VeleroBackupName {
  namespace: string;
  name: string;
}

export type Check =
  /** `unsure`: the answer may change without any event (the location comes back): look again soon. */
  | { action: 'keep'; reason: KeepReason; message: string; unsure?: boolean }
  | { action: 'delete'; backup: VeleroBackupName; location: string; message: string };

export interface CheckDeps {
  /** Whether the Velero Backup exists: true from a cache is enough; false only from a live GET (404). */
  veleroBackupExists(namespace: string, name: string): Promise<boolean>;
  locations: LocationDeps;
  /** Objects in admin namespaces may use a location without a credential (the controller's own identity). */
  trusted(namespace: string): boolean;
  /** Whether velero-backup.json is in the location; throws (a ReconcileError) when the store cannot tell. */
  veleroMetadataExists(location: ResolvedLocation, backupName: string): Promise<boolean>;
}

/** The Velero backup a plugin-made ISB belongs to; undefined for a hand-written one. */
export function veleroBackupOf(isb: ImageStreamsBackup): VeleroBackupName | undefined {
  const ref = isb.spec?.veleroBackupReference;
  const label = isb.metadata?.labels?.[LABEL_BACKUP_NAME];
  // The plugin sets both, the label to Velero's form of the same name; anything else was written by hand.
  if (!ref?.name || !label || label !== validLabelValue(ref.name)) return undefined;
  return { namespace: ref.namespace || (isb.metadata?.namespace ?? ''), name: ref.name };
}

export async function checkVeleroBackup(isb: ImageStreamsBackup, deps: CheckDeps): Promise<Check> {
  const backup = veleroBackupOf(isb);
  if (!backup) {
    return keep('HandWritten', `not made by the Velero plugin (it needs both the ${LABEL_BACKUP_NAME} label and spec.veleroBackupReference): it keeps its own lifetime`);
  }
  const shown = `Velero backup ${backup.namespace}/${backup.name}`;
  if (isb.metadata?.deletionTimestamp) return keep('BeingDeleted', 'the ImageStreamsBackup is being deleted already');

  if (await deps.veleroBackupExists(backup.namespace, backup.name)) return keep('VeleroBackupExists', `${shown} exists`);

  const namespace = isb.metadata?.namespace ?? '';
  let location: ResolvedLocation;
  try {
    location = await resolveLocation(namespace, isb.spec?.backupLocation, deps.locations, { purpose: 'restore', trusted: deps.trusted(namespace) });
  } catch (err) {
    if (!(err instanceof ReconcileError)) throw err; // an API error: the queue retries with backoff
    return keep('LocationUnavailable', `the Backup object of ${shown} is gone, and its backup location cannot be used to tell whether Velero deleted its data: ${err.message}`, true);
  }
  const where = location.name === 'inline' ? 'the inline backup location' : `backup location ${location.name}`;
  if (location.readOnly) {
    return keep('LocationReadOnly', `the Backup object of ${shown} is gone, but ${where} is ReadOnly: Velero deletes no backup through it, so its data was not deleted`);
  }

  let present: boolean;
  try {
    present = await deps.veleroMetadataExists(location, backup.name);
  } catch (err) {
    if (!(err instanceof ReconcileError)) throw err;
    return keep('BackupStorageUnreadable', `the Backup object of ${shown} is gone, and ${where} could not be read to tell whether Velero deleted its data: ${err.message}`, true);
  }
  if (present) {
    return keep('VeleroBackupDataRemains', `only the Backup object of ${shown} is gone: its velero-backup.json is still in ${where}, and Velero's sync brings the Backup back`);
  }
  return {
    action: 'delete', backup, location: location.name,
    message: `Velero deleted backup ${backup.namespace}/${backup.name} (its Backup object is gone and its velero-backup.json is no longer in ${where}): deleting this ImageStreamsBackup`,
  };
}

function keep(reason: KeepReason, message: string, unsure = false): Check {
  return { action: 'keep', reason, message, ...(unsure && { unsure }) };
}
