// Turns a registry's error response into an error the reconciler can act on, with the OCI
// error codes (`{"errors":[{"code","message"}]}`) in a message a cluster admin can read.
import type { IncomingMessage } from 'node:http';
import { type ReconcileError, StalledError, TransientError } from '../errors.js';
import { RETRIES_SPENT, readBody, type RetriesSpent } from './transport.js';
import { markExhausted } from '../retry.js';

const ERROR_BODY_LIMIT = 64 * 1024;

export interface ErrorContext {
  host: string;
  /** What was attempted, e.g. `pushing blob sha256:... to ns/name`. */
  what: string;
  /** Removes secrets from text a server sent back. */
  redact: (text: string) => string;
}

export async function responseError(res: IncomingMessage, ctx: ErrorContext): Promise<ReconcileError> {
  const status = res.statusCode ?? 0;
  let detail = '';
  try {
    detail = describeErrorBody(await readBody(res, ERROR_BODY_LIMIT, ctx.what, ctx.host));
  } catch {
    res.destroy();
  }
  const codes = detail ? ` (${ctx.redact(detail)})` : '';
  const text = `registry ${ctx.host} answered HTTP ${status} to ${ctx.what}${codes}`;
  if (status === 401 || status === 403) {
    return new StalledError('RegistryUnauthorized', `${text}: check the registry credentials (REGISTRY_USER, `
      + 'REGISTRY_PASSWORD or REGISTRY_PASSWORD_FILE) and that they may pull and push this repository');
  }
  if (status === 404) return new StalledError(notFoundReason(detail), text);
  if (status === 408 || status === 429 || status >= 500) {
    const err = new TransientError('RegistryUnavailable', text);
    return (res as RetriesSpent)[RETRIES_SPENT] ? markExhausted(err) : err;
  }
  return new StalledError('RegistryRejected', text);
}

export function unauthorized(ctx: Omit<ErrorContext, 'redact'>, hadCredentials: boolean): StalledError {
  const what = hadCredentials ? 'refused the credentials' : 'requires credentials, and none are configured,';
  return new StalledError('RegistryUnauthorized', `registry ${ctx.host} ${what} for ${ctx.what}: check `
    + 'the registry credentials (REGISTRY_USER, REGISTRY_PASSWORD or REGISTRY_PASSWORD_FILE)');
}

/** `CODE: message; CODE: message`, or a short excerpt when the body is not OCI error JSON. */
export function describeErrorBody(body: Buffer): string {
  const text = body.toString('utf8').trim();
  if (!text) return '';
  try {
    const doc = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    if (Array.isArray(doc.errors) && doc.errors.length > 0) {
      return doc.errors.slice(0, 5).map((e) => [e.code, e.message].filter((p) => typeof p === 'string' && p).join(': '))
        .filter(Boolean).join('; ').slice(0, 500);
    }
  } catch {
    // not JSON: fall through to an excerpt
  }
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

function notFoundReason(detail: string): string {
  if (detail.includes('MANIFEST_UNKNOWN')) return 'ManifestNotFound';
  if (detail.includes('BLOB_UNKNOWN')) return 'BlobNotFound';
  if (detail.includes('NAME_UNKNOWN')) return 'RepositoryNotFound';
  return 'NotFound';
}
