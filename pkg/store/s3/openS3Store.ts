// Opens the S3 store of a BSL of provider aws: settings from the spec (location.ts),
// credentials from the Secret's key content (an AWS shared-credentials file, credentials.ts),
// trust from caCert and AWS_CA_BUNDLE.
import type https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { credentialsFromFile, DEFAULT_WEB_IDENTITY_TOKEN_FILES, type CredentialPolicy } from '../credentials.js';
import { storeSettings } from '../location.js';
import type { ObjectStore } from '../objectStore.js';
import type { OpenStoreOptions } from '../openStore.js';
import { S3ObjectStore } from './s3ObjectStore.js';
import { storeAgents } from '../tls.js';
import { sendUploadsUnsigned } from './unsignedPayload.js';
import { sendBodiesSliced } from './slicedBodies.js';
import { readCustomerKey, sendCustomerKey } from './customerKey.js';
import { invalidLocation } from '../storeError.js';
import { DEFAULT_RETRY_POLICY, backoffDelay } from '../../retry.js';

const noop = () => {};
const SILENT = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

export async function openS3Store(opts: OpenStoreOptions): Promise<ObjectStore> {
  const settings = storeSettings(opts.location, opts.log);
  const env = opts.env ?? process.env;
  const agents = storeAgents({
    ...(settings.caCert && { caCert: settings.caCert }),
    ...(env.AWS_CA_BUNDLE && { caBundleFile: env.AWS_CA_BUNDLE }),
    insecureSkipTLSVerify: settings.insecureSkipTLSVerify,
    maxSockets: opts.maxSockets ?? 64,
  }, env);
  // The endpoint decides between the proxy and a direct connection (NO_PROXY).
  const endpoint = new URL(settings.endpoint ?? `https://s3.${settings.region ?? 'us-east-1'}.amazonaws.com`);
  const retry = opts.retry ?? DEFAULT_RETRY_POLICY;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
  const trusted = opts.trusted === true;
  const policy: CredentialPolicy = { allowWebIdentity: trusted, allowedTokenFiles: opts.allowedTokenFiles ?? DEFAULT_WEB_IDENTITY_TOKEN_FILES };
  if (opts.credentials === undefined && !trusted) {
    throw invalidLocation('CredentialRequired', 'a backup location without a credential would use the controller\'s own identity, which only objects in an admin namespace may');
  }
  const creds = opts.credentials !== undefined ? credentialsFromFile(opts.credentials, settings.profile, policy) : undefined;
  const client = new S3Client({
    region: settings.region ?? creds?.region ?? 'us-east-1',
    // Velero finds the bucket's region when the BSL names none; following S3's redirect does the same.
    followRegionRedirects: settings.region === undefined && creds?.region === undefined,
    ...(settings.endpoint && { endpoint: settings.endpoint }),
    forcePathStyle: settings.forcePathStyle,
    ...(creds && { credentials: creds.credentials }),
    requestChecksumCalculation: settings.checksumAlgorithm === '' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    // Every blob is checked against its sha256 on the way out; a second CRC pass buys nothing.
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The SDK sends a request again on network errors, throttling and 5xx; with our policy's
    // attempts and delays. A streamed body it cannot send again: the data path re-reads its source.
    retryStrategy: new ConfiguredRetryStrategy(retry.attempts, (attempt) => backoffDelay(attempt, retry)),
    // Without a logger the SDK writes some warnings to the console (a streamed body it will not
    // retry); the caller sees every error anyway, and the controller's logs stay JSON.
    logger: SILENT,
    requestHandler: new NodeHttpHandler({
      httpsAgent: agents.forUrl(new URL(`https://${endpoint.host}`)) as https.Agent,
      httpAgent: agents.forUrl(new URL(`http://${endpoint.host}`)),
      connectionTimeout: 15_000, requestTimeout: idleTimeoutMs,
    }),
  });
  sendUploadsUnsigned(client);
  sendBodiesSliced(client);
  if (settings.customerKeyFile) sendCustomerKey(client, readCustomerKey(settings.customerKeyFile, trusted));
  return new S3ObjectStore(client, settings, { retry, idleTimeoutMs }, async () => {
    agents.destroy();
  });
}
