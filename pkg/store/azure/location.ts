// Reads a BSL of provider azure (velero-plugin-for-microsoft-azure) into the settings of one
// Blob service client. Config keys mean what they mean to that plugin, so a BSL that works for
// Velero works here: the container is objectStorage.bucket, the account is
// config.storageAccount, its endpoint is config.storageAccountURI (else the cloud's default).
import type { LocationSpec } from '../../contracts.js';
import { rootFor } from '../keys.js';
import { decodeCaCert, parseBool, type Log } from '../location.js';
import { invalidLocation } from '../storeError.js';

export interface AzureSettings {
  container: string;
  root: string;
  account: string;
  /** The Blob service URL: `https://<account>.blob.<suffix>`, or config.storageAccountURI (Azurite, private endpoints). */
  serviceUrl: string;
  /** The Entra ID authority for service principals and workload identity. */
  authorityHost: string;
  /** The credentials file's key that holds the storage account key (config.storageAccountKeyEnvVar). */
  accountKeyName?: string;
  /** config.useAAD: the BSL asks for Entra ID credentials (a service principal, or the controller's managed or workload identity). */
  useAAD: boolean;
  /** config.blockSizeInBytes: the largest block staged (Velero's default, 100 MiB, is also the most it allows). */
  maxBlockSize?: number;
  caCert?: string;
  subscriptionId?: string;
  resourceGroup?: string;
}

/** Velero's names (AZURE_CLOUD_NAME) for the clouds, with their Entra ID authority and storage suffix. */
export const CLOUDS = new Map<string, { authority: string; suffix: string }>([
  ['azurepubliccloud', { authority: 'https://login.microsoftonline.com', suffix: 'core.windows.net' }],
  ['azureusgovernmentcloud', { authority: 'https://login.microsoftonline.us', suffix: 'core.usgovcloudapi.net' }],
  ['azurechinacloud', { authority: 'https://login.chinacloudapi.cn', suffix: 'core.chinacloudapi.cn' }],
]);

/** Velero's largest block, which Azure's Put Block allowed when the plugin was written. */
export const MAX_BLOCK_SIZE = 100 * 1024 * 1024;
const CONTAINER = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;
const ACCOUNT = /^[a-z0-9]{3,24}$/;
// Keys the plugin reads that only matter to Velero itself: accepted and not used.
const VELERO_ONLY = ['credentialsFile', 'bucket', 'prefix'];

/** `cloudName`: AZURE_CLOUD_NAME from the credentials file, which picks the cloud as it does for Velero. */
export function azureSettings(location: LocationSpec, log: Log = () => {}, cloudName = ''): AzureSettings {
  const container = location.objectStorage?.bucket ?? '';
  if (!CONTAINER.test(container)) {
    throw invalidLocation('InvalidBucket', `objectStorage.bucket ${JSON.stringify(container.slice(0, 100))} is not a valid Azure blob container name `
      + '(3 to 63 lower-case letters, digits and single hyphens)');
  }
  const config = new Map(Object.entries(location.config ?? {}));
  const account = config.get('storageAccount') ?? '';
  if (!ACCOUNT.test(account)) {
    throw invalidLocation('InvalidBackupLocation', account
      ? `config.storageAccount ${JSON.stringify(account.slice(0, 100))} is not a valid storage account name (3 to 24 lower-case letters and digits)`
      : 'config.storageAccount is required for provider azure: the storage account that holds the container');
  }
  const cloud = CLOUDS.get((cloudName || 'AzurePublicCloud').toLowerCase());
  if (!cloud) {
    throw invalidLocation('InvalidCredentials', `AZURE_CLOUD_NAME ${JSON.stringify(cloudName.slice(0, 64))} in the credentials file is not one of AzurePublicCloud, AzureUSGovernmentCloud, AzureChinaCloud`);
  }
  const settings: AzureSettings = {
    container, account,
    root: rootFor(location.objectStorage.prefix),
    serviceUrl: `https://${account}.blob.${cloud.suffix}`,
    authorityHost: cloud.authority,
    useAAD: false,
  };
  if (location.objectStorage.caCert) settings.caCert = decodeCaCert(location.objectStorage.caCert);
  for (const [key, value] of config) {
    switch (key) {
      case 'storageAccount': break;
      case 'resourceGroup': if (value) settings.resourceGroup = value; break;
      case 'subscriptionId': if (value) settings.subscriptionId = value; break;
      case 'storageAccountKeyEnvVar': if (value) settings.accountKeyName = value; break;
      case 'useAAD': settings.useAAD = parseBool(key, value); break;
      case 'storageAccountURI': if (value) settings.serviceUrl = httpsUrl(key, value); break;
      case 'activeDirectoryAuthorityURI': if (value) settings.authorityHost = httpsUrl(key, value); break;
      case 'blockSizeInBytes': {
        const n = Number(value);
        // Velero falls back to its default on a value out of range; so does this, with a word in the log.
        if (Number.isInteger(n) && n > 0 && n <= MAX_BLOCK_SIZE) settings.maxBlockSize = n;
        else log(`backup location config.blockSizeInBytes is not an integer from 1 to ${MAX_BLOCK_SIZE}; the default is used`);
        break;
      }
      default:
        log(VELERO_ONLY.includes(key)
          ? `backup location config key "${key}" is not used by imagestream-backup; ignored`
          : `backup location config key "${key}" is unknown to provider azure; ignored`);
    }
  }
  return settings;
}

function httpsUrl(key: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidLocation('InvalidBackupLocation', `config.${key} ${JSON.stringify(value.slice(0, 200))} is not a URL (expected https://host[:port][/path])`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidLocation('InvalidBackupLocation', `config.${key} must start with https:// or http://`);
  if (url.username || url.password || url.search) {
    throw invalidLocation('InvalidBackupLocation', `config.${key} must not hold credentials or a query (a SAS token); put credentials in the credential secret`);
  }
  return value.replace(/\/+$/, '');
}
