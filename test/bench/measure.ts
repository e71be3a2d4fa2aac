// What one measured phase reports. Throughput is over the unique bytes that the method
// itself had to move (`bytes`), so a method that copies less (today's path keeps one
// platform) is not charged for what it skipped.
export interface PhaseResult {
  name: string;
  seconds: number;
  /** Unique bytes the method moved: the throughput's numerator. */
  bytes: number;
  /** bytes / seconds, in MB/s (10^6 bytes). */
  mbps: number;
  /** Growth of the method's store (its object-storage prefix, or the target registry's folder). */
  storeBytes: number;
  /** The controller's peak resident memory (VmHWM), for the product's phases. */
  peakRssBytes?: number;
  details?: Record<string, number | string | boolean>;
  /** For the product: each status change the watch saw, to show where the time goes. */
  timeline?: TimelineEntry[];
}

export interface TimelineEntry {
  /** Seconds since the resource was created. */
  t: number;
  phase: string;
  reason?: string;
  bytesDone?: number;
  imagesDone?: number;
}

/** Collects status changes of one resource, from the moment it is made. */
export function timeline(): { entries: TimelineEntry[]; start: () => void; seen: (o: { status?: Record<string, unknown> }) => void } {
  const entries: TimelineEntry[] = [];
  let t0 = process.hrtime.bigint();
  return {
    entries,
    start: () => { t0 = process.hrtime.bigint(); },
    seen: (o) => {
      const s = (o.status ?? {}) as {
        phase?: string; conditions?: Array<{ type: string; reason?: string }>;
        progress?: { bytes?: { done?: number }; images?: { done?: number } };
      };
      const entry: TimelineEntry = {
        t: Math.round(Number(process.hrtime.bigint() - t0) / 1e6) / 1e3,
        phase: s.phase ?? 'New',
        ...(s.conditions?.find((c) => c.type === 'Ready')?.reason && { reason: s.conditions.find((c) => c.type === 'Ready')!.reason! }),
        ...(s.progress?.bytes?.done !== undefined && { bytesDone: s.progress.bytes.done }),
        ...(s.progress?.images?.done !== undefined && { imagesDone: s.progress.images.done }),
      };
      const last = entries[entries.length - 1];
      const same = last && last.phase === entry.phase && last.reason === entry.reason && last.bytesDone === entry.bytesDone && last.imagesDone === entry.imagesDone;
      if (!same) entries.push(entry);
    },
  };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

export function phase(
  name: string, seconds: number, bytes: number, storeBytes: number, extra: Partial<PhaseResult> = {},
): PhaseResult {
  return { name, seconds, bytes, mbps: seconds > 0 ? bytes / 1e6 / seconds : 0, storeBytes, ...extra };
}
