// The end of every fault case: its result line, then what must hold once the fault is gone.
import type { ImageStreamsBackup, ImageStreamsRestore } from '../../pkg/api/index.js';
import { FaultCase, type CaseOptions } from './faultCase.js';
import { report, type FaultResult } from './report.js';
import { openWorld, type FaultWorld } from './world.js';

type Resource = ImageStreamsBackup | ImageStreamsRestore;

/** The few status fields that say why an object is where it is, for failure messages. */
export function summary(o: Resource | undefined) {
  const ready = o?.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    phase: o?.status?.phase, readyReason: ready?.reason, message: o?.status?.message ?? ready?.message,
    failures: o?.status?.failures, progress: o?.status?.progress,
  };
}

export interface Timing {
  /** When the fault struck (or was switched on). */
  start: number;
  /**
   * When it was gone: switched off, the moment it struck for a one-off fault (a cut, a stall),
   * or the new controller ready after a SIGKILL.
   */
  end: number;
  /** A one-off fault: requests and connections are counted from it to the final phase (the recovery). */
  oneOff?: boolean;
  /** When the object reached its final phase (or the wait gave up). */
  settledAt: number;
  /** When the healthy object completed; undefined if it did not. */
  healthyAt: number | undefined;
}

export interface FaultKind {
  fault: string;
  where: 'backup' | 'restore';
  /** The server the fault is on, whose requests and connections are counted; none for the API server. */
  server?: 'registry' | 's3';
}

export function resultOf(c: FaultCase, k: FaultKind, obj: Resource | undefined, t: Timing, detail?: string): FaultResult {
  // Bytes are counted where the run uploads: MinIO for a backup, the registry for a restore.
  const target = k.where === 'backup' ? c.s3 : c.registry;
  const blobPath = k.where === 'backup' ? c.poolPath : c.repoPath('uploads', c.targetNs);
  const unique = k.where === 'backup' ? c.layerBytes : c.blobBytes;
  const serverReceived = target.http.bytesReceived({ path: blobPath });
  const phase = obj?.status?.phase ?? 'none';
  const countUntil = t.oneOff ? t.settledAt : t.end;
  const faulty = k.server === undefined ? undefined : k.server === 'registry' ? c.registry : c.s3;
  return {
    case: c.opts.id, fault: k.fault, where: k.where, outcome: phase,
    recoverSeconds: phase === 'Completed' ? Math.max(0, (t.settledAt - t.end) / 1000) : null,
    requestsDuringFault: faulty ? faulty.http.requestsBetween(t.start, countUntil).length : null,
    connectionsDuringFault: faulty ? faulty.counter.between(t.start, countUntil) : null,
    bytes: {
      unique, statusDone: obj?.status?.progress?.bytes.done ?? 0, statusSkipped: obj?.status?.progress?.bytes.skipped ?? 0,
      serverReceived, uploadedAgain: serverReceived - unique,
    },
    healthyCompletedDuringFault: t.healthyAt !== undefined && t.healthyAt <= countUntil,
    ...(detail && { detail }),
  };
}

/** Completed, every pool object whole and named by its digest, no multipart upload left but those allowed. */
export async function expectBackupRecovered(c: FaultCase, isb: ImageStreamsBackup | undefined, allowedUploads: string[] = []): Promise<void> {
  // objectContaining: a failure prints the whole summary, with the message that says why.
  expect(summary(isb)).toEqual(expect.objectContaining({ phase: 'Completed' }));
  const pool = await c.poolCheck();
  expect(pool.mismatched).toEqual([]);
  expect(pool.bytes).toBe(c.layerBytes);
  expect((await c.openUploads()).filter((u) => !allowedUploads.includes(u))).toEqual([]);
}

export async function expectRestoreRecovered(c: FaultCase, isr: ImageStreamsRestore | undefined, allowedUploads: string[] = []): Promise<void> {
  expect(summary(isr)).toEqual(expect.objectContaining({ phase: 'Completed' }));
  expect(await c.restoreDifferences()).toEqual([]);
  const pool = await c.poolCheck();
  expect(pool.mismatched).toEqual([]);
  expect((await c.openUploads()).filter((u) => !allowedUploads.includes(u))).toEqual([]);
}

/** Rejects if `p` has not settled in time, saying what was awaited. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not happen in ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

export interface SharedWorld {
  get: () => Promise<FaultWorld>;
  close: () => Promise<void>;
}

/** One world per test file, opened by the first case that needs it (concurrent tests start before beforeAll settles). */
export function sharedWorld(): SharedWorld {
  let world: Promise<FaultWorld> | undefined;
  return {
    get: () => (world ??= openWorld()),
    close: async () => { if (world) await (await world).close(); },
  };
}

/**
 * Runs a case: opens it, starts its controller, runs `body`, and always cleans up. A failure
 * carries the case's last requests and the controller's last log lines.
 */
export function caseRunner(world: SharedWorld) {
  return async (opts: CaseOptions, body: (c: FaultCase) => Promise<void>): Promise<void> => {
    const c = await FaultCase.open(await world.get(), opts);
    try {
      await c.start();
      await body(c);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      e.message = `${e.message}\n${c.traffic()}\ncontroller log tail:\n${c.controller?.logs().split('\n').slice(-15).join('\n')}`;
      throw e;
    } finally {
      await c.close();
    }
  };
}

export { report };
