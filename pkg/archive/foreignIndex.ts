// What an OCI image layout written by another tool (`oras backup`, `skopeo copy oci-archive:`,
// an export of this product whose backup.json was dropped) holds, read from its index.json,
// in the terms of a backup: image streams with their references and tags, and referrers.
// Names (`org.opencontainers.image.ref.name`) are read as:
// - `<namespace>/<image stream>:<tag>` or `<namespace>/<image stream>@sha256:...` (this
//   product's exports);
// - `sha256-<hex>.sig|.att|.sbom`: a cosign tag, attached to that digest;
// - `sha256-<hex>`: a referrers fallback index, whose manifests are attached to that digest;
// - anything else (a bare tag, as `oras backup` writes): a tag of the image stream the import
//   is told to use. A manifest without a name is a referrer when it has a subject, else an
//   untagged image of that image stream.
import type { BundleImageStream, BundleReferrer } from '../bundle/format.js';
import { StalledError } from '../errors.js';
import type { ManifestDescriptor, ParsedManifest } from '../oci/manifest.js';
import { isRepositoryName, isTag } from '../oci/reference.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface ForeignContent {
  imageStreams: BundleImageStream[];
  referrers: BundleReferrer[];
}

const OURS = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\/([^:@/]+)(?::([^:@/]+)|@(sha256:[a-f0-9]{64}))$/;
const COSIGN = /^sha256-([a-f0-9]{64})\.(sig|att|sbom)$/;
const FALLBACK = /^sha256-([a-f0-9]{64})$/;

/**
 * `read` gives a manifest of the archive, parsed. `into`: `<namespace>/<name>` for names that
 * do not say where they go; without it, such names are refused.
 */
export async function foreignContent(
  manifests: ManifestDescriptor[], read: (d: ManifestDescriptor) => Promise<ParsedManifest>, into: string | undefined, what: string,
): Promise<ForeignContent> {
  const streams = new Map<string, BundleImageStream>();
  const referrers = new Map<string, BundleReferrer>(); // "<subject> <digest>"
  const addRef = (namespace: string, name: string, d: ManifestDescriptor, tag?: string) => {
    if (!isRepositoryName(`${namespace}/${name}`)) throw new StalledError('InvalidArchive', `${what}: ${namespace}/${name} is not a valid image stream name`);
    const key = `${namespace}/${name}`;
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { namespace, name, references: [] }));
    let r = s.references.find((x) => x.digest === d.digest);
    if (!r) s.references.push((r = { digest: d.digest, mediaType: d.mediaType, tags: [] }));
    if (tag && !r.tags.includes(tag)) r.tags.push(tag);
  };
  const addReferrer = (subject: string, d: ManifestDescriptor, tag?: string) => {
    const key = `${subject} ${d.digest}`;
    const r = referrers.get(key) ?? { subject, digest: d.digest, mediaType: d.mediaType, tags: [] };
    if (tag && !r.tags.includes(tag)) r.tags.push(tag);
    referrers.set(key, r);
  };
  const target = (): [string, string] => {
    if (!into) {
      throw new StalledError('InvalidArchive', `${what} names images by tag alone (as oras backup does), which says nothing of the image `
        + 'stream they belong to: give one with --image-stream <namespace>/<name>');
    }
    return into.split('/') as [string, string];
  };

  for (const d of manifests) {
    const name = d.annotations?.[REF_NAME];
    const cosign = name ? COSIGN.exec(name) : null;
    const fallback = name ? FALLBACK.exec(name) : null;
    const ours = name ? OURS.exec(name) : null;
    if (cosign) {
      addReferrer(`sha256:${cosign[1]}`, d, name);
    } else if (fallback) {
      const index = await read(d);
      if (index.kind !== 'index') throw new StalledError('InvalidArchive', `${what}: ${name} is not a referrers index`);
      for (const m of index.manifests) addReferrer(`sha256:${fallback[1]}`, m);
    } else if (ours) {
      addRef(ours[1]!, ours[3]!, d, ours[4]);
    } else if (name) {
      if (!isTag(name)) throw new StalledError('InvalidArchive', `${what}: image name ${JSON.stringify(name.slice(0, 200))} is neither a tag nor <namespace>/<name>:<tag>`);
      addRef(...target(), d, name);
    } else {
      const parsed = await read(d);
      if (parsed.subject) addReferrer(parsed.subject.digest, d);
      else addRef(...target(), d);
    }
  }
  return { imageStreams: [...streams.values()], referrers: [...referrers.values()] };
}
