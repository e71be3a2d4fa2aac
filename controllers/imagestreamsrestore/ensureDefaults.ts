// The restore's spec with its defaults applied and its two spellings of the backup reference
// folded into one, so later steps need not know which fields are optional.
import type { BackupLocation, ImageStreamSelector, ImageStreamsRestore } from '../../pkg/api/index.js';

export interface RestoreSpec {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  /** metadata.creationTimestamp: the missing-bundle deadline counts from it, so it survives restarts. */
  createdAt: Date;
  /** '' when neither spelling names a backup (the CRD refuses that; older objects may not). */
  backupName: string;
  backupLocation?: BackupLocation;
  imageStreams: ImageStreamSelector[];
  namespaceMapping: Record<string, string>;
  /** Check the backup instead of restoring it (nothing goes to the registry). */
  verifyOnly: boolean;
}

export function ensureDefaults(isr: ImageStreamsRestore, now: Date = new Date()): RestoreSpec {
  const meta = isr.metadata ?? {};
  const spec = isr.spec ?? {};
  const created = meta.creationTimestamp ? new Date(meta.creationTimestamp) : now;
  return {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    generation: meta.generation ?? 0,
    createdAt: Number.isNaN(created.getTime()) ? now : created,
    backupName: spec.imageStreamsBackupReference?.name || spec.ImageStreamsBackupReference?.name || '',
    ...(spec.backupLocation && { backupLocation: spec.backupLocation }),
    imageStreams: spec.imageStreams ?? [],
    namespaceMapping: spec.namespaceMapping ?? {},
    verifyOnly: spec.verifyOnly === true,
  };
}
