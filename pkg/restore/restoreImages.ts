// Pushes the selected image streams of a bundle into the target registry. Per reference:
// all its blobs, then its manifests by digest (an index's children first); per image stream,
// once all its references are in, the tags, in backup order. A reference that fails pushes
// no manifest and no tag. A tag belongs to the first (newest) reference that lists it: when
// that one failed, the tag is left unset and reported, never pointed at an older image.
// What is attached to a reference's manifests (referrers, cosign tags) follows it into the
// same repository (pushReferrers.ts); one that fails is reported, the image stays.
import pLimit from 'p-limit';
import { DEFAULT_CONCURRENCY } from '../backup/uploadBlobs.js';
import type { ImageFailure, Registry } from '../contracts.js';
import { errorMessage } from '../errors.js';
import type { RetryPolicy } from '../retry.js';
import type { Bundle, BundleReference } from '../bundle/format.js';
import type { ProgressTracker } from '../backup/progress.js';
import { selectForRestore, type RestoreSelector, type RestoreTarget } from './select.js';
import { BlobPusher, type LayerStore } from './pushBlob.js';
import { pushOrder, type ManifestStep } from '../bundle/tree.js';
import { referrersOf } from '../bundle/referrers.js';
import type { BundleReferrer } from '../bundle/format.js';
import { ReferrerPusher } from './pushReferrers.js';

export interface RestoreImagesOptions {
  /** Layers come from here (the pool; an archive on import). */
  store: LayerStore;
  registry: Registry;
  bundle: Bundle;
  /** spec.imageStreams of the restore (empty or absent: everything); see select.ts. */
  imageStreams?: RestoreSelector[];
  /** Restore into this namespace only (a restore outside the admin namespaces). */
  targetNamespace?: string;
  namespaceMapping?: Record<string, string>;
  concurrency?: { images?: number; blobs?: number };
  retry?: RetryPolicy;
  progress: ProgressTracker;
  signal?: AbortSignal;
  /** The first run of this restore: see runRestore.ts RunRestoreOptions.firstRun. */
  firstRun?: boolean;
}

/** A failed image or tag, with its cause kept so the caller can tell a passing failure from a lasting one. */
export interface RestoreFailure extends ImageFailure {
  cause?: unknown;
}

export async function restoreImages(opts: RestoreImagesOptions): Promise<RestoreFailure[]> {
  const { store, registry, bundle, progress, signal } = opts;
  const plan = selectForRestore(bundle.backup, opts.imageStreams ?? [], opts.namespaceMapping ?? {}, opts.targetNamespace);
  const failures: RestoreFailure[] = [...plan.failures];
  const p = progress.progress;
  const imageLimit = pLimit(opts.concurrency?.images ?? DEFAULT_CONCURRENCY.images);
  const blobsPerImage = opts.concurrency?.blobs ?? DEFAULT_CONCURRENCY.blobs;
  const pusher = new BlobPusher(store, registry, { ...(opts.retry && { retry: opts.retry }), ...(signal && { signal }) });

  // Totals: each blob once per target repository.
  const counted = new Set<string>();
  const orders = new Map<string, ManifestStep[]>();
  const orderOf = async (digest: string, mediaType: string): Promise<ManifestStep[]> => {
    // The order depends on the manifest only, not on where it goes.
    let steps = orders.get(digest);
    if (!steps) {
      steps = await pushOrder(bundle.blobs, digest, mediaType);
      orders.set(digest, steps);
    }
    return steps;
  };
  const attached = new Map<string, BundleReferrer[]>(); // reference digest -> its referrers, in push order
  p.referrers = 0;
  for (const s of plan.targets) {
    for (const r of s.references) {
      p.images.total++;
      const steps = [...await orderOf(r.digest, r.mediaType)];
      let referrers = attached.get(r.digest);
      if (!referrers) {
        referrers = referrersOf(bundle.backup, steps.map((st) => st.digest));
        attached.set(r.digest, referrers);
      }
      for (const x of referrers) steps.push(...await orderOf(x.digest, x.mediaType));
      for (const b of steps.flatMap((st) => st.blobs)) {
        const key = `${s.repo}@${b.digest}`;
        if (counted.has(key)) continue;
        counted.add(key);
        p.blobs.total++;
        p.bytes.total += b.size;
      }
    }
  }
  // References that name nothing in the backup are images of this restore that failed.
  const missing = plan.failures.filter((f) => f.reference !== '').length;
  p.images.total += missing;
  p.images.failed += missing;
  progress.changed(true);

  const accounted = new Set<string>(); // repo@digest already counted as done or skipped
  const account = (repo: string, digest: string, size: number, outcome: 'uploaded' | 'present' | 'mounted') => {
    const key = `${repo}@${digest}`;
    if (accounted.has(key)) return;
    accounted.add(key);
    if (outcome === 'uploaded') {
      p.blobs.done++;
    } else {
      p.blobs.skipped++;
      p.bytes.skipped += size;
    }
    progress.changed();
  };

  const pushedReferrers = new Set<string>(); // repo@digest
  const referrerPusher = new ReferrerPusher({
    registry, bundle, orders, blobsPerImage, ...(signal && { signal }),
    hasManifest: (repo, digest) => hasManifest(registry, repo, digest),
    blobPresent: (repo, b) => account(repo, b.digest, b.size, 'present'),
    ensureBlob: async (repo, b) => {
      const bundled = b.inBundle ? await bundle.blobs.get(b.digest) : undefined;
      const outcome = await pusher.ensure(repo, { desc: b, ...(bundled && { bundled }) }, (n) => {
        p.bytes.done += n;
        progress.changed();
      });
      account(repo, b.digest, b.size, outcome);
    },
    onPushed: (repo, digest) => {
      if (pushedReferrers.has(`${repo}@${digest}`)) return;
      pushedReferrers.add(`${repo}@${digest}`);
      p.referrers = (p.referrers ?? 0) + 1;
      progress.changed();
    },
  });

  const restoreReference = async (stream: RestoreTarget, ref: BundleReference): Promise<void> => {
    const { repo } = stream;
    const steps = orders.get(ref.digest)!;
    // A restarted restore skips what it finished: a manifest is in the registry only when
    // everything below it is.
    // Asked all at once: an index and its children are one round trip, not one each.
    const present = await Promise.all(steps.map((step) => hasManifest(registry, repo, step.digest)));
    const missing: ManifestStep[] = [];
    for (const [i, step] of steps.entries()) {
      if (present[i]) {
        for (const b of step.blobs) {
          account(repo, b.digest, b.size, 'present');
          // Another reference of the repository that shares it neither asks for it nor pushes it.
          pusher.known(repo, b.digest);
        }
      } else {
        missing.push(step);
      }
    }
    // Every blob of the reference before any manifest: a corrupt blob anywhere stops the
    // reference before the registry holds a manifest of it.
    const blobLimit = pLimit(blobsPerImage);
    const blobs = new Map(missing.flatMap((st) => st.blobs).map((b) => [b.digest, b]));
    const likelyAbsent = opts.firstRun === true && missing.length === steps.length;
    const settled = await Promise.allSettled([...blobs.values()].map((b) => blobLimit(async () => {
      signal?.throwIfAborted();
      const bundled = b.inBundle ? await bundle.blobs.get(b.digest) : undefined;
      const outcome = await pusher.ensure(repo, { desc: b, ...(bundled && { bundled }), ...(likelyAbsent && { likelyAbsent }) }, (n) => {
        p.bytes.done += n;
        progress.changed();
      });
      account(repo, b.digest, b.size, outcome);
    })));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const step of missing) {
      signal?.throwIfAborted();
      // putManifest refuses bytes whose digest is not the reference it is put under.
      await registry.putManifest(repo, step.digest, step.bytes, step.mediaType);
    }
    const referrers = attached.get(ref.digest) ?? [];
    if (referrers.length > 0) failures.push(...await referrerPusher.push(repo, stream.imageStream, referrers));
  };

  await Promise.all(plan.targets.map(async (stream) => {
    const id = stream.imageStream;
    const restored = await Promise.all(stream.references.map((ref) => imageLimit(async () => {
      try {
        await restoreReference(stream, ref);
        p.images.done++;
        progress.changed();
        return true;
      } catch (err) {
        if (signal?.aborted) throw err;
        p.images.failed++;
        failures.push({ imageStream: id, reference: ref.digest, message: `${repoRef(stream, ref)} was not restored: ${errorMessage(err)}`, cause: err });
        progress.changed();
        return false;
      }
    })));
    // Tags last, so that a tag never names a manifest that is not complete. A tag listed on
    // several references belongs to the first, as an image stream lists its newest first; when
    // that one failed, the tag stays unset (an older image must not take its place unnoticed).
    const holders = new Map<string, number[]>();
    for (const [i, ref] of stream.references.entries()) for (const tag of ref.tags) holders.set(tag, [...(holders.get(tag) ?? []), i]);
    for (const [tag, [i, ...older]] of holders) {
      const ref = stream.references[i!]!;
      if (!restored[i!]) {
        // The image failure says it already; a tag an older, restored image also carries is worth its own line.
        const olderRestored = older.find((j) => restored[j]);
        if (olderRestored !== undefined) {
          failures.push({ imageStream: id, reference: ref.digest, message: `tag ${stream.repo}:${tag} was not set: its newest image ${ref.digest} was not restored, `
            + `and the tag is not moved to the older ${stream.references[olderRestored]!.digest}` });
        }
        continue;
      }
      try {
        signal?.throwIfAborted();
        await registry.putManifest(stream.repo, tag, await bundle.blobs.get(ref.digest), ref.mediaType);
      } catch (err) {
        if (signal?.aborted) throw err;
        failures.push({ imageStream: id, reference: ref.digest, message: `tag ${stream.repo}:${tag} was not set: ${errorMessage(err)}`, cause: err });
      }
    }
  }));
  signal?.throwIfAborted();
  progress.changed(true);
  return failures;
}

function repoRef(stream: RestoreTarget, ref: BundleReference): string {
  return `${stream.repo}@${ref.digest}`;
}

/** Any answer but the manifest itself means "push it": pushing again is harmless. */
async function hasManifest(registry: Registry, repo: string, digest: string): Promise<boolean> {
  try {
    return (await registry.getManifest(repo, digest)).digest === digest;
  } catch {
    return false;
  }
}
