// Turns S3 SDK and socket errors into errors a cluster admin can act on, typed by what the
// reconciler should do next; the connection errors (TLS, unreachable) are shared with the
// Azure and GCS stores. Messages are built here, never copied from a request.
import { ReconcileError, StalledError, TransientError, errorMessage } from '../errors.js';
import { markExhausted } from '../retry.js';

export interface StoreContext {
  bucket: string;
  endpoint: string; // what the user configured, or the AWS default
  region?: string;
}

/** The backup location's spec, credentials or trust cannot work: the location must be fixed. */
export function invalidLocation(reason: string, message: string, cause?: unknown): StalledError {
  return new StalledError(reason, message, { scope: 'location', ...(cause !== undefined && { cause }) });
}

/** A key that is not in the bucket. */
export class ObjectNotFoundError extends StalledError {
  constructor(readonly key: string, bucket: string) {
    super('ObjectNotFound', `object ${key} not found in bucket ${bucket}`);
  }
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
const CREDENTIAL_CODES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'InvalidClientTokenId']);
const REGION_CODES = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'AuthorizationQueryParametersError']);
const THROTTLE_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'RequestTimeTooSkewed', 'InternalError', 'ServiceUnavailable', 'TimeoutError', 'RequestTimeoutException']);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  Region?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
  cause?: unknown;
}

/** `what` says what was being done, e.g. "upload of blob sha256:…". */
export function storeError(err: unknown, what: string, ctx: StoreContext): Error {
  const mapped = mapStoreError(err, what, ctx);
  // The SDK sent the request more than once already (the one retry policy): nobody above retries it again.
  const attempts = (err as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1;
  return attempts > 1 ? markExhausted(mapped) : mapped;
}

function mapStoreError(err: unknown, what: string, ctx: StoreContext): Error {
  if (err instanceof ReconcileError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkError;
  if (e.name === 'AbortError') return err as Error;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const where = `bucket ${JSON.stringify(ctx.bucket)} at ${ctx.endpoint}`;
  const options = { cause: err };
  const location = { cause: err, scope: 'location' as const };

  const connection = connectionError(err, what, ctx.endpoint, S3_HINTS);
  if (connection) return connection;
  if (CREDENTIAL_CODES.has(name)) {
    const why = name === 'InvalidAccessKeyId' ? 'its access key id is not known'
      : name === 'SignatureDoesNotMatch' ? 'its secret access key does not match the access key id'
        : 'its session token is expired or invalid';
    return new StalledError('InvalidCredentials', `${what}: ${where} refused the credentials of the backup location's credential secret: ${why} (${name})`, location);
  }
  if (name === 'NoSuchBucket') {
    return new StalledError('BucketNotFound', `${what}: ${where} does not exist; create it or fix objectStorage.bucket`, location);
  }
  const right = bucketRegion(e);
  if (REGION_CODES.has(name) || status === 301 || (right && ctx.region && right !== ctx.region)) {
    const hint = right ? `set config.region to ${JSON.stringify(right)}` : 'check config.region';
    return new StalledError('WrongRegion', `${what}: ${where} is not in region ${JSON.stringify(ctx.region ?? 'us-east-1')}`
      + `${right ? ` but in ${JSON.stringify(right)}` : ''}: ${hint}`, location);
  }
  if (name === 'AccessDenied' || name === 'AllAccessDisabled' || status === 403) {
    return new StalledError('AccessDenied', `${what}: ${where} denied access to the backup location's credentials `
      + '(needed: s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject, s3:AbortMultipartUpload under the prefix)', location);
  }
  if (THROTTLE_CODES.has(name) || (status !== undefined && status >= 500)) {
    return new TransientError('StorageUnavailable', `${what}: ${where} answered ${name || status} (will retry)`, options);
  }
  return new TransientError('StorageError', `${what}: ${where}: ${name || 'error'}: ${errorMessage(err).slice(0, 300)}`, options);
}

/** What a connection error tells the user to check: the endpoint's config key, and where else a CA may come from. */
export interface ConnectionHints {
  endpointKey: string;
  caHint: string;
}

const S3_HINTS: ConnectionHints = { endpointKey: 'config.s3Url', caHint: ' (or AWS_CA_BUNDLE on the controller)' };

/**
 * The errors of the connection itself, the same for every provider: a certificate that cannot
 * be verified, a failed handshake, a server that cannot be reached. Undefined for anything else.
 */
export function connectionError(err: unknown, what: string, endpoint: string, hints: ConnectionHints): Error | undefined {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkError;
  const code = socketCode(err);
  const location = { cause: err, scope: 'location' as const };
  if ((code && TLS_CODES.has(code)) || /certificate/i.test(e.message ?? '')) {
    return new StalledError('TLSVerificationFailed', `${what}: the TLS certificate of ${endpoint} cannot be verified `
      + `(${code ?? errorMessage(err).slice(0, 200)}): set objectStorage.caCert on the backup location to the base64-encoded PEM `
      + `of the CA that signed it${hints.caHint}`, location);
  }
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return new StalledError('TLSHandshakeFailed', `${what}: TLS handshake with ${endpoint} failed (${code}); `
      + `check the scheme of ${hints.endpointKey} (https:// or http://)`, location);
  }
  if (code && NETWORK_CODES.has(code)) {
    return new TransientError('StorageUnreachable', `${what}: cannot reach ${endpoint} (${code}); check ${hints.endpointKey} and the network`, location);
  }
  return undefined;
}

/** The object is absent. A missing bucket is a 404 too, but a problem of the location, not an answer. */
export function isNotFound(err: unknown): boolean {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkError;
  if (e.name === 'NoSuchBucket') return false;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

function socketCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as SdkError).cause, depth++) {
    const code = (e as SdkError).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function bucketRegion(e: SdkError): string | undefined {
  const header = e.$response?.headers?.['x-amz-bucket-region'];
  if (header) return header;
  if (typeof e.Region === 'string' && e.Region) return e.Region;
  return /expecting '([a-z0-9-]+)'/.exec(e.message ?? '')?.[1];
}
