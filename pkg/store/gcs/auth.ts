// The Authorization header of each GCS request. A service account key signs its own
// short-lived JWT here (a self-signed JWT with the storage scope, which Google's APIs accept in
// place of an OAuth token, and which Google's Go client, and so velero-plugin-for-gcp, sends for
// service account keys): no token endpoint is called, so a key file cannot send requests
// anywhere. The pod's own identity and workload identity federation, for trusted objects that
// ask for them, come from @google-cloud/storage's GoogleAuth.
import { createSign } from 'node:crypto';
import type { GcsCredentials } from './credentials.js';

export type AuthHeader = (url: string) => Promise<string>;

const SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write';
const LIFETIME_S = 3600;
/** A token is made anew this long before it expires. */
const MARGIN_S = 300;

export async function authHeader(creds: GcsCredentials): Promise<AuthHeader> {
  if (creds.kind === 'serviceAccount') return selfSignedJwt(creds);
  const { Storage } = await import('@google-cloud/storage');
  // GoogleAuth prints a deprecation notice on the console for `credentials` (it would have the
  // JWT class of google-auth-library used instead); the controller's stderr is JSON lines only.
  const quiet = console.warn;
  console.warn = () => {};
  let storage;
  try {
    storage = creds.kind === 'externalAccount' ? new Storage({ credentials: creds.json, scopes: [SCOPE] }) : new Storage({ scopes: [SCOPE] });
  } finally {
    console.warn = quiet;
  }
  const auth = storage.authClient;
  return async (url) => {
    const headers = await auth.getRequestHeaders(url);
    const value = headers.get('authorization');
    if (!value) throw Object.assign(new Error('no access token from the controller\'s identity'), { name: 'CredentialUnavailableError' });
    return value;
  };
}

function selfSignedJwt(creds: Extract<GcsCredentials, { kind: 'serviceAccount' }>): AuthHeader {
  let cached: { value: string; until: number } | undefined;
  return async () => {
    const now = Math.floor(Date.now() / 1000);
    if (cached && now < cached.until) return cached.value;
    const header = { alg: 'RS256', typ: 'JWT', ...(creds.keyId && { kid: creds.keyId }) };
    const claims = { iss: creds.email, sub: creds.email, scope: SCOPE, iat: now, exp: now + LIFETIME_S };
    const unsigned = `${b64(header)}.${b64(claims)}`;
    const signature = createSign('RSA-SHA256').update(unsigned).sign(creds.key).toString('base64url');
    cached = { value: `Bearer ${unsigned}.${signature}`, until: now + LIFETIME_S - MARGIN_S };
    return cached.value;
  };
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
