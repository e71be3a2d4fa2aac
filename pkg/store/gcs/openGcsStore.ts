// Opens the GCS store of a BSL of provider gcp: settings from the spec (location.ts),
// credentials from the Secret's service account key (credentials.ts), trust from caCert.
import type { ObjectStore } from '../objectStore.js';
import type { OpenStoreOptions } from '../openStore.js';
import { storeAgents } from '../tls.js';
import { DEFAULT_RETRY_POLICY } from '../../retry.js';
import { authHeader } from './auth.js';
import { gcsCredentials } from './credentials.js';
import { GcsObjectStore } from './gcsObjectStore.js';
import { gcsSettings } from './location.js';

export async function openGcsStore(opts: OpenStoreOptions): Promise<ObjectStore> {
  const settings = gcsSettings(opts.location, opts.log);
  const creds = gcsCredentials(opts.credentials, settings, opts.trusted === true);
  const agents = storeAgents({ ...(settings.caCert && { caCert: settings.caCert }), insecureSkipTLSVerify: false, maxSockets: opts.maxSockets ?? 64 }, opts.env ?? process.env);
  const auth = await authHeader(creds);
  return new GcsObjectStore({
    bucket: settings.bucket, root: settings.root, endpoint: settings.endpoint,
    ...(settings.kmsKeyName && { kmsKeyName: settings.kmsKeyName }),
    retry: opts.retry ?? DEFAULT_RETRY_POLICY, idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
  }, auth, (url) => agents.forUrl(url), async () => {
    agents.destroy();
  });
}
