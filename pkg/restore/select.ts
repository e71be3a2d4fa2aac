// What a restore pushes where, from the backup alone. `spec.imageStreams` of an
// ImageStreamsRestore has the shape of an ImageStreamsBackup's entries, in three forms:
// - `{namespace, name}`, `{namespace}` or `{name}` (no references): whole image streams as they
//   were backed up (a name alone matches that stream in every namespace of the backup), each
//   with the tags of the backup;
// - with `dockerImageReferences`: exactly those images, looked up by digest anywhere in the
//   backup (the registry host in the reference is ignored), restored to the entry's
//   `<namespace>/<name>` (absent: taken from the reference's path) with exactly the listed tags.
// Namespaces are the backup's, before `namespaceMapping`, which then gives the target's.
// Empty or absent: every image stream of the backup. What names nothing is a failure of its own.
import type { ImageFailure } from '../contracts.js';
import type { BackupJson, BundleReference } from '../bundle/format.js';
import { isRepositoryName } from '../oci/reference.js';

export interface RestoreSelector {
  name?: string;
  namespace?: string;
  dockerImageReferences?: Array<{ dockerImageReference: string; tags?: string[] }>;
}

/** One target repository and what goes into it, with the tags to set (in priority order: newest first). */
export interface RestoreTarget {
  /** The image stream as the backup (or the selector) names it: `<namespace>/<name>`. */
  imageStream: string;
  repo: string;
  references: BundleReference[];
}

export interface Selection {
  targets: RestoreTarget[];
  /** Selectors and references that name nothing in the backup, and targets that cannot be repositories. */
  failures: ImageFailure[];
  /** Images the targets hold (an index is one). */
  images: number;
}

/**
 * `onlyInto`: the restore is not in an admin namespace, so it may restore into that namespace
 * only; any other target is refused per image, before any byte moves.
 */
export function selectForRestore(
  backup: BackupJson, selectors: readonly RestoreSelector[] = [], namespaceMapping: Readonly<Record<string, string>> = {}, onlyInto?: string,
): Selection {
  const mapping = new Map(Object.entries(namespaceMapping));
  const targets = new Map<string, RestoreTarget>();
  const failures: ImageFailure[] = [];
  const name = JSON.stringify(backup.backup.name);
  const add = (imageStream: string, namespace: string, streamName: string, refs: BundleReference[]) => {
    const target = mapping.get(namespace) ?? namespace;
    const repo = `${target}/${streamName}`;
    if (onlyInto !== undefined && target !== onlyInto) {
      failures.push(...refs.map((r) => ({ imageStream, reference: r.digest, message: `an ImageStreamsRestore in namespace ${onlyInto} may restore into `
        + `its own namespace only, not ${JSON.stringify(target)} (map it with namespaceMapping; ADMIN_NAMESPACES lists the namespaces that may restore anywhere)` })));
      return;
    }
    if (!isRepositoryName(repo)) {
      failures.push(...refs.map((r) => ({ imageStream, reference: r.digest, message: `target repository ${JSON.stringify(repo)} is not a valid repository name` })));
      return;
    }
    let t = targets.get(repo);
    if (!t) targets.set(repo, (t = { imageStream, repo, references: [] }));
    for (const r of refs) {
      const same = t.references.find((x) => x.digest === r.digest);
      if (same) same.tags = [...new Set([...same.tags, ...r.tags])];
      else t.references.push({ ...r, tags: [...r.tags] });
    }
  };

  if (selectors.length === 0) {
    for (const s of backup.imageStreams) add(`${s.namespace}/${s.name}`, s.namespace, s.name, s.references);
  }
  // Every digest of the backup once, for references looked up anywhere in it.
  const byDigest = new Map<string, BundleReference>();
  for (const s of backup.imageStreams) for (const r of s.references) if (!byDigest.has(r.digest)) byDigest.set(r.digest, r);

  for (const sel of selectors) {
    const refs = sel.dockerImageReferences ?? [];
    if (refs.length === 0) {
      const hits = backup.imageStreams.filter((s) => (sel.namespace === undefined || s.namespace === sel.namespace) && (sel.name === undefined || s.name === sel.name));
      if (hits.length === 0) {
        const shown = sel.name === undefined ? `namespace ${sel.namespace}` : sel.namespace === undefined ? `image stream ${sel.name} (in any namespace)` : `image stream ${sel.namespace}/${sel.name}`;
        failures.push({ imageStream: `${sel.namespace ?? '*'}/${sel.name ?? '*'}`, reference: '', message: `${shown} is not in backup ${name}` });
      }
      for (const s of hits) add(`${s.namespace}/${s.name}`, s.namespace, s.name, s.references);
      continue;
    }
    for (const { dockerImageReference: reference, tags = [] } of refs) {
      const parsed = pathOf(reference);
      const namespace = sel.namespace ?? parsed?.namespace;
      const streamName = sel.name ?? parsed?.name;
      const imageStream = `${namespace ?? '?'}/${streamName ?? '?'}`;
      if (!parsed || !namespace || !streamName) {
        failures.push({ imageStream, reference, message: `image reference ${JSON.stringify(reference.slice(0, 300))} names no image stream: give the entry a namespace and a name, or a reference <registry>/<namespace>/<name>@sha256:...` });
        continue;
      }
      const found = byDigest.get(parsed.digest);
      if (!found) {
        failures.push({ imageStream, reference, message: `image ${parsed.digest} is not in backup ${name}` });
        continue;
      }
      add(imageStream, namespace, streamName, [{ digest: found.digest, mediaType: found.mediaType, tags: [...tags], ...(found.source && { source: found.source }) }]);
    }
  }
  const list = [...targets.values()];
  return { targets: list, failures, images: list.reduce((n, t) => n + t.references.length, 0) };
}

/** `<host>/<namespace>/<name>@sha256:<hex>` (host optional, as Docker reads it): the digest, and the path's first and last components. */
function pathOf(reference: string): { digest: string; namespace?: string; name?: string } | undefined {
  const m = /^(.*)@(sha256:[a-f0-9]{64})$/.exec(reference);
  if (!m) return undefined;
  const parts = m[1]!.split('/');
  // The first component is a registry host when it has a dot or a port, or is localhost.
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === 'localhost')) parts.shift();
  return { digest: m[2]!, ...(parts.length > 1 && { namespace: parts[0]! }), ...(parts.length > 0 && parts.at(-1) && { name: parts.at(-1)! }) };
}
