// One status write per reconcile, and none when nothing changed: the merge patch holds only the
// top-level status fields that differ (null removes one), so a reconcile that finds the world
// as it left it costs no write, and no watch event that would wake it again.
import type { KubernetesObject } from '@kubernetes/client-node';
import { MAX_FAILURE_MESSAGE_LENGTH, MAX_STATUS_FAILURES } from '../../pkg/api/index.js';
import type { ImageFailure } from '../../pkg/contracts.js';
import { findCondition, truncate, type Condition } from './conditions.js';

export interface StatusClient {
  patchStatus(namespace: string, name: string, status: unknown): Promise<unknown>;
}

/** What a write found: the phase and Ready reason before it, so an event is recorded once per change, not once per reconcile. */
export interface Committed<S> {
  changed: boolean;
  previousPhase?: string;
  previousReason?: string;
  status: S;
}

interface StatusShape {
  phase?: string;
  conditions?: unknown[];
}

/** Writes `desired` as one merge patch through the status subresource, or nothing when it is what the object has. */
export async function writeStatus<S extends StatusShape>(
  client: StatusClient, obj: KubernetesObject & { status?: S }, desired: S, readyType = 'Ready',
): Promise<Committed<S>> {
  const current = obj.status;
  const patch = statusPatch(current, desired);
  if (patch) await client.patchStatus(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '', patch);
  return {
    changed: patch !== undefined,
    ...(current?.phase !== undefined && { previousPhase: current.phase }),
    ...(current?.conditions && { previousReason: findCondition(current.conditions as Condition[], readyType)?.reason }),
    status: desired,
  };
}

export function statusPatch<S extends object>(current: S | undefined, desired: S): Record<string, unknown> | undefined {
  const cur = (current ?? {}) as Record<string, unknown>;
  const next = desired as Record<string, unknown>;
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(next)) {
    if (v === undefined) {
      if (cur[k] !== undefined) patch[k] = null;
    } else if (!deepEqual(cur[k], v)) {
      patch[k] = v;
    }
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The first failures, cut to the CRD's limits, so status stays small whatever the backup's size. */
export function capFailures(failures: readonly ImageFailure[]): ImageFailure[] {
  return failures.slice(0, MAX_STATUS_FAILURES).map((f) => ({
    imageStream: truncate(f.imageStream, 512),
    reference: truncate(f.reference, 1024),
    message: truncate(f.message, MAX_FAILURE_MESSAGE_LENGTH),
  }));
}
