// The adapter over pkg/store and pkg/backup: the only file of this controller that knows them.
import type { ImageFailure, Progress } from '../../pkg/contracts.js';
import type { BackupIdentity } from '../../pkg/bundle/format.js';
import { runBackup } from '../../pkg/backup/index.js';
import type { ResolvedLocation } from '../backupLocation.js';
import type { TransportSettings } from '../config.js';
import type { Logger } from '../runtime/logger.js';
import type { RegistryFactory } from '../internalRegistry.js';
import { openLocationStore } from '../locationStore.js';
import { deleteOwnBundle, type BundleDeletion } from '../../pkg/gc/deleteBundle.js';
import type { ImageStreamInput } from './validateReferences.js';

export interface BackupOutcome {
  progress: Progress;
  failures: ImageFailure[];
  /** Images this run could not read again, kept from the bundle committed before. */
  carried: ImageFailure[];
  bundleKey: string;
}

export interface BackupRunInput {
  backup: BackupIdentity;
  gcFenceMs?: number;
  location: ResolvedLocation;
  imageStreams: ImageStreamInput[];
  registry: RegistryFactory;
  transport?: TransportSettings;
  concurrency?: { images?: number; blobs?: number; bufferBytes?: number };
  finalAttempt: boolean;
  onProgress: (p: Progress) => void;
  signal: AbortSignal;
  log: Logger;
}

export type BackupRunner = (input: BackupRunInput) => Promise<BackupOutcome>;
export type BundleDeleter = (location: ResolvedLocation, backup: { namespace: string; name: string; uid: string }, log: Logger, transport?: TransportSettings) => Promise<BundleDeletion>;
export type LocationChecker = (location: ResolvedLocation, log: Logger, transport?: TransportSettings, signal?: AbortSignal) => Promise<void>;

export const runBackupWithStore: BackupRunner = async (input) => {
  const store = await openLocationStore(input.location, input.log, input.transport);
  const reg = input.registry(input.signal);
  try {
    const result = await runBackup({
      store,
      registry: reg.registry,
      backup: input.backup,
      ...(input.gcFenceMs !== undefined && { gcFenceMs: input.gcFenceMs }),
      imageStreams: input.imageStreams,
      ...(input.concurrency && { concurrency: input.concurrency }),
      ...(input.transport && { retry: input.transport.retry }),
      finalAttempt: input.finalAttempt,
      onProgress: input.onProgress,
      signal: input.signal,
    });
    return { progress: result.progress, failures: result.failures, carried: result.carried, bundleKey: result.bundleKey };
  } finally {
    reg.close();
    await store.close();
  }
};

/** One cheap request that proves endpoint, TLS, credentials and bucket, before anything is copied. */
export const checkLocationWithStore: LocationChecker = async (location, log, transport, signal) => {
  const store = await openLocationStore(location, log, transport);
  try {
    await store.check(signal);
  } finally {
    await store.close();
  }
};

/** Deletes the backup's bundle.tar if it is this backup's (pkg/gc/deleteBundle.ts). */
export const deleteBundleWithStore: BundleDeleter = async (location, backup, log, transport) => {
  const store = await openLocationStore(location, log, transport);
  try {
    return await deleteOwnBundle(store, backup);
  } finally {
    await store.close();
  }
};
