// Where the backup is: the same lookup as the backup controller's (inline spec, BSL by name,
// or the namespace's default BSL, and the credential Secret), reused as is. One difference: a
// restore only reads, so a ReadOnly location (the usual way to restore on another cluster) is
// fine. The access mode is hidden from the shared lookup, which refuses ReadOnly for backups.
import type { BackupLocation, VeleroLocationSpec } from '../../pkg/api/index.js';
import type { BackupStorageLocation } from '../../pkg/k8s/velero.js';
import { resolveLocation as resolveBackupLocation, type LocationDeps, type ResolvedLocation } from '../imagestreamsbackup/resolveLocation.js';

export type { LocationDeps, ResolvedLocation };

export function resolveLocation(namespace: string, spec: BackupLocation | undefined, deps: LocationDeps): Promise<ResolvedLocation> {
  const readable: LocationDeps = {
    getLocation: async (ns, name) => readOnlyAllowed(await deps.getLocation(ns, name)),
    listLocations: async (ns) => (await deps.listLocations(ns)).map((b) => readOnlyAllowed(b)!),
    readSecretKey: (ns, name, key) => deps.readSecretKey(ns, name, key),
  };
  const inline = spec?.velero ? { ...spec, velero: withoutAccessMode(spec.velero) } : spec;
  return resolveBackupLocation(namespace, inline, readable);
}

function readOnlyAllowed(bsl: BackupStorageLocation | undefined): BackupStorageLocation | undefined {
  return bsl?.spec ? { ...bsl, spec: withoutAccessMode(bsl.spec) } : bsl;
}

function withoutAccessMode(spec: VeleroLocationSpec): VeleroLocationSpec {
  const { accessMode: _ignored, ...rest } = spec;
  return rest;
}
