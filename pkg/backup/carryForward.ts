// A committed backup never loses an image its spec still lists. When a re-run cannot read an
// image again (pruned from the registry, or a registry that will not answer before the
// deadline), and the bundle this same backup committed before holds it, the image is taken
// from that bundle: its manifests and configs from the bundle, its layers from the pool,
// each checked to be there (a layer that is gone cannot be carried), with its referrers.
import type { Descriptor } from '../contracts.js';
import { openBundle } from '../bundle/open.js';
import { pushOrder } from '../bundle/tree.js';
import { referrersOf } from '../bundle/referrers.js';
import type { Lease } from '../gc/lease.js';
import type { ObjectStore } from '../store/objectStore.js';
import type { BackupIdentity, ImageError, ResolvedImage } from './types.js';

export interface CarriedImage {
  failure: ImageError;
  image: ResolvedImage;
  /** Manifests, indexes and configs of the image, from the old bundle. */
  blobs: Map<string, Buffer>;
  /** Which of them are configs. */
  configs: Set<string>;
  layers: Descriptor[];
}

export async function carryForward(store: ObjectStore, backup: BackupIdentity, failures: ImageError[], lease: Lease, signal?: AbortSignal): Promise<CarriedImage[]> {
  const wanted = failures.filter((f) => f.digest !== undefined);
  if (wanted.length === 0) return [];
  const key = store.bundleKey(backup.name);
  const old = await openBundle(store, key, { name: `the committed bundle of ${backup.namespace}/${backup.name} (${key})`, ...(signal && { signal }) });
  // Only this backup's own bundle (the same uid) may lend it images.
  if (!old || old.backup.backup.uid !== backup.uid) return [];
  const sizes = new Map(old.backup.layers.map((l) => [l.digest, l]));
  const carried: CarriedImage[] = [];
  for (const failure of wanted) {
    const [namespace, name] = failure.imageStream.split('/') as [string, string];
    const ref = old.backup.imageStreams.find((s) => s.namespace === namespace && s.name === name)
      ?.references.find((r) => r.digest === failure.digest);
    if (!ref) continue;
    const own = await pushOrder(old.blobs, ref.digest, ref.mediaType);
    const referrers = referrersOf(old.backup, own.map((st) => st.digest));
    const steps = [...own];
    for (const r of referrers) steps.push(...await pushOrder(old.blobs, r.digest, r.mediaType));
    const blobs = new Map<string, Buffer>();
    const configs = new Set<string>();
    const layers = new Map<string, Descriptor>();
    for (const step of steps) {
      blobs.set(step.digest, step.bytes);
      for (const b of step.blobs) {
        if (b.inBundle) {
          blobs.set(b.digest, await old.blobs.get(b.digest));
          configs.add(b.digest);
        }
        else layers.set(b.digest, sizes.get(b.digest) ?? b);
      }
    }
    // Announced before they are relied on, as every blob of a backup (pkg/gc).
    await lease.add(layers.keys());
    let whole = true;
    for (const l of layers.values()) {
      const found = await store.head(store.blobKey(l.digest), signal);
      if (!found || found.size !== l.size) {
        whole = false;
        break;
      }
    }
    if (!whole) continue;
    carried.push({
      failure,
      blobs,
      configs,
      layers: [...layers.values()],
      image: {
        imageStream: { namespace, name },
        reference: failure.reference,
        digest: ref.digest,
        mediaType: ref.mediaType,
        // The tags the spec gives it now, as for any image of this run.
        tags: [...failure.tags],
        blobs: [...blobs.keys()],
        layers: [...layers.keys()],
        referrers,
      },
    });
  }
  return carried;
}
