// metav1.Condition helpers, with the apimachinery rule: lastTransitionTime moves only when the
// status flips, so a reason or message update does not make a condition look new.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** Conditions are for people to read; a long error (a whole HTTP body) is cut to this length. */
export const MAX_CONDITION_MESSAGE = 1024;

export function truncate(message: string, max = MAX_CONDITION_MESSAGE): string {
  return message.length <= max ? message : `${message.slice(0, max - 3)}...`;
}

export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

/** Returns a new list with `input` set: the old entry keeps its transition time unless the status changed. */
export function setCondition(list: readonly Condition[] | undefined, input: ConditionInput, now: Date = new Date()): Condition[] {
  const out = [...(list ?? [])];
  const i = out.findIndex((c) => c.type === input.type);
  const old = i >= 0 ? out[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: truncate(input.message),
    lastTransitionTime: old && old.status === input.status ? old.lastTransitionTime : rfc3339(now),
    ...(input.observedGeneration !== undefined && { observedGeneration: input.observedGeneration }),
  };
  if (i >= 0) out[i] = next;
  else out.push(next);
  return out;
}

export function removeCondition(list: readonly Condition[] | undefined, type: string): Condition[] {
  return (list ?? []).filter((c) => c.type !== type);
}

export function isTrue(list: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(list, type)?.status === 'True';
}

/** RFC 3339 at second precision, as metav1.Time serializes (the API server rejects nothing finer, but rounds). */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
