// Turns GCS answers and socket errors into the same reasons the S3 store gives, so a
// condition reads the same whatever the provider. Messages are built here, never copied from a
// request.
import { ReconcileError, StalledError, TransientError, errorMessage } from '../../errors.js';
import { connectionError } from '../storeError.js';
import { GcsHttpError } from './http.js';

export interface GcsContext {
  bucket: string;
  endpoint: string;
}

const GCS_HINTS = { endpointKey: 'config.storeEndpoint', caHint: '' };

/** A 404 that is about the bucket, not an object (GCS says so; fake-gcs-server does not, see the README). */
export function isBucketMissing(err: unknown): boolean {
  return err instanceof GcsHttpError && err.status === 404 && /bucket/i.test(err.message);
}

export function gcsError(err: unknown, what: string, ctx: GcsContext, opts: { listing?: boolean } = {}): Error {
  if (err instanceof ReconcileError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: string };
  if (e.name === 'AbortError') return err as Error;
  const where = `bucket ${JSON.stringify(ctx.bucket)} at ${ctx.endpoint}`;
  const location = { cause: err, scope: 'location' as const };
  const connection = connectionError(err, what, ctx.endpoint, GCS_HINTS);
  if (connection) return connection;
  if (e.name === 'CredentialUnavailableError' || (err instanceof Error && /invalid_grant|unauthorized_client|Could not load the default credentials/i.test(err.message))) {
    return new StalledError('InvalidCredentials', `${what}: no access token could be had for ${where}: ${errorMessage(err).split('\n')[0]!.slice(0, 200)}`, location);
  }
  if (!(err instanceof GcsHttpError)) {
    return new TransientError('StorageError', `${what}: ${where}: ${errorMessage(err).split('\n')[0]!.slice(0, 300)}`, { cause: err });
  }
  if (err.status === 401) {
    return new StalledError('InvalidCredentials', `${what}: ${where} refused the service account key of the backup location's credential secret `
      + `(${err.reason || 'HTTP 401'}): the key may be deleted or of another project`, location);
  }
  // A listing that finds no bucket, or GCS saying the bucket is missing.
  if (err.status === 404 && (opts.listing || isBucketMissing(err))) {
    return new StalledError('BucketNotFound', `${what}: ${where} does not exist; create it or fix objectStorage.bucket`, location);
  }
  if (err.status === 403) {
    return new StalledError('AccessDenied', `${what}: ${where} denied access to the backup location's service account (${err.reason || 'forbidden'}): `
      + 'it needs roles/storage.objectAdmin on the bucket (and roles/cloudkms.cryptoKeyEncrypterDecrypter on config.kmsKeyName when set)', location);
  }
  if (err.status === 408 || err.status === 429 || err.status >= 500) {
    return new TransientError('StorageUnavailable', `${what}: ${where} answered ${err.reason || err.status} (will retry)`,
      { cause: err, ...(err.retryAfterMs !== undefined && { retryAfterMs: err.retryAfterMs }) });
  }
  return new TransientError('StorageError', `${what}: ${where}: ${err.status} ${err.reason}: ${err.message}`, { cause: err });
}
