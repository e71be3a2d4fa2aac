// Builds the ISB's next status from the current one and what the reconcile decided, and writes
// it in one merge patch through the status subresource (or not at all when nothing changed).
import type {
  Condition as ApiCondition, ImageStreamsBackup, ImageStreamsBackupPhase, ImageStreamsBackupStatus,
} from '../../pkg/api/index.js';
import type { ImageFailure, Progress } from '../../pkg/contracts.js';
import { ConditionTypes } from '../conditions.js';
import { rfc3339, setCondition, truncate, type Condition, type ConditionInput } from '../runtime/conditions.js';
import { capFailures, writeStatus, type Committed, type StatusClient } from '../runtime/status.js';

export interface StatusChange {
  phase: ImageStreamsBackupPhase;
  ready: { status: 'True' | 'False'; reason: string; message: string };
  /** The generation the status describes: the spec being (or last) worked on. */
  observedGeneration: number;
  conditions?: ConditionInput[];
  /** Fields to set; `null` removes one, absent leaves it as it is. */
  set?: {
    startTimestamp?: string | null;
    completionTimestamp?: string | null;
    progress?: Progress | null;
    failures?: ImageFailure[] | null;
    backupLocation?: string | null;
    bundle?: string | null;
  };
}

export type { StatusClient };

export function buildStatus(current: ImageStreamsBackupStatus | undefined, change: StatusChange, now: Date): ImageStreamsBackupStatus {
  let conditions: Condition[] = (current?.conditions ?? []) as Condition[];
  conditions = setCondition(conditions, {
    type: ConditionTypes.Ready, ...change.ready, observedGeneration: change.observedGeneration,
  }, now);
  for (const c of change.conditions ?? []) conditions = setCondition(conditions, { observedGeneration: change.observedGeneration, ...c }, now);

  const next: ImageStreamsBackupStatus = {
    ...current,
    phase: change.phase,
    message: truncate(change.ready.message),
    conditions: conditions as ApiCondition[],
    observedGeneration: change.observedGeneration,
  };
  const out = next as Record<string, unknown>;
  for (const [k, v] of Object.entries(change.set ?? {})) {
    if (v === undefined) continue;
    if (v === null) out[k] = undefined;
    else if (k === 'failures') out[k] = (v as ImageFailure[]).length > 0 ? capFailures(v as ImageFailure[]) : undefined;
    else out[k] = v;
  }
  return next;
}

export function commitStatus(
  client: StatusClient, isb: ImageStreamsBackup, change: StatusChange, now = new Date(),
): Promise<Committed<ImageStreamsBackupStatus>> {
  return writeStatus(client, isb, buildStatus(isb.status, change, now), ConditionTypes.Ready);
}

export const nowTimestamp = (now = new Date()): string => rfc3339(now);
