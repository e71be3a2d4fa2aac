// Checks a stored backup without restoring it: the bundle is read with the restore's guards for
// untrusted bundles (every entry hashed, every image's manifests present), every manifest, index
// and config the selected images reach is read and hashed, and every layer they need is read
// from the pool as a stream and hashed, a few at a time. Nothing is written but a lease (pkg/gc)
// that keeps the layers while they are read; on a ReadOnly location not even that.
import pLimit from 'p-limit';
import type { ImageFailure, Progress } from '../contracts.js';
import type { BackupIdentity, Bundle } from '../bundle/format.js';
import { openBundle } from '../bundle/open.js';
import { ProgressTracker, emptyProgress } from '../backup/progress.js';
import { DEFAULT_CONCURRENCY } from '../backup/uploadBlobs.js';
import { ReconcileError } from '../errors.js';
import { Lease } from '../gc/lease.js';
import { readBundle } from '../restore/readBundle.js';
import type { RestoreSelector } from '../restore/select.js';
import type { ObjectStore } from '../store/objectStore.js';
import { checkLayer, type LayerFinding } from './checkLayer.js';
import { planVerification } from './plan.js';
import { bundleEntryProblem, layerProblem, type BlobProblem } from './problems.js';

export interface VerifyOptions {
  /** Only these image streams or images (an ImageStreamsRestore's spec.imageStreams); empty or absent: everything. */
  imageStreams?: RestoreSelector[];
  /** Layers read at once. */
  concurrency?: number;
  /** Called at most every 500 ms, and at the end, with a copy (blobs and bytes: the pool's layers). */
  onProgress?: (p: Progress) => void;
  /** Nothing is written to the location (a ReadOnly BSL): no lease is taken. */
  readOnly?: boolean;
  /** Told when the lease cannot be written: the verification goes on without it. */
  onLeaseError?: (message: string) => void;
  signal?: AbortSignal;
}

export interface VerifyResult {
  /** Whose backup it is; absent when even backup.json could not be read. */
  backup?: BackupIdentity;
  /** images: selected (done: intact, failed: with a bad blob or not in the backup); blobs and bytes: the pool's layers read. */
  progress: Progress;
  /** Manifests, indexes and configs checked in the bundle. */
  metadataChecked: number;
  /** Every blob found missing, of the wrong size, or hashing to another digest. */
  problems: BlobProblem[];
  /** The bundle itself is not valid (a corrupt entry, a missing manifest): nothing of it would be restored. */
  bundleProblem?: string;
  /** Selectors and references that name nothing in the backup. */
  unmatched: ImageFailure[];
  /** No problem, and the bundle is valid. */
  intact: boolean;
}

/**
 * Throws BundleNotFoundError (a WaitingError) when the backup is not in the store, and what the
 * store throws when it cannot be read (a failure that may pass: nothing is concluded from it).
 */
export async function verifyBackup(store: ObjectStore, backupName: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  let bundle: Bundle;
  try {
    bundle = await readBundle(store, backupName, opts.signal);
  } catch (err) {
    if (err instanceof ReconcileError && err.reason === 'InvalidBundle') return invalidBundle(store, backupName, err.message, opts.signal);
    throw err;
  }
  const plan = await planVerification(bundle, opts.imageStreams ?? []);
  const tracker = new ProgressTracker(opts.onProgress);
  const p = tracker.progress;
  const unmatchedImages = plan.unmatched.filter((f) => f.reference !== '').length;
  p.images.total = plan.images.length + unmatchedImages;
  p.blobs.total = plan.layers.length;
  p.bytes.total = plan.layers.reduce((n, l) => n + l.size, 0);
  tracker.changed(true);

  const findings = new Map<string, LayerFinding>();
  const lease = opts.readOnly ? undefined : await Lease.tryTake(store, 'verify', `verification of backup ${bundle.backup.backup.namespace}/${bundle.backup.backup.name}`,
    plan.layers.map((l) => l.digest), opts.onLeaseError);
  try {
    await readAll(plan.layers, opts.concurrency ?? DEFAULT_CONCURRENCY.blobs, opts.signal, async (layer, signal) => {
      const finding = await checkLayer(store, layer, (n) => {
        p.bytes.done += n;
        tracker.changed();
      }, signal);
      if (finding) findings.set(layer.digest, finding);
      p.blobs.done++;
      tracker.changed();
    });
  } catch (err) {
    tracker.finish();
    throw err;
  } finally {
    await lease?.release();
  }

  const streamsOf = (d: string) => [...(plan.users.get(d) ?? [])].sort();
  const problems = [
    ...plan.metadataMismatches.map((m) => bundleEntryProblem(m.digest, m.size, m.actual, streamsOf(m.digest))),
    ...plan.layers.filter((l) => findings.has(l.digest))
      .map((l) => layerProblem(l.digest, l.size, findings.get(l.digest)!, store.blobKey(l.digest), streamsOf(l.digest))),
  ];
  const bad = new Set(problems.map((x) => x.digest));
  for (const image of plan.images) {
    if (image.blobs.some((d) => bad.has(d))) p.images.failed++;
    else p.images.done++;
  }
  p.images.failed += unmatchedImages;
  // The last counts are reported, then nothing more.
  tracker.changed(true);
  tracker.finish();
  return {
    backup: bundle.backup.backup, progress: tracker.snapshot(), metadataChecked: plan.metadataChecked, problems, unmatched: plan.unmatched, intact: problems.length === 0,
  };
}

/** Runs `check` on each layer, `concurrency` at a time; the first failure stops the rest, and is thrown once all have stopped. */
async function readAll<T>(items: T[], concurrency: number, outer: AbortSignal | undefined, check: (item: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const signal = outer ? AbortSignal.any([outer, stop.signal]) : stop.signal;
  const limit = pLimit(Math.max(1, concurrency));
  let first: { error: unknown } | undefined;
  await Promise.allSettled(items.map((item) => limit(async () => {
    signal.throwIfAborted();
    try {
      await check(item, signal);
    } catch (error) {
      first ??= { error };
      stop.abort(error);
      throw error;
    }
  })));
  outer?.throwIfAborted();
  if (first) throw first.error;
}

/** A bundle the restore would refuse: what it says, and whose it is when its backup.json can be read. */
async function invalidBundle(store: ObjectStore, backupName: string, message: string, signal?: AbortSignal): Promise<VerifyResult> {
  let backup: BackupIdentity | undefined;
  try {
    backup = (await openBundle(store, store.bundleKey(backupName), { name: backupName, stopAfterBackupJson: true, ...(signal && { signal }) }))?.backup.backup;
  } catch {
    // backup.json itself is what is wrong: the message above says so.
  }
  return { ...(backup && { backup }), progress: emptyProgress(), metadataChecked: 0, problems: [], bundleProblem: message, unmatched: [], intact: false };
}
