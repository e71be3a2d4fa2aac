// The push order of one backed-up reference, from the bundle alone: for each image
// manifest its blobs then itself, children of an index before the index.
import type { Descriptor } from '../contracts.js';
import { parseManifest } from '../oci/manifest.js';

export interface ManifestStep {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  /** Config (from the bundle) and layers (from the pool) this manifest needs in the repository. */
  blobs: Array<Descriptor & { inBundle: boolean }>;
}

export function pushOrder(blobs: Map<string, Buffer>, digest: string, mediaType: string): ManifestStep[] {
  const steps: ManifestStep[] = [];
  const seen = new Set<string>();
  const visit = (d: string, type: string) => {
    if (seen.has(d)) return;
    seen.add(d);
    const bytes = blobs.get(d);
    if (!bytes) throw new Error(`manifest ${d} is not in the bundle`); // unpackBundle checked this
    const parsed = parseManifest({ bytes, mediaType: type, digest: d });
    if (parsed.kind === 'index') {
      for (const m of parsed.manifests) visit(m.digest, m.mediaType);
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
  visit(digest, mediaType);
  return steps;
}
