// Reads a BSL of provider gcp (velero-plugin-for-gcp) into the settings of one GCS client.
// Config keys mean what they mean to that plugin: kmsKeyName (a Cloud KMS key for the objects
// written), serviceAccount (the account workload identity acts as), storeEndpoint (a private
// or emulated endpoint, as Go's option.WithEndpoint takes it).
import type { LocationSpec } from '../../contracts.js';
import { rootFor } from '../keys.js';
import { decodeCaCert, type Log } from '../location.js';
import { invalidLocation } from '../storeError.js';

export interface GcsSettings {
  bucket: string;
  root: string;
  /** Scheme, host and path before /storage/v1 and /upload/storage/v1: `https://storage.googleapis.com` unless storeEndpoint says otherwise. */
  endpoint: string;
  kmsKeyName?: string;
  serviceAccount?: string;
  caCert?: string;
}

// GCS bucket names: 3 to 63 characters (222 with dots), lower-case letters, digits, -, _ and dots.
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const KMS_KEY = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
// Keys the plugin reads that only matter to Velero itself: accepted and not used.
const VELERO_ONLY = ['credentialsFile', 'universeDomain', 'bucket', 'prefix'];

export function gcsSettings(location: LocationSpec, log: Log = () => {}): GcsSettings {
  const bucket = location.objectStorage?.bucket ?? '';
  if (!BUCKET.test(bucket) || bucket.includes('..') || /^goog|google/.test(bucket)) {
    throw invalidLocation('InvalidBucket', `objectStorage.bucket ${JSON.stringify(bucket.slice(0, 100))} is not a valid GCS bucket name`);
  }
  const settings: GcsSettings = { bucket, root: rootFor(location.objectStorage.prefix), endpoint: 'https://storage.googleapis.com' };
  if (location.objectStorage.caCert) settings.caCert = decodeCaCert(location.objectStorage.caCert);
  for (const [key, value] of Object.entries(location.config ?? {})) {
    switch (key) {
      case 'kmsKeyName':
        if (value && !KMS_KEY.test(value)) {
          throw invalidLocation('InvalidBackupLocation', 'config.kmsKeyName must be a Cloud KMS key name: projects/P/locations/L/keyRings/R/cryptoKeys/K');
        }
        if (value) settings.kmsKeyName = value;
        break;
      case 'serviceAccount': if (value) settings.serviceAccount = value; break;
      case 'storeEndpoint': if (value) settings.endpoint = endpointBase(value); break;
      default:
        log(VELERO_ONLY.includes(key)
          ? `backup location config key "${key}" is not used by imagestream-backup; ignored`
          : `backup location config key "${key}" is unknown to provider gcp; ignored`);
    }
  }
  return settings;
}

/** `https://host[:port][/path]`, with a trailing `/storage/v1/` (as Go's client takes it) cut off. */
function endpointBase(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidLocation('InvalidBackupLocation', `config.storeEndpoint ${JSON.stringify(value.slice(0, 200))} is not a URL (expected https://host[:port])`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidLocation('InvalidBackupLocation', 'config.storeEndpoint must start with https:// or http://');
  if (url.username || url.password || url.search) throw invalidLocation('InvalidBackupLocation', 'config.storeEndpoint must not hold credentials or a query');
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/storage\/v1$/, '')}`;
}
