// The reconcile's decisions around a run, with the cluster and the data path replaced by
// in-memory fakes (the end-to-end tests cover the same code against real servers).
import type { ImageStreamsBackup, ImageStreamsBackupSpec } from '../../pkg/api/index.js';
import type { Progress } from '../../pkg/contracts.js';
import { StalledError, TransientError } from '../../pkg/errors.js';
import { silentLogger } from '../runtime/logger.js';
import { Runs } from '../runtime/runs.js';
import { IsbReconciler, STALLED_LOCATION_RETRY_MS, type BackupRunResult } from './reconcile.js';
import type { BackupOutcome, BackupRunInput } from './runBackup.js';

const host = 'registry.local:5000';
const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const stream = (name: string, n: number) => ({ name, dockerImageReferences: [{ dockerImageReference: `${host}/ns/${name}@${digest(n)}` }] });
const progress = (done: number): Progress => ({
  images: { total: 1, done: 1, failed: 0 }, blobs: { total: 1, done: 1, skipped: 0 }, bytes: { total: done, done, skipped: 0 },
});

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

class Fixture {
  isb: ImageStreamsBackup | undefined;
  events: Array<{ type: string; reason: string }> = [];
  calls: Array<{ input: BackupRunInput; result: ReturnType<typeof deferred<BackupOutcome>> }> = [];
  changed: string[] = [];
  progressWrites = 0;
  runs = new Runs<BackupRunResult>({ concurrency: 2, onChange: (k) => this.changed.push(k) });
  reconciler = new IsbReconciler({
    isbs: {
      get: async () => (this.isb ? structuredClone(this.isb) : undefined),
      patchStatus: async (_ns, _name, patch) => {
        if (Object.keys(patch as object).join() === 'progress') this.progressWrites++;
        const status = { ...this.isb!.status } as Record<string, unknown>;
        for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
          if (v === null) delete status[k];
          else status[k] = v;
        }
        this.isb!.status = status;
        return this.isb;
      },
    },
    veleroBackups: { get: async () => undefined },
    locations: {
      getLocation: async () => ({ spec: { provider: 'aws', objectStorage: { bucket: 'b' } } }),
      listLocations: async () => [],
      readSecretKey: async () => ({ found: true, value: 'creds' }),
    },
    runs: this.runs,
    record: (_o, type, reason) => this.events.push({ type, reason }),
    runBackup: (input) => {
      const result = deferred<BackupOutcome>();
      this.calls.push({ input, result });
      input.signal.addEventListener('abort', () => result.reject(input.signal.reason));
      return result.promise;
    },
    checkLocation: async () => {},
    registry: () => { throw new Error('not used by the fake data path'); },
    internalRegistry: host,
    progressIntervalMs: 10,
    watchedNamespaces: new Set(['ns']),
    log: silentLogger,
  });

  constructor(spec: ImageStreamsBackupSpec) {
    this.isb = { metadata: { namespace: 'ns', name: 'b', uid: 'u1', generation: 1 }, spec: { backupLocation: { name: 'default' }, ...spec } };
  }

  reconcile() {
    return this.reconciler.reconcile('ns/b');
  }

  /** Settles the last run and waits until the run has reported its end. */
  async finishRun(outcome: BackupOutcome | Error): Promise<void> {
    const call = this.calls.at(-1)!;
    if (outcome instanceof Error) call.result.reject(outcome);
    else call.result.resolve(outcome);
    await this.runs.get('ns/b')!.done;
  }

  setSpec(spec: ImageStreamsBackupSpec): void {
    this.isb!.spec = { ...this.isb!.spec, ...spec };
    this.isb!.metadata!.generation! += 1;
  }

  get readyReason() {
    return this.isb!.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
  }
}

const outcome = (done: number): BackupOutcome => ({ progress: progress(done), failures: [], bundleKey: 'p/plugins/imagestreams/v1/backups/b/bundle.tar' });

describe('IsbReconciler around a run', () => {
  it('lets a run finish when the spec changes under it, then backs up the new generation', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    await f.reconcile();
    expect(f.isb!.status).toMatchObject({ phase: 'InProgress', observedGeneration: 1 });
    f.setSpec({ imageStreams: [stream('a', 1), stream('b', 2)] });
    await f.reconcile();
    expect(f.calls).toHaveLength(1);
    expect(f.isb!.status!.observedGeneration).toBe(1);

    await f.finishRun(outcome(10));
    await f.reconcile();
    expect(f.calls).toHaveLength(2);
    expect(f.calls[1]!.input.imageStreams.map((s) => s.name)).toEqual(['a', 'b']);
    expect(f.isb!.status).toMatchObject({ phase: 'InProgress', observedGeneration: 2 });
    expect(f.events.map((e) => e.reason)).toEqual(['BackupStarted', 'BackupRestarted']);

    await f.finishRun(outcome(20));
    await f.reconcile();
    expect(f.isb!.status).toMatchObject({ phase: 'Completed', observedGeneration: 2, bundle: 'p/plugins/imagestreams/v1/backups/b/bundle.tar' });
    expect(f.isb!.status!.progress!.bytes.done).toBe(20);
  });

  it('resumes after a controller restart, keeping the start time', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    f.isb!.status = { phase: 'InProgress', observedGeneration: 1, startTimestamp: '2024-01-01T00:00:00Z' };
    await f.reconcile();
    expect(f.calls).toHaveLength(1);
    expect(f.isb!.status!.startTimestamp).toBe('2024-01-01T00:00:00Z');
    expect(f.events.map((e) => e.reason)).toEqual(['BackupResumed']);
  });

  it('retries a run that failed for a passing reason, with growing delays, staying InProgress', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    const delays: number[] = [];
    await f.reconcile();
    for (let i = 0; i < 3; i++) {
      await f.finishRun(new TransientError('StorageUnavailable', 'bucket answered 503'));
      const r = await f.reconcile();
      delays.push(r?.requeueAfterMs ?? 0);
      expect(f.isb!.status!.phase).toBe('InProgress');
      expect(f.readyReason).toBe('StorageUnavailable');
      await f.reconcile(); // the requeue: starts the run again
    }
    expect(delays).toEqual([5_000, 10_000, 20_000]);
    expect(f.calls).toHaveLength(4);
  });

  it('fails the backup when the run fails for a lasting reason, keeping refused references', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1), { name: 'x', dockerImageReferences: [{ dockerImageReference: `quay.io/ns/x@${digest(3)}` }] }] });
    await f.reconcile();
    await f.finishRun(new StalledError('NothingBackedUp', 'no image could be backed up: manifest unknown'));
    await f.reconcile();
    expect(f.isb!.status).toMatchObject({ phase: 'Failed', message: expect.stringMatching(/manifest unknown/) });
    expect(f.readyReason).toBe('NothingBackedUp');
    expect(f.isb!.status!.failures).toEqual([expect.objectContaining({ reference: `quay.io/ns/x@${digest(3)}` })]);
    expect(f.events.at(-1)).toEqual({ type: 'Warning', reason: 'BackupFailed' });
    expect(await f.reconcile()).toBeUndefined();
    expect(f.calls).toHaveLength(1);
  });

  it('waits for the location when the run finds the bucket gone, instead of failing', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    await f.reconcile();
    await f.finishRun(new StalledError('BucketNotFound', 'bucket "b" does not exist'));
    const r = await f.reconcile();
    expect(f.isb!.status!.phase).toBe('InProgress');
    expect(f.readyReason).toBe('BucketNotFound');
    expect(r?.requeueAfterMs).toBeGreaterThan(0);
    // The location path, not the general retry: its own delay, condition and event.
    expect(r?.requeueAfterMs).toBe(STALLED_LOCATION_RETRY_MS);
    expect(f.isb!.status!.conditions?.find((c) => c.type === 'BackupLocationAvailable')).toMatchObject({ status: 'False', reason: 'BucketNotFound' });
    expect(f.events.at(-1)).toEqual({ type: 'Warning', reason: 'BackupLocationUnavailable' });
  });

  it('aborts the run when the ISB is deleted', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    await f.reconcile();
    const run = f.runs.get('ns/b')!;
    f.isb = undefined;
    await f.reconcile();
    await run.done;
    expect(run.signal.aborted).toBe(true);
    expect(f.runs.get('ns/b')).toBeUndefined();
  });

  it('starts nothing for an ISB being deleted, and stops its run', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    await f.reconcile();
    const run = f.runs.get('ns/b')!;
    f.isb!.metadata!.deletionTimestamp = new Date();
    f.isb!.status = {};
    await f.reconcile();
    await run.done;
    expect(run.signal.aborted).toBe(true);
    expect(f.calls).toHaveLength(1);
    expect(f.isb!.status).toEqual({});
  });

  it('writes the latest progress, not one write per report, while the run copies', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    await f.reconcile();
    const { input } = f.calls[0]!;
    for (let i = 1; i <= 100; i++) input.onProgress(progress(i));
    const deadline = Date.now() + 2_000;
    while (f.isb!.status!.progress!.bytes.done !== 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(f.isb!.status!.progress!.bytes.done).toBe(100);
    // A hundred reports within one interval: one write (two if the timer fired in between).
    expect(f.progressWrites).toBeGreaterThanOrEqual(1);
    expect(f.progressWrites).toBeLessThanOrEqual(2);
  });
});
