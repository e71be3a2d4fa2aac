// The adapter over pkg/verify for an ImageStreamsRestore with spec.verifyOnly: opens the
// location's store (never the registry), verifies, and writes every damaged blob to the log,
// since the status and the event hold only the first ones.
import type { Progress } from '../../pkg/contracts.js';
import type { RestoreSelector } from '../../pkg/restore/select.js';
import { verifyBackup, type VerifyResult } from '../../pkg/verify/index.js';
import type { ResolvedLocation } from '../backupLocation.js';
import type { TransportSettings } from '../config.js';
import { openLocationStore } from '../locationStore.js';
import type { Logger } from '../runtime/logger.js';
import { ThrottledWriter } from '../runtime/throttle.js';

export interface VerifyRunInput {
  backupName: string;
  location: ResolvedLocation;
  /** spec.imageStreams (empty: every image stream of the backup). */
  imageStreams: RestoreSelector[];
  transport?: TransportSettings;
  /** Layers read at once. */
  concurrency?: number;
  /** Writes progress to the status; called at most once per `progressIntervalMs`, never twice at once. */
  writeProgress: (p: Progress) => Promise<void>;
  progressIntervalMs: number;
  signal: AbortSignal;
  log: Logger;
}

export type VerifyOutcome = VerifyResult;
export type VerifyRunner = (input: VerifyRunInput) => Promise<VerifyOutcome>;

export const runVerifyWithStore: VerifyRunner = async (input) => {
  const writer = new ThrottledWriter(input.writeProgress, input.progressIntervalMs, input.log);
  const store = await openLocationStore(input.location, input.log, input.transport);
  try {
    const result = await verifyBackup(store, input.backupName, {
      imageStreams: input.imageStreams,
      ...(input.concurrency && { concurrency: input.concurrency }),
      ...(input.location.readOnly && { readOnly: true }),
      onLeaseError: (message) => input.log.warn(message),
      onProgress: (p) => writer.update(p),
      signal: input.signal,
    });
    logFindings(input.log, input.backupName, result);
    return result;
  } finally {
    // No progress write may land after the caller's final status.
    await writer.close();
    await store.close();
  }
};

function logFindings(log: Logger, backupName: string, r: VerifyResult): void {
  if (r.bundleProblem) log.warn('backup bundle is not valid', { backup: backupName, problem: r.bundleProblem });
  for (const p of r.problems) {
    log.warn('damaged blob', {
      backup: backupName, digest: p.digest, location: p.location, problem: p.problem, expectedSize: p.expectedSize,
      ...(p.actualSize !== undefined && { actualSize: p.actualSize }), ...(p.actualDigest && { actualDigest: p.actualDigest }),
      imageStreams: p.imageStreams,
    });
  }
  log.info('backup verified', {
    backup: backupName, intact: r.intact, damagedBlobs: r.problems.length, layers: r.progress.blobs.done, bytes: r.progress.bytes.done, metadata: r.metadataChecked,
  });
}
