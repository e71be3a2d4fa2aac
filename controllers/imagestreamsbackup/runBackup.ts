// The adapter over pkg/store and pkg/backup: the only file of this controller that knows them.
import type { ImageFailure, Progress } from '../../pkg/contracts.js';
import { runBackup } from '../../pkg/backup/index.js';
import { openStore } from '../../pkg/store/index.js';
import type { ResolvedLocation } from '../backupLocation.js';
import type { Logger } from '../runtime/logger.js';
import type { RegistryFactory } from '../internalRegistry.js';
import type { ImageStreamInput } from './validateReferences.js';

export interface BackupOutcome {
  progress: Progress;
  failures: ImageFailure[];
  bundleKey: string;
}

export interface BackupRunInput {
  backup: { namespace: string; name: string; uid: string };
  location: ResolvedLocation;
  imageStreams: ImageStreamInput[];
  registry: RegistryFactory;
  concurrency?: { images?: number; blobs?: number; bufferBytes?: number };
  onProgress: (p: Progress) => void;
  signal: AbortSignal;
  log: Logger;
}

export type BackupRunner = (input: BackupRunInput) => Promise<BackupOutcome>;
export type LocationChecker = (location: ResolvedLocation, log: Logger, signal?: AbortSignal) => Promise<void>;

export const runBackupWithStore: BackupRunner = async (input) => {
  const store = await openStore({
    location: input.location.location,
    ...(input.location.credentials !== undefined && { credentials: input.location.credentials }),
    log: (message) => input.log.info(message),
  });
  const reg = input.registry();
  try {
    const result = await runBackup({
      store,
      registry: reg.registry,
      backup: input.backup,
      imageStreams: input.imageStreams,
      ...(input.concurrency && { concurrency: input.concurrency }),
      onProgress: input.onProgress,
      signal: input.signal,
    });
    return { progress: result.progress, failures: result.failures, bundleKey: result.bundleKey };
  } finally {
    reg.close();
    await store.close();
  }
};

/** One cheap request that proves endpoint, TLS, credentials and bucket, before anything is copied. */
export const checkLocationWithStore: LocationChecker = async (location, log, signal) => {
  const store = await openStore({
    location: location.location,
    ...(location.credentials !== undefined && { credentials: location.credentials }),
    log: (message) => log.info(message),
  });
  try {
    await store.check(signal);
  } finally {
    await store.close();
  }
};
