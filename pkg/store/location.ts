// Reads a Velero BSL spec (aws provider) into the settings of one S3 client. Config keys
// mean what they mean to velero-plugin-for-aws, so a BSL that works for Velero works here.
import type { LocationSpec } from '../contracts.js';
import { invalidLocation } from './storeError.js';
import { rootFor } from './keys.js';

export type Log = (message: string) => void;

export interface StoreSettings {
  bucket: string;
  root: string;
  /** Undefined: not set in the BSL; the client then follows the bucket's region (as Velero discovers it). */
  region?: string;
  endpoint?: string;
  forcePathStyle: boolean;
  insecureSkipTLSVerify: boolean;
  profile: string;
  /** PEM text from objectStorage.caCert, if any. */
  caCert?: string;
  /** '' turns request checksums off, for S3 implementations that reject them (Velero's meaning). */
  checksumAlgorithm: string;
  serverSideEncryption?: string;
  kmsKeyId?: string;
  /** Object tags for every object written, as velero-plugin-for-aws's `tagging` (`key=value&...`). */
  tagging?: string;
  /** SSE-C: the path of the file that holds the 32-byte customer key (velero-plugin-for-aws's customerKeyEncryptionFile). */
  customerKeyFile?: string;
}

const PROVIDERS = ['aws', 'velero.io/aws'];
// Keys velero-plugin-for-aws reads that only matter to Velero itself (signed download URLs,
// its own tagging or SSE-C file): accepted and not used.
// publicUrl: only for Velero's download URLs (this product signs none); the others are Velero's own.
const VELERO_ONLY = ['publicUrl', 'signatureVersion', 'enableSharedConfig', 'credentialsFile', 'bucket', 'prefix'];
const CHECKSUMS = ['', 'CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'];
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function storeSettings(location: LocationSpec, log: Log = () => {}): StoreSettings {
  if (!PROVIDERS.includes(location.provider)) {
    throw invalidLocation('UnsupportedProvider', `backup location provider ${JSON.stringify(location.provider)} is not supported: `
      + 'imagestream-backup stores images in S3-compatible object storage (provider "aws", which also covers MinIO, Ceph RGW, NooBaa and other S3 endpoints)');
  }
  const bucket = location.objectStorage?.bucket ?? '';
  if (!BUCKET.test(bucket)) {
    throw invalidLocation('InvalidBucket', `objectStorage.bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name`);
  }
  const config = location.config ?? {};
  const settings: StoreSettings = {
    bucket,
    root: rootFor(location.objectStorage.prefix),
    forcePathStyle: false,
    insecureSkipTLSVerify: false,
    profile: 'default',
    checksumAlgorithm: 'CRC32',
  };
  const caCert = location.objectStorage.caCert;
  if (caCert) settings.caCert = decodeCaCert(caCert);

  for (const [key, value] of Object.entries(config)) {
    switch (key) {
      case 'region': if (value) settings.region = value; break;
      case 's3Url': if (value) settings.endpoint = endpointUrl(value); break;
      case 's3ForcePathStyle': settings.forcePathStyle = parseBool(key, value); break;
      case 'insecureSkipTLSVerify': settings.insecureSkipTLSVerify = parseBool(key, value); break;
      case 'profile': if (value) settings.profile = value; break;
      case 'checksumAlgorithm':
        if (!CHECKSUMS.includes(value)) {
          throw invalidLocation('InvalidBackupLocation', `config.checksumAlgorithm ${JSON.stringify(value)} is not one of ${CHECKSUMS.map((c) => JSON.stringify(c)).join(', ')}`);
        }
        settings.checksumAlgorithm = value;
        break;
      case 'serverSideEncryption': if (value) settings.serverSideEncryption = value; break;
      case 'kmsKeyId': if (value) settings.kmsKeyId = value; break;
      case 'tagging':
        if (value && !/^[^=&]+=[^=&]*(&[^=&]+=[^=&]*)*$/.test(value)) {
          throw invalidLocation('InvalidBackupLocation', 'config.tagging must be URL-encoded key=value pairs joined by &, as in velero-plugin-for-aws');
        }
        if (value) settings.tagging = value;
        break;
      case 'customerKeyEncryptionFile': if (value) settings.customerKeyFile = value; break;
      default:
        // Values are not logged: some keys may hold something private.
        log(VELERO_ONLY.includes(key)
          ? `backup location config key "${key}" is not used by imagestream-backup; ignored`
          : `backup location config key "${key}" is unknown; ignored`);
    }
  }
  if (settings.kmsKeyId && !settings.serverSideEncryption) settings.serverSideEncryption = 'aws:kms';
  // A bucket cannot be a subdomain of an IP address: path style is the only style that works there.
  if (settings.endpoint && config.s3ForcePathStyle === undefined) settings.forcePathStyle = isIpOrLocal(settings.endpoint);
  return settings;
}

export function decodeCaCert(value: string): string {
  const text = value.trimStart().startsWith('-----BEGIN') ? value : Buffer.from(value, 'base64').toString('utf8');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalidLocation('InvalidCACert', 'objectStorage.caCert is not a base64-encoded PEM certificate bundle');
  }
  return text;
}

function endpointUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidLocation('InvalidBackupLocation', `config.s3Url ${JSON.stringify(value)} is not a URL (expected https://host[:port])`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidLocation('InvalidBackupLocation', `config.s3Url ${JSON.stringify(value)} must start with https:// or http://`);
  }
  if (url.username || url.password) {
    throw invalidLocation('InvalidBackupLocation', 'config.s3Url must not hold credentials; put them in the credential secret');
  }
  return value.replace(/\/+$/, '');
}

// Go's strconv.ParseBool, which Velero uses for these keys (of every provider).
export function parseBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False', ''].includes(value)) return false;
  throw invalidLocation('InvalidBackupLocation', `config.${key} ${JSON.stringify(value)} is not a boolean ("true" or "false")`);
}

function isIpOrLocal(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || /^[0-9.]+$/.test(host) || host.startsWith('[');
}
