// The BSL's credential Secret for provider azure holds velero-plugin-for-microsoft-azure's
// credentials file: AZURE_* lines in dotenv form (the plugin loads it with godotenv). It is
// parsed here, in memory, and only the keys on an allowlist are accepted: a storage account
// key (under the name config.storageAccountKeyEnvVar gives), or a service principal with a
// client secret, plus the names of the subscription, resource group and cloud. The file can
// also name a client certificate file, a federated token file, an authority host or a user's
// password, which the SDK would read from the controller's pod or send elsewhere: refused, by
// name. The controller's own managed or workload identity is used only when the BSL asks for
// it (config.useAAD) and the object is trusted (an admin namespace).
import { invalidLocation } from '../storeError.js';
import type { AzureSettings } from './location.js';

export type AzureCredentials =
  | { kind: 'sharedKey'; accountKey: string }
  | { kind: 'servicePrincipal'; tenantId: string; clientId: string; clientSecret: string }
  /** The controller pod's own identity: workload identity when the pod has a federated token, else managed identity. */
  | { kind: 'podIdentity'; clientId?: string; tenantId?: string };

const ALLOWED = new Set([
  'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_CLOUD_NAME',
  'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET',
  'AZURE_STORAGE_ACCOUNT_ACCESS_KEY',
]);
const KEY = /^[A-Za-z_][A-Za-z0-9_.]*$/;

const refuse = (message: string) => invalidLocation('InvalidCredentials', message);

/** KEY=VALUE lines as godotenv reads them (`export ` prefix, quotes, # comments), into a Map: no plain-object lookups on names from a Secret. */
export function parseDotenv(content: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('export ')) line = line.slice('export '.length).trimStart();
    const eq = line.search(/[=:]/);
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    // The line itself is never quoted back: it may hold a secret.
    if (!KEY.test(key)) throw refuse(`the backup location's credential secret is not an Azure credentials file (AZURE_*=value lines): line ${i + 1} is not KEY=VALUE`);
    out.set(key, unquote(line.slice(eq + 1).trim()));
  }
  return out;
}

function unquote(value: string): string {
  const q = value[0];
  if ((q === '"' || q === '\'') && value.length >= 2 && value.endsWith(q)) {
    const inner = value.slice(1, -1);
    return q === '"' ? inner.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1') : inner;
  }
  const comment = value.search(/\s#/);
  return (comment >= 0 ? value.slice(0, comment) : value).trim();
}

/** The credentials the file (or, for trusted objects that ask for it, the pod) gives. */
export function azureCredentials(file: Map<string, string> | undefined, settings: AzureSettings, trusted: boolean): AzureCredentials {
  if (file === undefined) {
    if (settings.useAAD && trusted) return { kind: 'podIdentity' };
    throw invalidLocation('CredentialRequired', settings.useAAD
      ? 'config.useAAD without a credential would use the controller\'s own managed or workload identity, which only objects in an admin namespace may'
      : 'a backup location without a credential would use the controller\'s own identity, which only objects in an admin namespace may');
  }
  for (const key of file.keys()) {
    if (!ALLOWED.has(key) && key !== settings.accountKeyName) {
      throw refuse(`the backup location's credential secret sets ${JSON.stringify(key.slice(0, 64))}, which imagestream-backup does not accept: `
        + 'only AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP, AZURE_CLOUD_NAME, the storage account key (named by config.storageAccountKeyEnvVar), '
        + 'and AZURE_TENANT_ID with AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (files, tokens and endpoints from a Secret are never used)');
    }
  }
  if (settings.accountKeyName) {
    const accountKey = file.get(settings.accountKeyName);
    if (!accountKey) {
      throw refuse(`config.storageAccountKeyEnvVar names ${JSON.stringify(settings.accountKeyName.slice(0, 64))}, which the backup location's credential secret does not set`);
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(accountKey)) throw refuse(`${settings.accountKeyName} in the backup location's credential secret is not a base64 storage account key`);
    return { kind: 'sharedKey', accountKey };
  }
  const tenantId = file.get('AZURE_TENANT_ID');
  const clientId = file.get('AZURE_CLIENT_ID');
  const clientSecret = file.get('AZURE_CLIENT_SECRET');
  if (clientSecret) {
    if (!tenantId || !clientId) throw refuse('the backup location\'s credential secret has AZURE_CLIENT_SECRET without AZURE_TENANT_ID and AZURE_CLIENT_ID');
    return { kind: 'servicePrincipal', tenantId, clientId, clientSecret };
  }
  if (settings.useAAD) {
    if (!trusted) {
      throw refuse('config.useAAD with no AZURE_CLIENT_SECRET in the credential secret would use the controller\'s own managed or workload identity: '
        + 'only ImageStreamsBackups and ImageStreamsRestores in an admin namespace may do that');
    }
    return { kind: 'podIdentity', ...(clientId && { clientId }), ...(tenantId && { tenantId }) };
  }
  throw refuse('the backup location\'s credential secret has neither a storage account key (set config.storageAccountKeyEnvVar to its name, '
    + 'e.g. AZURE_STORAGE_ACCOUNT_ACCESS_KEY) nor a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)');
}
