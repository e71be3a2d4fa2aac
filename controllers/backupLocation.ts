// Where a backup goes, or a restore reads from: the inline spec.backupLocation.velero, else the
// BackupStorageLocation named by spec.backupLocation.name, else the namespace's default BSL (as
// Velero picks it). The credential Secret is read from the resource's namespace. What is
// missing is a WaitingError naming it: creating it (or fixing the BSL) lets the work go on.
import type { BackupLocation, VeleroLocationSpec } from '../pkg/api/index.js';
import type { LocationSpec } from '../pkg/contracts.js';
import { StalledError, WaitingError } from '../pkg/errors.js';
import type { BackupStorageLocation } from '../pkg/k8s/velero.js';
import type { SecretKeyLookup } from '../pkg/k8s/secrets.js';
import { Reasons } from './conditions.js';

export interface LocationDeps {
  getLocation(namespace: string, name: string): Promise<BackupStorageLocation | undefined>;
  listLocations(namespace: string): Promise<readonly BackupStorageLocation[]>;
  readSecretKey(namespace: string, name: string, key: string): Promise<SecretKeyLookup>;
}

export interface ResolvedLocation {
  /** The BSL's name, or "inline". */
  name: string;
  location: LocationSpec;
  /** The credential Secret key's content (a credentials file); absent: the controller's own credentials. */
  credentials?: string;
  /** The object is in an admin namespace: its credentials may use the controller's own identity (web identity). */
  trusted?: boolean;
  /** The BSL is ReadOnly: nothing is written to it or deleted from it (no lease, no collection). */
  readOnly?: boolean;
}

/** A missing BSL or Secret is looked for again on this period (and at once when a BSL changes). */
export const LOCATION_RETRY_MS = 10_000;

/** A backup writes to the location; a restore only reads, so a ReadOnly location is fine for it. */
export type LocationPurpose = 'backup' | 'restore';

/**
 * `trusted`: the object is in an admin namespace. Otherwise it may not use a location without a
 * credential, which would be the controller's own identity (a confused deputy).
 */
export async function resolveLocation(
  namespace: string, spec: BackupLocation | undefined, deps: LocationDeps, opts: { purpose: LocationPurpose; trusted?: boolean },
): Promise<ResolvedLocation> {
  const { name, velero } = await pick(namespace, spec, deps);
  const trusted = opts.trusted ?? true;
  if (opts.purpose === 'backup' && velero.accessMode === 'ReadOnly') {
    throw new StalledError(Reasons.BackupLocationReadOnly,
      `backup location ${describe(name)} is ReadOnly: a backup needs a ReadWrite location`, { scope: 'location' });
  }
  if (!velero.credential && !trusted) {
    throw new StalledError(Reasons.CredentialRequired,
      `backup location ${describe(name)} names no credential, so it would use the controller's own identity: in namespace ${namespace}, `
      + 'which is not an admin namespace (ADMIN_NAMESPACES), a backup location must name a credential Secret', { scope: 'location' });
  }
  const { caCertRef, ...objectStorage } = velero.objectStorage;
  const location: LocationSpec = {
    provider: velero.provider,
    objectStorage: { ...objectStorage, ...(!objectStorage.caCert && caCertRef && { caCert: await readCaCertRef(namespace, name, caCertRef, deps) }) },
    ...(velero.config && { config: velero.config }),
    ...(velero.credential && { credential: { name: velero.credential.name, key: velero.credential.key } }),
  };
  const readOnly = velero.accessMode === 'ReadOnly';
  if (!velero.credential) return { name, location, trusted, ...(readOnly && { readOnly }) };
  const { name: secret, key } = velero.credential;
  const lookup = await deps.readSecretKey(namespace, secret, key);
  if (!lookup.found) {
    throw lookup.missing === 'secret'
      ? new WaitingError(Reasons.CredentialSecretNotFound,
        `Secret ${JSON.stringify(secret)} (the credential of backup location ${describe(name)}) not found in namespace ${namespace}`,
        LOCATION_RETRY_MS, { scope: 'location' })
      : new WaitingError(Reasons.CredentialKeyNotFound,
        `Secret ${namespace}/${secret} (the credential of backup location ${describe(name)}) has no key ${JSON.stringify(key)}`,
        LOCATION_RETRY_MS, { scope: 'location' });
  }
  return { name, location, credentials: lookup.value, trusted, ...(readOnly && { readOnly }) };
}

/** Does the location turn TLS verification off (config.insecureSkipTLSVerify, read as Go's ParseBool)? Worth a warning each time it is used. */
export function skipsTlsVerification(location: ResolvedLocation): boolean {
  const v = location.location.config && Object.hasOwn(location.location.config, 'insecureSkipTLSVerify') ? location.location.config.insecureSkipTLSVerify : undefined;
  return v !== undefined && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v);
}

export const INSECURE_LOCATION_WARNING = 'the backup location sets insecureSkipTLSVerify: the object storage\'s TLS certificate is not verified, '
  + 'so anyone on the network path can read and change the backup; set objectStorage.caCert (or caCertRef) instead';

/** Velero 1.18's objectStorage.caCertRef: the CA bundle (PEM) in a Secret key, read for each use. */
async function readCaCertRef(namespace: string, location: string, ref: { name: string; key: string }, deps: LocationDeps): Promise<string> {
  const lookup = await deps.readSecretKey(namespace, ref.name, ref.key);
  if (!lookup.found) {
    throw new WaitingError(lookup.missing === 'secret' ? Reasons.CredentialSecretNotFound : Reasons.CredentialKeyNotFound,
      `Secret ${namespace}/${ref.name}${lookup.missing === 'key' ? ` key ${JSON.stringify(ref.key)}` : ''} (objectStorage.caCertRef of backup location `
      + `${describe(location)}) not found`, LOCATION_RETRY_MS, { scope: 'location' });
  }
  // caCert is base64 of the PEM; the Secret holds the PEM itself.
  return Buffer.from(lookup.value).toString('base64');
}

async function pick(namespace: string, spec: BackupLocation | undefined, deps: LocationDeps): Promise<{ name: string; velero: VeleroLocationSpec }> {
  if (spec?.velero) return { name: 'inline', velero: spec.velero };
  if (spec?.name) {
    const bsl = await deps.getLocation(namespace, spec.name);
    if (!bsl?.spec) {
      throw new WaitingError(Reasons.BackupLocationNotFound,
        `BackupStorageLocation ${JSON.stringify(spec.name)} not found in namespace ${namespace}`, LOCATION_RETRY_MS, { scope: 'location' });
    }
    return { name: spec.name, velero: bsl.spec };
  }
  const defaults = (await deps.listLocations(namespace)).filter((b) => b.spec?.default === true);
  if (defaults.length === 0) {
    throw new WaitingError(Reasons.NoDefaultBackupLocation,
      `spec.backupLocation is not set and no BackupStorageLocation in namespace ${namespace} is marked default: true`, LOCATION_RETRY_MS, { scope: 'location' });
  }
  if (defaults.length > 1) {
    const names = defaults.map((b) => b.metadata?.name ?? '').sort();
    throw new WaitingError(Reasons.MultipleDefaultBackupLocations,
      `spec.backupLocation is not set and several BackupStorageLocations in namespace ${namespace} are marked default: ${names.join(', ')}; `
      + 'set spec.backupLocation.name, or leave one default', LOCATION_RETRY_MS, { scope: 'location' });
  }
  return { name: defaults[0]!.metadata?.name ?? '', velero: defaults[0]!.spec! };
}

function describe(name: string): string {
  return name === 'inline' ? '(inline spec.backupLocation.velero)' : JSON.stringify(name);
}
