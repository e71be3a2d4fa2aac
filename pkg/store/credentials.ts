// The BSL's credential Secret holds an AWS shared-credentials file. It is parsed here, in
// memory (never written to disk), and only the keys on an allowlist are accepted: static keys
// with a session token, a region, and a web identity role whose token file is on an allowed
// path. The SDK's own loader would also run `credential_process` commands inside the
// controller, borrow the pod's identity (`credential_source`), or send requests elsewhere
// (`endpoint_url`): a Secret is data written by whoever may write Secrets, not code.
import { fromTokenFile } from '@aws-sdk/credential-provider-web-identity';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { invalidLocation } from './storeError.js';

/** The keys a profile may hold; any other key is refused, by name. */
const ALLOWED_KEYS = new Set([
  'aws_access_key_id', 'aws_secret_access_key', 'aws_session_token', 'region',
  'role_arn', 'web_identity_token_file', 'role_session_name',
]);

/** Token files OADP and EKS project into pods for web identity (STS); others need WEB_IDENTITY_TOKEN_FILES. */
export const DEFAULT_WEB_IDENTITY_TOKEN_FILES = [
  '/var/run/secrets/openshift/serviceaccount/token',
  '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
];

export interface CredentialPolicy {
  /** Web identity assumes a role with the controller pod's own token: only for trusted (admin) objects. */
  allowWebIdentity: boolean;
  allowedTokenFiles: readonly string[];
  /** STS client settings (region, request handler with the proxy and CA). */
  stsClientConfig?: Record<string, unknown>;
}

export interface ResolvedCredentials {
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** A region the profile names, used when the BSL names none. */
  region?: string;
}

const refuse = (message: string) => invalidLocation('InvalidCredentials', message);

/** Profiles by name (`[name]` or `[profile name]`), each a Map of lower-case keys: no plain-object lookups on names from a Secret. */
export function parseIni(content: string): Map<string, Map<string, string>> {
  const profiles = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*(?:profile\s+)?([^\]]*?)\s*\]$/.exec(line);
    if (section) {
      const name = section[1]!;
      current = profiles.get(name) ?? new Map();
      profiles.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    // The line itself is never quoted back: it may hold a secret.
    if (eq <= 0) throw refuse(`the backup location's credential secret is not an AWS credentials file: line ${i + 1} is neither [profile] nor key = value`);
    if (!current) throw refuse(`the backup location's credential secret is not an AWS credentials file: line ${i + 1} comes before any [profile]`);
    current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return profiles;
}

export function credentialsFromFile(content: string, profile: string, policy: CredentialPolicy): ResolvedCredentials {
  const profiles = parseIni(content);
  const keys = profiles.get(profile);
  if (!keys) {
    const names = [...profiles.keys()].slice(0, 10).map((n) => JSON.stringify(n.slice(0, 64)));
    throw refuse(`the backup location's credential secret has no profile ${JSON.stringify(profile)} `
      + `(it has ${names.length ? names.join(', ') : 'none'}); set config.profile on the backup location or fix the secret`);
  }
  for (const key of keys.keys()) {
    if (!ALLOWED_KEYS.has(key)) {
      throw refuse(`the backup location's credential secret sets ${JSON.stringify(key.slice(0, 64))} in profile ${JSON.stringify(profile)}, which imagestream-backup `
        + 'does not accept: only aws_access_key_id, aws_secret_access_key, aws_session_token, region, and role_arn with web_identity_token_file '
        + '(commands, credential sources and endpoints from a Secret are never used)');
    }
  }
  const region = keys.get('region') || undefined;
  const accessKeyId = keys.get('aws_access_key_id');
  const secretAccessKey = keys.get('aws_secret_access_key');
  const roleArn = keys.get('role_arn');
  if (accessKeyId && secretAccessKey) {
    const sessionToken = keys.get('aws_session_token');
    return { credentials: { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }) }, ...(region && { region }) };
  }
  if (roleArn) {
    const tokenFile = keys.get('web_identity_token_file');
    if (!tokenFile) throw refuse(`profile ${JSON.stringify(profile)} of the backup location's credential secret has role_arn without web_identity_token_file`);
    if (!policy.allowWebIdentity) {
      throw refuse(`profile ${JSON.stringify(profile)} of the backup location's credential secret assumes a role with web identity, which would use `
        + 'the controller\'s own service account token: only ImageStreamsBackups and ImageStreamsRestores in an admin namespace may do that');
    }
    if (!policy.allowedTokenFiles.includes(tokenFile)) {
      throw refuse(`web_identity_token_file ${JSON.stringify(tokenFile.slice(0, 200))} is not an allowed token path `
        + `(${policy.allowedTokenFiles.join(', ')}; the setting WEB_IDENTITY_TOKEN_FILES lists them)`);
    }
    const roleSessionName = keys.get('role_session_name') || 'imagestream-backup';
    return {
      credentials: fromTokenFile({
        webIdentityTokenFile: tokenFile, roleArn, roleSessionName,
        ...(policy.stsClientConfig && { clientConfig: { ...policy.stsClientConfig, ...(region && { region }) } }),
      }),
      ...(region && { region }),
    };
  }
  throw refuse(`profile ${JSON.stringify(profile)} of the backup location's credential secret has neither aws_access_key_id with `
    + 'aws_secret_access_key nor role_arn with web_identity_token_file');
}
