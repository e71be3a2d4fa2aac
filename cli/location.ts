// Where a backup is read from or written to: a BackupStorageLocation of a cluster (by name, with
// its credential Secret, read with $KUBECONFIG), or the same keys as flags, for a machine that
// reaches the object storage but no cluster. Credentials come from a file (the format of the
// BSL Secret's key: an AWS shared credentials file) or the AWS SDK's own chain; never a flag.
import { readFileSync } from 'node:fs';
import type { LocationSpec } from '../pkg/contracts.js';
import type { BackupStorageLocation } from '../pkg/k8s/velero.js';
import { openStore, type ObjectStore } from '../pkg/store/index.js';
import { resolveLocation, skipsTlsVerification, INSECURE_LOCATION_WARNING, type LocationPurpose } from '../controllers/backupLocation.js';
import { UsageError, pairs, str, type Flag, type FlagValues } from './command.js';

export const LOCATION_FLAGS: Record<string, Flag> = {
  'location': { type: 'string', valueName: 'name', help: 'a velero.io/v1 BackupStorageLocation of the cluster ($KUBECONFIG), with its credential Secret' },
  'namespace': { type: 'string', valueName: 'ns', help: 'the namespace of --location (default: the kubeconfig context\'s, else openshift-adp)' },
  'provider': { type: 'string', valueName: 'name', help: 'without --location: the location\'s provider (default aws)' },
  'bucket': { type: 'string', valueName: 'name', help: 'without --location: objectStorage.bucket' },
  'prefix': { type: 'string', valueName: 'path', help: 'without --location: objectStorage.prefix' },
  'region': { type: 'string', valueName: 'region', help: 'without --location: config.region' },
  's3-url': { type: 'string', valueName: 'url', help: 'without --location: config.s3Url' },
  's3-force-path-style': { type: 'string', valueName: 'bool', help: 'without --location: config.s3ForcePathStyle' },
  'profile': { type: 'string', valueName: 'name', help: 'without --location: config.profile (the section of the credentials file)' },
  'ca-cert': { type: 'string', valueName: 'file', help: 'without --location: a PEM file, as objectStorage.caCert' },
  'credentials': { type: 'string', valueName: 'file', help: 'without --location: the credentials file (the BSL Secret key\'s content); default: the AWS SDK\'s chain' },
  'config': { type: 'string', multiple: true, valueName: 'key=value', help: 'without --location: any other config key of the location' },
};

/** Whether the flags name a location at all (import may go to a registry instead). */
export function namesLocation(values: FlagValues): boolean {
  return str(values, 'location') !== undefined || str(values, 'bucket') !== undefined;
}

export async function openLocation(values: FlagValues, purpose: LocationPurpose, warn: (message: string) => void): Promise<{ store: ObjectStore; describe: string }> {
  const name = str(values, 'location');
  let location: LocationSpec;
  let credentials: string | undefined;
  let describe: string;
  if (name) {
    // The Kubernetes client takes a second to load: only when a cluster is asked.
    const [{ CustomResources }, { loadKubeConfig }, { Secrets }, { VeleroBackupStorageLocations }] = await Promise.all([
      import('../pkg/k8s/customResources.js'), import('../pkg/k8s/kubeconfig.js'), import('../pkg/k8s/secrets.js'), import('../pkg/k8s/velero.js'),
    ]);
    const kc = loadKubeConfig();
    const namespace = str(values, 'namespace') ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'openshift-adp';
    const bsls = new CustomResources<BackupStorageLocation>(kc, VeleroBackupStorageLocations);
    const secrets = new Secrets(kc);
    const resolved = await resolveLocation(namespace, { name }, {
      getLocation: (ns, n) => bsls.get(ns, n),
      listLocations: async (ns) => (await bsls.list(ns)).items,
      readSecretKey: (ns, n, key) => secrets.readKey(ns, n, key),
    }, { purpose, trusted: true });
    if (skipsTlsVerification(resolved)) warn(INSECURE_LOCATION_WARNING);
    location = resolved.location;
    credentials = resolved.credentials;
    describe = `backup location ${namespace}/${name}`;
  } else {
    const bucket = str(values, 'bucket');
    if (!bucket) throw new UsageError('give a location: --location <BSL name> (and --namespace), or --bucket with the location\'s other keys');
    const config: Record<string, string> = { ...pairs(values, 'config') };
    for (const [flag, key] of [['region', 'region'], ['s3-url', 's3Url'], ['s3-force-path-style', 's3ForcePathStyle'], ['profile', 'profile']] as const) {
      const v = str(values, flag);
      if (v !== undefined) config[key] = v;
    }
    const caFile = str(values, 'ca-cert');
    const prefix = str(values, 'prefix');
    location = {
      provider: str(values, 'provider') ?? 'aws',
      objectStorage: { bucket, ...(prefix && { prefix }), ...(caFile && { caCert: readText(caFile, '--ca-cert') }) },
      config,
    };
    const credFile = str(values, 'credentials');
    if (credFile) credentials = readText(credFile, '--credentials');
    describe = `bucket ${bucket}${prefix ? ` prefix ${prefix}` : ''}`;
  }
  const store = await openStore({ location, ...(credentials !== undefined && { credentials }), trusted: true, log: warn });
  return { store, describe };
}

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
