// Appends ImageStream entries to the ImageStreamsBackup of a Velero backup, creating it on first
// use. Velero runs item blocks in parallel (and may retry an Execute), so an append must never
// lose or duplicate an entry: each write is a read-modify-write, a JSON patch that first tests
// that metadata.generation is still the one read (so that another writer of the spec makes it
// fail, and it is redone), then adds the new entries at the end of the list. The generation and
// not the resourceVersion: the controller writes the status after each change of the spec, and
// a resourceVersion guard would make every append collide with it. An entry for an image stream
// already listed replaces it, so a retried Execute changes nothing. Appends of one process are
// batched into one write per round, which sends only the new entries.
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, ISB_KIND, type ImageStreamEntry, type ImageStreamsBackup } from '../pkg/api/index.js';
import { apiErrorMessage, httpStatus, isConflict } from '../pkg/k8s/errors.js';
import { LimitError } from './imageStreamEntry.js';
import { LABEL_BACKUP_NAME, LABEL_BACKUP_UID, LABEL_EXCLUDE_FROM_BACKUP, validLabelValue } from '../pkg/k8s/veleroLabels.js';
import type { IsbApi, JsonPatchOp } from './resources.js';

/** The CRD's maxItems of spec.imageStreams. */
export const MAX_IMAGE_STREAMS = 5000;
/**
 * etcd's default --max-request-bytes: an object this large cannot be stored in a default cluster.
 * The check keeps 64 KiB for what the write adds (request envelope, metadata, status).
 */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;
const HEADROOM_BYTES = 64 * 1024;
const MAX_ATTEMPTS = 30;

export interface VeleroBackupRef {
  name: string;
  namespace: string;
  uid?: string;
  storageLocation?: string;
}

interface Pending {
  entry: ImageStreamEntry;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class IsbAppender {
  private readonly queues = new Map<string, Pending[]>();

  constructor(private readonly isbs: IsbApi) {}

  /** Resolves once the entry is stored in the backup's ImageStreamsBackup. */
  append(backup: VeleroBackupRef, entry: ImageStreamEntry): Promise<void> {
    const key = `${backup.namespace}/${backup.name}`;
    return new Promise<void>((resolve, reject) => {
      const queue = this.queues.get(key);
      if (queue) return void queue.push({ entry, resolve, reject });
      this.queues.set(key, [{ entry, resolve, reject }]);
      void this.drain(key, backup);
    });
  }

  /** Writes what is queued for one ISB, round after round, until nothing is left. */
  private async drain(key: string, backup: VeleroBackupRef): Promise<void> {
    for (;;) {
      const batch = this.queues.get(key)!.splice(0);
      if (batch.length === 0) return void this.queues.delete(key);
      try {
        const refused = await this.write(backup, batch.map((p) => p.entry));
        batch.forEach((p, i) => (refused[i] ? p.reject(refused[i]!) : p.resolve()));
      } catch (err) {
        for (const p of batch) p.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** One guarded read-modify-write; returns, per entry, the limit it would break (it is then left out). */
  private async write(backup: VeleroBackupRef, entries: ImageStreamEntry[]): Promise<Array<LimitError | undefined>> {
    const shown = `ImageStreamsBackup ${backup.namespace}/${backup.name}`;
    for (let attempt = 1; ; attempt++) {
      const current = await this.isbs.get(backup.namespace, backup.name);
      if (current) checkOwner(current, backup, shown);
      const base = current ?? newIsb(backup);
      const listed = base.spec?.imageStreams;
      let streams = listed ?? [];
      const ops: JsonPatchOp[] = [];
      const refused = entries.map((entry): LimitError | undefined => {
        const change = withEntry(streams, entry);
        if (!change) return undefined;
        const problem = limitProblem(base, change.streams);
        if (problem) return new LimitError(`${shown} cannot take ImageStream ${entry.namespace}/${entry.name}: ${problem}`);
        streams = change.streams;
        ops.push(change.op);
        return undefined;
      });
      if (ops.length === 0) return refused; // nothing new: a retried Execute

      try {
        if (!current) {
          await this.isbs.create(backup.namespace, { ...base, spec: { ...base.spec, imageStreams: streams } });
        } else {
          const generation: JsonPatchOp = { op: 'test', path: '/metadata/generation', value: current.metadata?.generation };
          await this.isbs.jsonPatch(backup.namespace, backup.name,
            [generation, ...(listed ? ops : [{ op: 'add', path: '/spec/imageStreams', value: streams } as const])]);
        }
        return refused;
      } catch (err) {
        if (attempt < MAX_ATTEMPTS && await this.anotherWriter(err, backup, current)) {
          await sleep(Math.min(1000, 20 * attempt) * (0.5 + Math.random()));
          continue;
        }
        throw new Error(`${shown}: ${current ? 'updating' : 'creating'} it failed: ${apiErrorMessage(err)}`, { cause: err });
      }
    }
  }

  /**
   * Whether the write failed because someone else wrote first: a create that found the ISB
   * there (409), or a patch whose generation test failed (422, as for an invalid object: told
   * apart by reading the generation again).
   */
  private async anotherWriter(err: unknown, backup: VeleroBackupRef, read: ImageStreamsBackup | undefined): Promise<boolean> {
    if (isConflict(err)) return true;
    if (!read || httpStatus(err) !== 422) return false;
    const now = await this.isbs.get(backup.namespace, backup.name);
    return now?.metadata?.generation !== read.metadata?.generation || now?.metadata?.uid !== read.metadata?.uid;
  }
}

function newIsb(backup: VeleroBackupRef): ImageStreamsBackup {
  return {
    apiVersion: API_VERSION,
    kind: ISB_KIND,
    metadata: {
      name: backup.name,
      namespace: backup.namespace,
      labels: {
        [LABEL_BACKUP_NAME]: validLabelValue(backup.name),
        [LABEL_EXCLUDE_FROM_BACKUP]: 'true',
        ...(backup.uid && { [LABEL_BACKUP_UID]: backup.uid }),
      },
    },
    spec: {
      veleroBackupReference: { name: backup.name, namespace: backup.namespace, startOnCompletion: true },
      ...(backup.storageLocation && { backupLocation: { name: backup.storageLocation } }),
    },
  };
}

/** An ISB of the same name that is not this Velero backup's is never written to. */
function checkOwner(isb: ImageStreamsBackup, backup: VeleroBackupRef, shown: string): void {
  const ref = isb.spec?.veleroBackupReference;
  if (!ref || ref.name !== backup.name || (ref.namespace ?? isb.metadata?.namespace) !== backup.namespace) {
    throw new Error(`${shown} exists and does not belong to Velero Backup ${backup.namespace}/${backup.name} `
      + '(its spec.veleroBackupReference names another backup): rename or delete it');
  }
  const uid = isb.metadata?.labels?.[LABEL_BACKUP_UID];
  if (uid && backup.uid && uid !== backup.uid) {
    throw new Error(`${shown} was made for an earlier Velero Backup of the same name (uid ${uid}, this one is ${backup.uid}): `
      + 'delete it, or name the new backup differently');
  }
}

/** The list with `entry` in it, and the JSON patch operation that makes it so; undefined when it is there already. */
function withEntry(streams: ImageStreamEntry[], entry: ImageStreamEntry): { streams: ImageStreamEntry[]; op: JsonPatchOp } | undefined {
  const i = streams.findIndex((s) => s.name === entry.name && s.namespace === entry.namespace);
  if (i < 0) return { streams: [...streams, entry], op: { op: 'add', path: '/spec/imageStreams/-', value: entry } };
  if (sameEntry(streams[i]!, entry)) return undefined;
  return { streams: streams.map((s, j) => (j === i ? entry : s)), op: { op: 'replace', path: `/spec/imageStreams/${i}`, value: entry } };
}

function sameEntry(a: ImageStreamEntry, b: ImageStreamEntry): boolean {
  const refs = (e: ImageStreamEntry) => JSON.stringify((e.dockerImageReferences ?? []).map((r) => [r.dockerImageReference, r.tags ?? []]));
  return refs(a) === refs(b);
}

function limitProblem(isb: ImageStreamsBackup, streams: ImageStreamEntry[]): string | undefined {
  if (streams.length > MAX_IMAGE_STREAMS) {
    return `it would list ${streams.length} image streams, and one ImageStreamsBackup holds at most ${MAX_IMAGE_STREAMS} `
      + `(spec.imageStreams maxItems): split the Velero backup (by namespace, or with a label selector)`;
  }
  const bytes = Buffer.byteLength(JSON.stringify({ ...isb, spec: { ...isb.spec, imageStreams: streams } }));
  if (bytes > MAX_OBJECT_BYTES - HEADROOM_BYTES) {
    return `it would grow to ${(bytes / 1024 / 1024).toFixed(2)} MiB, over what one Kubernetes object may hold `
      + `(etcd's default request limit, ${MAX_OBJECT_BYTES / 1024 / 1024} MiB, less ${HEADROOM_BYTES / 1024} KiB for its metadata and status): `
      + 'split the Velero backup (by namespace, or with a label selector)';
  }
  return undefined;
}
