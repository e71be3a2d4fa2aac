// The BSL's credential Secret for provider gcp holds a service account key, the JSON file
// velero-plugin-for-gcp reads. It is parsed here, in memory, and only a service account key
// with known fields is accepted. Other credential types can read files, run executables or
// post tokens to any URL (external_account), or act as a person (authorized_user): refused,
// by name, except external_account for a trusted object whose BSL asks for workload identity
// federation (config.serviceAccount), and never with an executable source.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { invalidLocation } from '../storeError.js';
import type { GcsSettings } from './location.js';

export type GcsCredentials =
  | { kind: 'serviceAccount'; email: string; key: KeyObject; keyId?: string }
  /** Workload identity federation from the Secret; only trusted objects that ask for it. */
  | { kind: 'externalAccount'; json: Record<string, unknown> }
  /** The controller pod's own identity (GKE workload identity, the metadata server); only trusted objects that ask for it. */
  | { kind: 'pod' };

const SERVICE_ACCOUNT_FIELDS = new Set([
  'type', 'project_id', 'private_key_id', 'private_key', 'client_email', 'client_id',
  'auth_uri', 'token_uri', 'auth_provider_x509_cert_url', 'client_x509_cert_url', 'universe_domain',
]);
const EXTERNAL_ACCOUNT_FIELDS = new Set([
  'type', 'audience', 'subject_token_type', 'token_url', 'credential_source', 'service_account_impersonation_url',
  'service_account_impersonation', 'token_info_url', 'quota_project_id', 'workforce_pool_user_project', 'universe_domain',
]);

const refuse = (message: string) => invalidLocation('InvalidCredentials', message);

export function gcsCredentials(content: string | undefined, settings: GcsSettings, trusted: boolean): GcsCredentials {
  if (content === undefined) {
    if (trusted && settings.serviceAccount) return { kind: 'pod' };
    throw invalidLocation('CredentialRequired', settings.serviceAccount
      ? 'config.serviceAccount without a credential would use the controller\'s own workload identity, which only objects in an admin namespace may'
      : 'a backup location without a credential would use the controller\'s own identity, which only objects in an admin namespace may');
  }
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    // The content is never quoted back: it holds a private key.
    throw refuse('the backup location\'s credential secret is not a GCP service account key (JSON)');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw refuse('the backup location\'s credential secret is not a GCP service account key (a JSON object)');
  const fields = new Map(Object.entries(json as Record<string, unknown>));
  const type = fields.get('type');
  if (type === 'service_account') return serviceAccount(fields);
  if (type === 'external_account') {
    if (!trusted || !settings.serviceAccount) {
      throw refuse('the backup location\'s credential secret is of type "external_account" (workload identity federation), which can read files of the controller\'s pod '
        + 'and post tokens to the URLs it names: only ImageStreamsBackups and ImageStreamsRestores in an admin namespace whose backup location sets config.serviceAccount may use it');
    }
    for (const key of fields.keys()) {
      if (!EXTERNAL_ACCOUNT_FIELDS.has(key)) throw refuse(`the external_account credential sets ${JSON.stringify(key.slice(0, 64))}, which imagestream-backup does not accept`);
    }
    const source = fields.get('credential_source');
    if (typeof source === 'object' && source !== null && Object.hasOwn(source, 'executable')) {
      throw refuse('the external_account credential has credential_source.executable, which would run a command in the controller: never accepted');
    }
    return { kind: 'externalAccount', json: json as Record<string, unknown> };
  }
  throw refuse(`the backup location's credential secret is of type ${JSON.stringify(String(type).slice(0, 64))}: imagestream-backup accepts a service account key `
    + '(type "service_account"), as velero-plugin-for-gcp does');
}

function serviceAccount(fields: Map<string, unknown>): GcsCredentials {
  for (const key of fields.keys()) {
    if (!SERVICE_ACCOUNT_FIELDS.has(key)) throw refuse(`the service account key in the backup location's credential secret has the field ${JSON.stringify(key.slice(0, 64))}, which imagestream-backup does not accept`);
  }
  const email = fields.get('client_email');
  const pem = fields.get('private_key');
  const keyId = fields.get('private_key_id');
  if (typeof email !== 'string' || !email.includes('@')) throw refuse('the service account key in the backup location\'s credential secret has no client_email');
  if (typeof pem !== 'string') throw refuse('the service account key in the backup location\'s credential secret has no private_key');
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw refuse('the private_key of the service account key in the backup location\'s credential secret is not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw refuse('the private_key of the service account key is not an RSA key');
  return { kind: 'serviceAccount', email, key, ...(typeof keyId === 'string' && keyId && { keyId }) };
}
