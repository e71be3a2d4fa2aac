// The spec with its defaults applied, so later steps need not know which fields are optional.
// The API server applies the CRD's defaults too; this covers objects created before them.
import type { BackupLocation, ImageStreamEntry, ImageStreamsBackup } from '../../pkg/api/index.js';

export interface VeleroBackupRef {
  namespace: string;
  name: string;
  startOnCompletion: boolean;
}

export interface BackupSpec {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  startBackup: boolean;
  deletionPolicy: 'Delete' | 'Retain';
  veleroBackup?: VeleroBackupRef;
  backupLocation?: BackupLocation;
  imageStreams: ImageStreamEntry[];
}

export function ensureDefaults(isb: ImageStreamsBackup): BackupSpec {
  const meta = isb.metadata ?? {};
  const namespace = meta.namespace ?? '';
  const spec = isb.spec ?? {};
  const ref = spec.veleroBackupReference;
  return {
    namespace,
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    generation: meta.generation ?? 0,
    startBackup: spec.startBackup === true,
    deletionPolicy: spec.deletionPolicy === 'Retain' ? 'Retain' : 'Delete',
    ...(ref && {
      veleroBackup: { namespace: ref.namespace || namespace, name: ref.name, startOnCompletion: ref.startOnCompletion === true },
    }),
    ...(spec.backupLocation && { backupLocation: spec.backupLocation }),
    imageStreams: spec.imageStreams ?? [],
  };
}
