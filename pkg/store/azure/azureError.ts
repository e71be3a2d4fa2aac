// Turns Azure SDK errors (RestError, and @azure/identity's errors) into the same reasons the
// S3 store gives, so a condition reads the same whatever the provider. Messages are built
// here, never copied from a request.
import { ReconcileError, StalledError, TransientError, errorMessage } from '../../errors.js';
import { parseRetryAfter } from '../../retry.js';
import { connectionError } from '../storeError.js';

export interface AzureContext {
  account: string;
  container: string;
  endpoint: string;
}

interface AzureErrorLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  details?: { errorCode?: string };
  response?: { headers?: { get?(name: string): string | undefined } };
}

export const AZURE_HINTS = { endpointKey: 'config.storageAccountURI', caHint: '' };

/** The error code Azure Storage answered with (x-ms-error-code), when it did. */
export function azureCode(err: unknown): string | undefined {
  const e = (typeof err === 'object' && err !== null ? err : {}) as AzureErrorLike;
  return e.details?.errorCode ?? e.response?.headers?.get?.('x-ms-error-code') ?? (e.name === 'RestError' && e.code && !/^[A-Z_]+$/.test(e.code) ? e.code : undefined);
}

export function statusOf(err: unknown): number | undefined {
  return (err as AzureErrorLike | undefined)?.statusCode;
}

/** The blob is absent (a missing container is a 404 too, but a problem of the location). */
export function isBlobNotFound(err: unknown): boolean {
  const code = azureCode(err);
  return statusOf(err) === 404 && code !== 'ContainerNotFound' && code !== 'ResourceNotFound';
}

/** `what` says what was being done, e.g. "reading <key>". */
export function azureError(err: unknown, what: string, ctx: AzureContext): Error {
  if (err instanceof ReconcileError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as AzureErrorLike;
  if (e.name === 'AbortError') return err as Error;
  const where = `container ${JSON.stringify(ctx.container)} of storage account ${JSON.stringify(ctx.account)} at ${ctx.endpoint}`;
  const location = { cause: err, scope: 'location' as const };

  const connection = connectionError(err, what, ctx.endpoint, AZURE_HINTS);
  if (connection) return connection;
  // @azure/identity: Entra ID refused the service principal, or no pod identity is there.
  if (e.name === 'AuthenticationError' || e.name === 'CredentialUnavailableError' || e.name === 'AuthenticationRequiredError') {
    return new StalledError('InvalidCredentials', `${what}: Entra ID refused the backup location's credentials for storage account `
      + `${JSON.stringify(ctx.account)} (${e.name}); check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET`, location);
  }
  const code = azureCode(err) ?? '';
  const status = statusOf(err);
  // Azure says AuthenticationFailed; Azurite says AuthorizationFailure with Azure's text for it.
  const unauthenticated = code === 'AuthenticationFailed' || code === 'InvalidAuthenticationInfo' || /^Server failed to authenticate the request/.test(e.message ?? '');
  if (unauthenticated || (status === 403 && code === '') || status === 401) {
    return new StalledError('InvalidCredentials', `${what}: ${where} refused the credentials of the backup location's credential secret `
      + `(${code || status}): check the storage account key or the service principal`, location);
  }
  if (code === 'ContainerNotFound') {
    return new StalledError('BucketNotFound', `${what}: ${where} does not exist; create the container or fix objectStorage.bucket`, location);
  }
  if (code === 'ResourceNotFound' || code === 'AccountIsDisabled' || code === 'InvalidResourceName') {
    return new StalledError('BucketNotFound', `${what}: ${where} cannot be found (${code}); check config.storageAccount and objectStorage.bucket`, location);
  }
  if (status === 403) {
    return new StalledError('AccessDenied', `${what}: ${where} denied access to the backup location's credentials (${code}): `
      + 'a service principal needs the role Storage Blob Data Contributor on the container (read, write, delete, list)', location);
  }
  if (status === 408 || status === 429 || (status !== undefined && status >= 500) || code === 'ServerBusy' || code === 'OperationTimedOut') {
    const retryAfterMs = parseRetryAfter(e.response?.headers?.get?.('retry-after'));
    return new TransientError('StorageUnavailable', `${what}: ${where} answered ${code || status} (will retry)`,
      { cause: err, ...(retryAfterMs !== undefined && { retryAfterMs }) });
  }
  return new TransientError('StorageError', `${what}: ${where}: ${code || status || e.name || 'error'}: ${errorMessage(err).split('\n')[0]!.slice(0, 300)}`, { cause: err });
}
