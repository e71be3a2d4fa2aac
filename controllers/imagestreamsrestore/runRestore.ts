// The adapter over pkg/store and pkg/restore: the only file of this controller that opens a
// store or runs the restorer. Progress goes through a ThrottledWriter, so the API server sees
// the latest counts at most once per PROGRESS_INTERVAL_MS.
import type { ImageFailure, Progress, Registry } from '../../pkg/contracts.js';
import { TransientError } from '../../pkg/errors.js';
import { runRestore } from '../../pkg/restore/index.js';
import type { RestoreSelector } from '../../pkg/restore/select.js';
import type { ResolvedLocation } from '../backupLocation.js';
import type { TransportSettings } from '../config.js';
import type { RegistryFactory } from '../internalRegistry.js';
import { openLocationStore } from '../locationStore.js';
import type { Logger } from '../runtime/logger.js';
import { ThrottledWriter } from '../runtime/throttle.js';
import { findBundle, type BundleLookup } from './findBundle.js';

export interface RestoreRunInput {
  backupName: string;
  location: ResolvedLocation;
  /** spec.imageStreams (empty: every image stream of the backup). */
  imageStreams: RestoreSelector[];
  namespaceMapping: Record<string, string>;
  /** Restore into this namespace only (a restore outside the admin namespaces). */
  targetNamespace?: string;
  registry: RegistryFactory;
  transport?: TransportSettings;
  concurrency?: { images?: number; blobs?: number };
  /** The last attempt before the run's deadline: images that fail transiently are final failures. */
  finalAttempt: boolean;
  /** No run of this restore came before (see pkg/restore runRestore's firstRun). */
  firstRun: boolean;
  /** Writes progress to the status; called at most once per `progressIntervalMs`, never twice at once. */
  writeProgress: (p: Progress) => Promise<void>;
  progressIntervalMs: number;
  signal: AbortSignal;
  log: Logger;
}

export interface RestoreOutcome {
  progress: Progress;
  failures: ImageFailure[];
}

export type RestoreRunner = (input: RestoreRunInput) => Promise<RestoreOutcome>;
export type BundleFinder = (location: ResolvedLocation, backupName: string, log: Logger, transport?: TransportSettings, signal?: AbortSignal) => Promise<BundleLookup>;

export const findBundleWithStore: BundleFinder = async (location, backupName, log, transport, signal) => {
  const store = await openLocationStore(location, log, transport);
  try {
    return await findBundle(store, backupName, signal);
  } finally {
    await store.close();
  }
};

export const runRestoreWithStore: RestoreRunner = async (input) => {
  const writer = new ThrottledWriter(input.writeProgress, input.progressIntervalMs, input.log);
  const store = await openLocationStore(input.location, input.log, input.transport);
  const reg = input.registry(input.signal);
  try {
    await preflight(reg.registry, input.signal);
    const { progress, failures } = await runRestore({
      store,
      registry: reg.registry,
      backupName: input.backupName,
      imageStreams: input.imageStreams,
      namespaceMapping: input.namespaceMapping,
      ...(input.targetNamespace && { targetNamespace: input.targetNamespace }),
      ...(input.concurrency && { concurrency: input.concurrency }),
      ...(input.transport && { retry: input.transport.retry }),
      finalAttempt: input.finalAttempt,
      firstRun: input.firstRun,
      ...(input.location.readOnly && { readOnly: true }),
      onLeaseError: (message) => input.log.warn(message),
      onProgress: (p) => writer.update(p),
      signal: input.signal,
    });
    return { progress, failures };
  } finally {
    // No progress write may land after the caller's final status.
    await writer.close();
    reg.close();
    await store.close();
  }
};

// The restorer reports each image's failure and goes on; with the registry down every image
// would fail and the restore would end Failed for a passing outage. One request first tells
// that apart: an outage is thrown (the run is retried), any other answer lets the images speak.
export async function preflight(registry: Pick<Registry, 'hasBlob'>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  try {
    await registry.hasBlob('imagestream-backup/preflight', `sha256:${'0'.repeat(64)}`);
  } catch (err) {
    if (err instanceof TransientError) throw err;
  }
}
