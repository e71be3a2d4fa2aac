// Which image streams of the backup to restore. spec.imageStreams names them as they were
// backed up (before namespaceMapping): by namespace and name, or a whole namespace. The
// restorer takes exact names, so namespace selectors are expanded against backup.json here.
import type { ImageStreamSelector } from '../../pkg/api/index.js';
import type { BackupJson, BundleImageStream } from '../../pkg/bundle/format.js';
import type { ImageFailure } from '../../pkg/contracts.js';
import type { StreamSelector } from '../../pkg/restore/plan.js';

export type Selection =
  /**
   * `imageStreams` undefined: every image stream of the backup. `unmatched`: selectors that named
   * nothing. `count`: the image streams and images (references) that will be restored.
   */
  | { action: 'restore'; imageStreams?: StreamSelector[]; unmatched: ImageFailure[]; count: { imageStreams: number; images: number } }
  /** Selectors were given and none matched: restoring "the rest" would restore everything, which nobody asked for. */
  | { action: 'fail'; message: string };

export function selectImageStreams(selectors: readonly ImageStreamSelector[], backup: BackupJson): Selection {
  const count = (streams: readonly BundleImageStream[]) => ({ imageStreams: streams.length, images: streams.reduce((n, s) => n + s.references.length, 0) });
  if (selectors.length === 0) return { action: 'restore', unmatched: [], count: count(backup.imageStreams) };
  const chosen = new Map<string, BundleImageStream>();
  const unmatched: ImageFailure[] = [];
  for (const sel of selectors) {
    const hits = backup.imageStreams.filter((s) => s.namespace === sel.namespace && (sel.name === undefined || s.name === sel.name));
    if (hits.length === 0) {
      const shown = sel.name === undefined ? `namespace ${sel.namespace}` : `image stream ${sel.namespace}/${sel.name}`;
      unmatched.push({
        imageStream: `${sel.namespace}/${sel.name ?? '*'}`,
        reference: '',
        message: `${shown} is not in backup ${JSON.stringify(backup.backup.name)}`,
      });
    }
    for (const s of hits) chosen.set(`${s.namespace}/${s.name}`, s);
  }
  if (chosen.size === 0) {
    const available = backup.imageStreams.slice(0, 10).map((s) => `${s.namespace}/${s.name}`);
    const more = backup.imageStreams.length > available.length ? `, and ${backup.imageStreams.length - available.length} more` : '';
    return {
      action: 'fail',
      message: `none of spec.imageStreams is in backup ${JSON.stringify(backup.backup.name)} `
        + `(it holds ${available.length ? available.join(', ') + more : 'no image stream'})`,
    };
  }
  const streams = [...chosen.values()];
  return { action: 'restore', imageStreams: streams.map((s) => ({ namespace: s.namespace, name: s.name })), unmatched, count: count(streams) };
}
