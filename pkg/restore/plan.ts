// What a restore pushes where: the image streams of the backup it selects, each to the
// repository <mapped namespace>/<image stream> of the target registry.
import type { ImageFailure } from '../contracts.js';
import type { BackupJson, BundleImageStream } from '../bundle/format.js';
import { isRepositoryName } from '../oci/reference.js';

export interface StreamSelector {
  /** The namespace in the backup; absent: any. */
  namespace?: string;
  name: string;
}

export interface PlannedStream {
  source: BundleImageStream;
  repo: string;
}

export interface RestorePlan {
  streams: PlannedStream[];
  failures: ImageFailure[];
}

export function planRestore(backup: BackupJson, opts: { imageStreams?: StreamSelector[]; namespaceMapping?: Record<string, string> }): RestorePlan {
  const selectors = opts.imageStreams ?? [];
  const failures: ImageFailure[] = [];
  const matches = (s: BundleImageStream, sel: StreamSelector) => s.name === sel.name && (sel.namespace === undefined || sel.namespace === '' || sel.namespace === s.namespace);
  for (const sel of selectors) {
    if (!backup.imageStreams.some((s) => matches(s, sel))) {
      failures.push({
        imageStream: sel.namespace ? `${sel.namespace}/${sel.name}` : sel.name,
        reference: '',
        message: `image stream ${sel.namespace ? `${sel.namespace}/` : ''}${sel.name} is not in backup ${backup.backup.name}`,
      });
    }
  }
  const streams: PlannedStream[] = [];
  for (const source of backup.imageStreams) {
    if (selectors.length > 0 && !selectors.some((sel) => matches(source, sel))) continue;
    const namespace = opts.namespaceMapping?.[source.namespace] || source.namespace;
    const repo = `${namespace}/${source.name}`;
    if (!isRepositoryName(repo)) {
      failures.push(...source.references.map((r) => ({
        imageStream: `${source.namespace}/${source.name}`,
        reference: r.digest,
        message: `target repository ${JSON.stringify(repo)} is not a valid repository name`,
      })));
      continue;
    }
    streams.push({ source, repo });
  }
  return { streams, failures };
}
