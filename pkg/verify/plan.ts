// What a verification reads, from the bundle alone: the images the selection names (the restore's
// selection, pkg/restore/select.ts), every manifest, index and config below them (read from the
// bundle, each checked against its digest as it is read), the layers they need from the pool,
// and which image streams use each blob, so that a problem says what is at risk.
import type { Descriptor, ImageFailure } from '../contracts.js';
import { DigestMismatchError } from '../errors.js';
import type { Bundle } from '../bundle/format.js';
import { pushOrder } from '../bundle/tree.js';
import { selectForRestore, type RestoreSelector } from '../restore/select.js';

export interface VerifyPlan {
  /** The pool's layers to read, each once. */
  layers: Descriptor[];
  /** Blob digest (layer, manifest, index or config) → the image streams (`namespace/name`, as backed up) that use it. */
  users: Map<string, Set<string>>;
  /** The selected images, each with every blob it needs: an image is intact when all of them are. */
  images: Array<{ imageStream: string; digest: string; blobs: readonly string[] }>;
  /** Manifests, indexes and configs checked in the bundle. */
  metadataChecked: number;
  /** Bundle entries that did not hash to their digest when read again. */
  metadataMismatches: Array<{ digest: string; actual: string; size: number }>;
  /** Selectors and references that name nothing in the backup. */
  unmatched: ImageFailure[];
}

export async function planVerification(bundle: Bundle, selectors: readonly RestoreSelector[] = []): Promise<VerifyPlan> {
  const { backup, blobs } = bundle;
  // Nothing is pushed, so there is no target: no mapping, and no namespace a tenant is held to.
  const selection = selectForRestore(backup, selectors);
  const selected = new Set(selection.targets.flatMap((t) => t.references.map((r) => r.digest)));
  const sizes = new Map(backup.layers.map((l) => [l.digest, l]));
  const layers = new Map<string, Descriptor>();
  const users = new Map<string, Set<string>>();
  const metadata = new Set<string>();
  const metadataMismatches: VerifyPlan['metadataMismatches'] = [];
  const trees = new Map<string, string[]>();

  const checkMetadata = async (digest: string): Promise<void> => {
    if (metadata.has(digest)) return;
    metadata.add(digest);
    try {
      // Past the memory budget this reads the bundle again, by range, and hashes what it read.
      await blobs.get(digest);
    } catch (err) {
      if (!(err instanceof DigestMismatchError)) throw err;
      metadataMismatches.push({ digest, actual: err.actual, size: blobs.size(digest) ?? 0 });
    }
  };
  const treeOf = async (digest: string, mediaType: string): Promise<string[]> => {
    const known = trees.get(digest);
    if (known) return known;
    let steps;
    try {
      steps = await pushOrder(blobs, digest, mediaType);
    } catch (err) {
      // A manifest read again that no longer hashes right: the image cannot be walked further.
      if (!(err instanceof DigestMismatchError)) throw err;
      metadata.add(err.expected);
      metadataMismatches.push({ digest: err.expected, actual: err.actual, size: blobs.size(err.expected) ?? 0 });
      trees.set(digest, [digest, err.expected]);
      return trees.get(digest)!;
    }
    const tree: string[] = [];
    for (const step of steps) {
      metadata.add(step.digest);
      tree.push(step.digest);
      for (const b of step.blobs) {
        tree.push(b.digest);
        if (b.inBundle) await checkMetadata(b.digest);
        else if (!layers.has(b.digest)) layers.set(b.digest, { ...b, size: sizes.get(b.digest)?.size ?? b.size });
      }
    }
    trees.set(digest, tree);
    return tree;
  };

  for (const s of backup.imageStreams) {
    const stream = `${s.namespace}/${s.name}`;
    for (const r of s.references) {
      if (!selected.has(r.digest)) continue;
      for (const d of await treeOf(r.digest, r.mediaType)) {
        let set = users.get(d);
        if (!set) users.set(d, (set = new Set()));
        set.add(stream);
      }
    }
  }
  // Everything: every layer backup.json lists, also one no manifest reaches (the collector keeps it too).
  if (selectors.length === 0) for (const l of backup.layers) if (!layers.has(l.digest)) layers.set(l.digest, l);

  const images = selection.targets.flatMap((t) => t.references.map((r) => ({ imageStream: t.imageStream, digest: r.digest, blobs: trees.get(r.digest) ?? [] })));
  return { layers: [...layers.values()], users, images, metadataChecked: metadata.size, metadataMismatches, unmatched: selection.failures };
}
