// Writes the status the reconcile decided (status.ts builds it) in one merge patch through the
// status subresource, or not at all when nothing changed; tells the caller what was there
// before, so that an event is recorded once per change and not once per reconcile.
import type { ImageStreamsRestore } from '../../pkg/api/index.js';
import { ConditionTypes } from '../conditions.js';
import { findCondition, type Condition } from '../runtime/conditions.js';
import { statusPatch } from '../runtime/status.js';
import type { RestoreStatus } from './status.js';

export interface StatusClient {
  patchStatus(namespace: string, name: string, status: unknown): Promise<unknown>;
}

export interface Committed {
  changed: boolean;
  previousPhase?: string;
  previousReason?: string;
  status: RestoreStatus;
}

export async function commitStatus(client: StatusClient, isr: ImageStreamsRestore, desired: RestoreStatus): Promise<Committed> {
  const current = isr.status;
  const patch = statusPatch(current, desired);
  if (patch) await client.patchStatus(isr.metadata?.namespace ?? '', isr.metadata?.name ?? '', patch);
  return {
    changed: patch !== undefined,
    previousPhase: current?.phase,
    previousReason: findCondition(current?.conditions as Condition[] | undefined, ConditionTypes.Ready)?.reason,
    status: desired,
  };
}
