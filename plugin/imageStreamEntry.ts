// What an ImageStream contributes to its Velero backup's ImageStreamsBackup: every image of its
// status history that lives on the internal registry, once per digest, with the tags whose
// current image it is. A pure function of the ImageStream and the registry host.
import type { DockerImageReferenceEntry, ImageStreamEntry } from '../pkg/api/index.js';
import { isTag, parseReference } from '../pkg/oci/reference.js';

/** The image.openshift.io/v1 ImageStream fields read here. */
export interface ImageStream {
  metadata?: { name?: string; namespace?: string };
  status?: {
    dockerImageRepository?: string;
    tags?: Array<{ tag?: string; items?: Array<{ created?: string; dockerImageReference?: string }> | null }>;
  };
}

/** The CRD's bounds on one spec.imageStreams[] entry (crds/oadp.openshift.io_imagestreamsbackups.yaml). */
export const MAX_REFERENCES_PER_STREAM = 1000;
export const MAX_TAGS_PER_REFERENCE = 256;

export class LimitError extends Error {}

export interface StreamImages {
  /** Absent when the ImageStream has no image on the internal registry. */
  entry?: ImageStreamEntry;
  /** Digests found on other registries: not ours to back up. */
  otherRegistry: number;
  /** References that are not by digest or cannot be parsed, and tags that are not tag names. */
  invalid: number;
}

/** host[:port] of the registry an ImageStream lives on (status.dockerImageRepository is `host/namespace/name`). */
export function registryHostOf(stream: ImageStream): string | undefined {
  const repo = stream.status?.dockerImageRepository;
  const slash = repo?.indexOf('/') ?? -1;
  return slash > 0 ? repo!.slice(0, slash) : undefined;
}

interface Image {
  reference: string;
  /** The newest tag event of this digest, to order images newest first. */
  newest: number;
  order: number;
  /** Tags whose current image this is, with the time it became so. */
  tags: Array<{ tag: string; at: number }>;
}

export function imageStreamEntry(stream: ImageStream, registryHost: string): StreamImages {
  const name = stream.metadata?.name;
  const namespace = stream.metadata?.namespace;
  if (!name || !namespace) throw new Error('the ImageStream has no name or namespace');
  const host = registryHost.toLowerCase();
  const byDigest = new Map<string, Image>();
  const foreign = new Set<string>();
  let invalid = 0;

  for (const tagHistory of stream.status?.tags ?? []) {
    (tagHistory.items ?? []).forEach((event, position) => {
      let ref;
      try {
        ref = parseReference(event.dockerImageReference ?? '');
      } catch {
        invalid++;
        return;
      }
      if (ref.host.toLowerCase() !== host) {
        foreign.add(ref.digest);
        return;
      }
      const at = Date.parse(event.created ?? '') || 0;
      let image = byDigest.get(ref.digest);
      if (!image) {
        image = { reference: event.dockerImageReference!, newest: at, order: byDigest.size, tags: [] };
        byDigest.set(ref.digest, image);
      }
      image.newest = Math.max(image.newest, at);
      // The first event of a tag's history is its current image (OpenShift keeps them newest first).
      if (position === 0 && tagHistory.tag && isTag(tagHistory.tag)) image.tags.push({ tag: tagHistory.tag, at });
      else if (position === 0) invalid++;
    });
  }
  for (const digest of byDigest.keys()) foreign.delete(digest);

  const shown = `${namespace}/${name}`;
  if (byDigest.size > MAX_REFERENCES_PER_STREAM) {
    throw new LimitError(`ImageStream ${shown} has ${byDigest.size} images on ${registryHost}; an ImageStreamsBackup holds at most `
      + `${MAX_REFERENCES_PER_STREAM} per image stream (spec.imageStreams[].dockerImageReferences, maxItems ${MAX_REFERENCES_PER_STREAM}): `
      + 'prune its history (oc adm prune images) before backing it up');
  }
  const newestFirst = <T extends { at: number }>(a: T, b: T) => b.at - a.at;
  const references: DockerImageReferenceEntry[] = [...byDigest.values()]
    .sort((a, b) => b.newest - a.newest || a.order - b.order)
    .map((image) => {
      if (image.tags.length > MAX_TAGS_PER_REFERENCE) {
        throw new LimitError(`ImageStream ${shown}: ${image.reference} has ${image.tags.length} tags; an ImageStreamsBackup holds at most `
          + `${MAX_TAGS_PER_REFERENCE} per image (maxItems of tags)`);
      }
      return { dockerImageReference: image.reference, tags: [...image.tags].sort(newestFirst).map((t) => t.tag) };
    });
  return {
    ...(references.length > 0 && { entry: { name, namespace, dockerImageReferences: references } }),
    otherRegistry: foreign.size,
    invalid,
  };
}
