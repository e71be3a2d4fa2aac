// Errors typed by what the reconciler does next. The `reason` is a CamelCase word that
// ends up in a condition; the message is for a cluster admin and never holds a secret.

export type ErrorKind = 'Stalled' | 'Waiting' | 'Transient';

export abstract class ReconcileError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Needs a change of the spec (or of what it points at); retrying as is will not help. */
export class StalledError extends ReconcileError {
  readonly kind = 'Stalled' as const;
}

/** Something this depends on is not there yet; retry later, without counting a failure. */
export class WaitingError extends ReconcileError {
  readonly kind = 'Waiting' as const;
  constructor(reason: string, message: string, readonly retryAfterMs = 10_000, options?: { cause?: unknown }) {
    super(reason, message, options);
  }
}

/** A failure that may pass by itself (network, 5xx, throttling); retry with backoff. */
export class TransientError extends ReconcileError {
  readonly kind = 'Transient' as const;
}

/** Digest or size of streamed content did not match what was announced. */
export class DigestMismatchError extends StalledError {
  constructor(readonly expected: string, readonly actual: string, what = 'blob') {
    super('DigestMismatch', `${what} digest mismatch: expected ${expected}, got ${actual}`);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
