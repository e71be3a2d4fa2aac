// Velero's labels on the ImageStreamsBackup its plugin makes, shared by the plugin (which sets
// them) and the controller (which recognises a plugin-made ISB by them).
//
// Label values as Velero writes them for names that may be longer than a label value allows:
// up to 63 characters as they are; longer ones cut to 57 and followed by the first 6 hex digits
// of their SHA-256 (Velero's label.GetValidName), so that `velero.io/backup-name=<value>`
// selects what Velero itself labels for that backup.
import { createHash } from 'node:crypto';

export const LABEL_BACKUP_NAME = 'velero.io/backup-name';
export const LABEL_BACKUP_UID = 'velero.io/backup-uid';
/** Velero leaves objects with this label out of its backups: a restored ISB would try to run again. */
export const LABEL_EXCLUDE_FROM_BACKUP = 'velero.io/exclude-from-backup';

const MAX_LABEL_VALUE = 63;
const HASH_CHARS = 6;

export function validLabelValue(name: string): string {
  if (name.length <= MAX_LABEL_VALUE) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_CHARS);
  return name.slice(0, MAX_LABEL_VALUE - HASH_CHARS) + hash;
}
