// The parts of Velero's velero.io/v1 resources the controllers read.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { VeleroLocationSpec } from '../api/index.js';
import type { ResourceRef } from './customResources.js';

export const VeleroBackups: ResourceRef = { group: 'velero.io', version: 'v1', plural: 'backups' };
export const VeleroBackupStorageLocations: ResourceRef = { group: 'velero.io', version: 'v1', plural: 'backupstoragelocations' };
export const VeleroDeleteBackupRequests: ResourceRef = { group: 'velero.io', version: 'v1', plural: 'deletebackuprequests' };

export interface VeleroBackup extends KubernetesObject {
  spec?: { storageLocation?: string };
  /** New, Queued, InProgress, WaitingForPluginOperations..., Finalizing..., Completed, PartiallyFailed, Failed, FailedValidation, Deleting. */
  status?: { phase?: string };
}

export interface BackupStorageLocation extends KubernetesObject {
  spec?: VeleroLocationSpec;
  status?: { phase?: string };
}

/** What `velero backup delete` (and Velero's TTL collector) creates; Velero deletes it once the backup is gone. */
export interface DeleteBackupRequest extends KubernetesObject {
  spec?: { backupName?: string };
  /** New, InProgress, Processed (with errors when the deletion did not finish). */
  status?: { phase?: string; errors?: string[] };
}
