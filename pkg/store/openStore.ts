// Builds the object store of a BSL: settings from the spec, credentials from the Secret's
// key content, trust from caCert and AWS_CA_BUNDLE.
import type https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { LocationSpec } from '../contracts.js';
import { credentialsFromFile, DEFAULT_WEB_IDENTITY_TOKEN_FILES, type CredentialPolicy } from './credentials.js';
import { storeSettings, type Log } from './location.js';
import { S3ObjectStore, type ObjectStore } from './objectStore.js';
import { storeAgents } from './tls.js';
import { sendUploadsUnsigned } from './unsignedPayload.js';
import { readCustomerKey, sendCustomerKey } from './customerKey.js';
import { invalidLocation } from './storeError.js';
import { DEFAULT_RETRY_POLICY, backoffDelay, type RetryPolicy } from '../retry.js';

export interface OpenStoreOptions {
  location: LocationSpec;
  /** Content of the credential Secret's key: an AWS shared-credentials file. Absent: the SDK's default chain. */
  credentials?: string;
  /**
   * The location belongs to an object in an admin namespace: its credentials may use the
   * controller's own identity (web identity, or none: the SDK's default chain) and its
   * customerKeyEncryptionFile may be read. Default: false.
   */
  trusted?: boolean;
  /** Token files web identity may use (WEB_IDENTITY_TOKEN_FILES). */
  allowedTokenFiles?: readonly string[];
  log?: Log;
  /** Where AWS_CA_BUNDLE is read from; process.env by default. */
  env?: Record<string, string | undefined>;
  /** Sockets to the endpoint; uploads hold one per part in flight. */
  maxSockets?: number;
  /** The one retry policy (pkg/retry.ts), applied by the SDK to every request it can send again. */
  retry?: RetryPolicy;
  /** A connection that sends or receives nothing for this long fails (a stalled body too). */
  idleTimeoutMs?: number;
}

const noop = () => {};
const SILENT = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

export async function openStore(opts: OpenStoreOptions): Promise<ObjectStore> {
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
  if (settings.customerKeyFile) sendCustomerKey(client, readCustomerKey(settings.customerKeyFile, trusted));
  return new S3ObjectStore(client, settings, { retry, idleTimeoutMs }, async () => {
    agents.destroy();
  });
}
