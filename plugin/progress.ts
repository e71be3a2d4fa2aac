// What the plugin tells Velero about its asynchronous operation: the state of the
// ImageStreamsBackup it appended to, read afresh at every poll (Velero starts a new plugin
// process for each). A pure function of that ISB.
import type { ImageStreamsBackup } from '../pkg/api/index.js';
import { timestamp, type OperationProgress } from './protocol.js';

/** How many failed images the error names; the ISB's status lists up to 50. */
const FAILURES_NAMED = 10;

export interface OperationTarget {
  namespace: string;
  name: string;
}

/** The operation ID is the ISB's `<namespace>/<name>`. */
export const operationId = (t: OperationTarget): string => `${t.namespace}/${t.name}`;

export function parseOperationId(id: string): OperationTarget {
  const m = /^([a-z0-9][-a-z0-9]*)\/([a-z0-9][-a-z0-9.]*)$/.exec(id);
  if (!m) throw new Error(`operation ID ${JSON.stringify(id)} is not <namespace>/<ImageStreamsBackup name>`);
  return { namespace: m[1]!, name: m[2]! };
}

export function operationProgress(target: OperationTarget, isb: ImageStreamsBackup | undefined, now = Date.now()): OperationProgress {
  const shown = `ImageStreamsBackup ${target.namespace}/${target.name}`;
  const base = { operationUnits: 'bytes', nCompleted: 0, nTotal: 0, updated: timestamp(now) };
  if (!isb) {
    return { ...base, completed: true, err: `${shown} was deleted: its images are not backed up`, description: 'ImageStreamsBackup not found' };
  }
  const status = isb.status ?? {};
  const phase = status.phase ?? 'New';
  const bytes = status.progress?.bytes;
  const total = bytes?.total ?? 0;
  const started = Date.parse(status.startTimestamp ?? String(isb.metadata?.creationTimestamp ?? ''));
  const ended = Date.parse(status.completionTimestamp ?? '');
  // A status written for an older spec says nothing about the entries appended since.
  const current = status.observedGeneration === undefined || isb.metadata?.generation === undefined
    || status.observedGeneration === isb.metadata.generation;
  const finished = current && ['Completed', 'PartiallyFailed', 'Failed'].includes(phase);

  return {
    ...base,
    completed: finished,
    err: finished && phase !== 'Completed' ? failureText(shown, phase, isb) : '',
    // Bytes already in the location count as done: they need no transfer.
    nCompleted: Math.min(total, (bytes?.done ?? 0) + (bytes?.skipped ?? 0)),
    nTotal: total,
    description: status.message ? `${phase}: ${status.message}` : phase,
    ...(Number.isFinite(started) && { started: timestamp(started) }),
    ...(finished && Number.isFinite(ended) && { updated: timestamp(ended) }),
  };
}

/** Names the failed images, so that the Velero backup's errors say which ones. */
function failureText(shown: string, phase: string, isb: ImageStreamsBackup): string {
  const failures = isb.status?.failures ?? [];
  const count = isb.status?.progress?.images?.failed ?? failures.length;
  const named = failures.slice(0, FAILURES_NAMED).map((f) => `${f.reference} (image stream ${f.imageStream}): ${f.message}`);
  const more = count > named.length ? `; and ${count - named.length} more (kubectl get imagestreamsbackup -n ${isb.metadata?.namespace} ${isb.metadata?.name} -o yaml)` : '';
  const message = isb.status?.message ? `: ${isb.status.message}` : '';
  return `${shown} ended ${phase}${message}${named.length ? `; failed images: ${named.join('; ')}${more}` : ''}`;
}
