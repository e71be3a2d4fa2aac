// How long a restore waits for its backup to be found. On a new cluster the restore is
// created first, on purpose, before the BackupStorageLocation exists or before Velero has
// synced it; so a missing location or bundle is retried, with a growing delay, until a fixed
// time after the restore's creation, then the restore fails. Counting from creationTimestamp
// (not from this process's start) keeps the deadline across controller restarts.

/** The setting that bounds the wait (controllers/config.ts), named in the failure message. */
export const BUNDLE_WAIT_ENV = 'RESTORE_BUNDLE_WAIT_SECONDS';

const MIN_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;

export type WaitDecision =
  | { action: 'retry'; retryAfterMs: number; deadline: Date }
  | { action: 'fail'; deadline: Date };

/**
 * Retry after half the time waited so far (an exponential backoff that needs no memory, so a
 * restart does not reset it), between 1 s and 60 s, and never past the deadline, so the
 * failure is reported on time.
 */
export function waitDecision(createdAt: Date, now: Date, waitMs: number): WaitDecision {
  const deadline = new Date(createdAt.getTime() + waitMs);
  const left = deadline.getTime() - now.getTime();
  if (left <= 0) return { action: 'fail', deadline };
  const waited = Math.max(0, now.getTime() - createdAt.getTime());
  const backoff = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, Math.floor(waited / 2)));
  return { action: 'retry', retryAfterMs: Math.min(backoff, left), deadline };
}
