// Errors typed by what the reconciler does next. The `reason` is a CamelCase word that
// ends up in a condition; the message is for a cluster admin and never holds a secret.
// Every error is classified once (classify below), and that class decides everything above:
// retry the request, retry the run after a backoff, wait for the location, or fail.

export type ErrorKind = 'Stalled' | 'Waiting' | 'Transient';

/** What an error is about, when it is not one image: the location (BSL) as a whole. */
export type ErrorScope = 'location';

export abstract class ReconcileError extends Error {
  abstract readonly kind: ErrorKind;
  readonly scope?: ErrorScope;
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown; scope?: ErrorScope },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.scope) this.scope = options.scope;
  }
}

/** Needs a change of the spec (or of what it points at); retrying as is will not help. */
export class StalledError extends ReconcileError {
  readonly kind = 'Stalled' as const;
}

/** Something this depends on is not there yet; retry later, without counting a failure. */
export class WaitingError extends ReconcileError {
  readonly kind = 'Waiting' as const;
  constructor(reason: string, message: string, readonly retryAfterMs = 10_000, options?: { cause?: unknown; scope?: ErrorScope }) {
    super(reason, message, options);
  }
}

/** A failure that may pass by itself (network, 5xx, throttling); retry with backoff. */
export class TransientError extends ReconcileError {
  readonly kind = 'Transient' as const;
  constructor(reason: string, message: string, options?: { cause?: unknown; scope?: ErrorScope; retryAfterMs?: number }) {
    super(reason, message, options);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  /** What the server asked for (Retry-After), when it did. */
  readonly retryAfterMs?: number;
}

/**
 * Some images failed transiently, the others are done: the run is tried again later (what is
 * done is not done twice), unless it is the last attempt before the deadline.
 */
export class TransientImagesError extends TransientError {
  constructor(readonly failures: Array<{ imageStream: string; reference: string; message: string }>, readonly progress: unknown) {
    const first = failures[0];
    super('ImagesUnavailable', `${failures.length} image${failures.length === 1 ? '' : 's'} failed for a reason that may pass`
      + `${first ? ` (first: ${first.imageStream} ${first.reference}: ${first.message})` : ''}`);
  }
}

/** Digest or size of streamed content did not match what was announced. */
export class DigestMismatchError extends StalledError {
  constructor(readonly expected: string, readonly actual: string, what = 'blob') {
    super('DigestMismatch', `${what} digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/**
 * The one classification:
 * - `transient`: may pass by itself (network, timeouts, 408/429/5xx, throttling): retried;
 * - `corrupt`: content that does not match its digest, or a bundle that cannot be read: never retried;
 * - `lasting`: needs a change (a missing image, refused credentials, an invalid spec);
 * - `aborted`: the work was cancelled (the object was deleted, the controller stops).
 * An error nobody typed is a bug or an unexpected answer: transient, so that it is retried
 * (with backoff, until the run's deadline) rather than made permanent at once.
 */
export type ErrorClass = 'transient' | 'lasting' | 'corrupt' | 'aborted';

export function classify(err: unknown): ErrorClass {
  if (isAbort(err)) return 'aborted';
  if (err instanceof DigestMismatchError) return 'corrupt';
  if (err instanceof ReconcileError) {
    if (err.reason === 'InvalidBundle') return 'corrupt';
    return err.kind === 'Stalled' ? 'lasting' : 'transient';
  }
  return 'transient';
}

export function isAbort(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

/** Is this about the location as a whole (wait for it to be fixed, rather than fail the work)? */
export function isLocationError(err: unknown): boolean {
  return err instanceof ReconcileError && err.scope === 'location';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
