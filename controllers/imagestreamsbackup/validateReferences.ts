// Checks each image reference (by digest, on the internal registry), finds the image stream's
// namespace, and merges duplicates: the same stream listed twice, or the same digest listed
// twice in a stream (as appends from several Velero plugin calls do), is backed up once with
// the union of the tags. A bad reference fails that image only.
import type { ImageFailure } from '../../pkg/contracts.js';
import { errorMessage } from '../../pkg/errors.js';
import { parseReference } from '../../pkg/oci/index.js';
import type { ImageStreamEntry } from '../../pkg/api/index.js';

export interface ImageStreamInput {
  namespace: string;
  name: string;
  references: Array<{ reference: string; tags: string[] }>;
}

export interface ValidatedReferences {
  imageStreams: ImageStreamInput[];
  failures: ImageFailure[];
  /** Distinct images named by the spec, valid or not: the total the status shows. */
  total: number;
}

/**
 * `ownNamespace`: the ISB is not in an admin namespace, so it may back up the image streams of
 * its own namespace only; any other is refused per image, before any byte moves.
 */
export function validateReferences(entries: readonly ImageStreamEntry[], internalRegistry: string, ownNamespace?: string): ValidatedReferences {
  const streams = new Map<string, { namespace: string; name: string; byDigest: Map<string, { reference: string; tags: Set<string> }> }>();
  const failures: ImageFailure[] = [];
  const failed = new Set<string>();
  const internal = internalRegistry.toLowerCase();

  for (const entry of entries) {
    for (const { dockerImageReference: reference, tags = [] } of entry.dockerImageReferences ?? []) {
      const fail = (namespace: string | undefined, message: string) => {
        const imageStream = `${namespace ?? '?'}/${entry.name}`;
        const id = `${imageStream}\u0000${reference}`;
        if (failed.has(id)) return;
        failed.add(id);
        failures.push({ imageStream, reference, message });
      };
      let parsed;
      try {
        parsed = parseReference(reference);
      } catch (err) {
        fail(entry.namespace, errorMessage(err));
        continue;
      }
      const namespace = entry.namespace || namespaceOf(parsed.repository);
      if (parsed.host.toLowerCase() !== internal) {
        fail(namespace, `image reference ${JSON.stringify(reference)} points at registry ${JSON.stringify(parsed.host)}, `
          + `not at the internal registry ${JSON.stringify(internalRegistry)}: only images of the internal registry are backed up`);
        continue;
      }
      if (!namespace) {
        fail(undefined, `image reference ${JSON.stringify(reference)} has no namespace in its path `
          + '(<registry>/<namespace>/<name>@sha256:...) and the entry sets no namespace');
        continue;
      }
      // The image's own repository is read too: both must be the ISB's namespace.
      const repoNamespace = namespaceOf(parsed.repository);
      if (ownNamespace !== undefined && (namespace !== ownNamespace || repoNamespace !== ownNamespace)) {
        fail(namespace, `an ImageStreamsBackup in namespace ${ownNamespace} may back up the image streams of its own namespace only, `
          + `not ${JSON.stringify(namespace !== ownNamespace ? namespace : repoNamespace ?? '')} (the namespaces in ADMIN_NAMESPACES, and the controller's own, may back up any)`);
        continue;
      }
      const key = `${namespace}/${entry.name}`;
      let stream = streams.get(key);
      if (!stream) streams.set(key, (stream = { namespace, name: entry.name, byDigest: new Map() }));
      const known = stream.byDigest.get(parsed.digest);
      if (known) for (const t of tags) known.tags.add(t);
      else stream.byDigest.set(parsed.digest, { reference, tags: new Set(tags) });
    }
  }

  const imageStreams = [...streams.values()].map((s) => ({
    namespace: s.namespace,
    name: s.name,
    references: [...s.byDigest.values()].map((r) => ({ reference: r.reference, tags: [...r.tags].sort() })),
  }));
  const valid = imageStreams.reduce((n, s) => n + s.references.length, 0);
  return { imageStreams, failures, total: valid + failures.length };
}

function namespaceOf(repository: string): string | undefined {
  const slash = repository.indexOf('/');
  return slash > 0 ? repository.slice(0, slash) : undefined;
}
