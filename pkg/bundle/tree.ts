// The push order of one backed-up reference, from the bundle alone: for each image
// manifest its blobs then itself, children of an index before the index.
import type { Descriptor } from '../contracts.js';
import { parseManifest } from '../oci/manifest.js';
import type { MetadataBlobs } from './metadata.js';

export interface ManifestStep {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  /** Config (from the bundle) and layers (from the pool) this manifest needs in the repository. */
  blobs: Array<Descriptor & { inBundle: boolean }>;
}

export async function pushOrder(blobs: MetadataBlobs, digest: string, mediaType: string): Promise<ManifestStep[]> {
  const steps: ManifestStep[] = [];
  const seen = new Set<string>();
  const visit = async (d: string, type: string) => {
    if (seen.has(d)) return;
    seen.add(d);
    if (!blobs.has(d)) throw new Error(`manifest ${d} is not in the bundle`); // unpackBundle checked this
    const bytes = await blobs.get(d);
    const parsed = parseManifest({ bytes, mediaType: type, digest: d });
    if (parsed.kind === 'index') {
      for (const m of parsed.manifests) await visit(m.digest, m.mediaType);
      steps.push({ digest: d, mediaType: parsed.mediaType, bytes, blobs: [] });
      return;
    }
    const { config } = parsed;
    const layers = parsed.layers.filter((l) => !/foreign|nondistributable/.test(l.mediaType));
    const unique = new Map<string, Descriptor & { inBundle: boolean }>();
    unique.set(config.digest, { digest: config.digest, size: config.size, mediaType: config.mediaType, inBundle: true });
    for (const l of layers) if (!unique.has(l.digest)) unique.set(l.digest, { digest: l.digest, size: l.size, mediaType: l.mediaType, inBundle: false });
    steps.push({ digest: d, mediaType: parsed.mediaType, bytes, blobs: [...unique.values()] });
  };
  await visit(digest, mediaType);
  return steps;
}
