// The backup's life around its runs, with the cluster and the data path replaced by in-memory
// fakes and a clock the test moves (the end-to-end and fault tests cover the same code against
// real servers): when a run starts, how its end is committed, retried or made final.
import type { ImageStreamsBackup, ImageStreamsBackupSpec } from '../../pkg/api/index.js';
import type { Progress } from '../../pkg/contracts.js';
import { NothingBackedUpError } from '../../pkg/backup/runBackup.js';
import { StalledError, TransientError, TransientImagesError } from '../../pkg/errors.js';
import { CANCEL_ANNOTATION, Lifecycle, type Finalizer } from '../runtime/lifecycle.js';
import { silentLogger } from '../runtime/logger.js';
import { Runs } from '../runtime/runs.js';
import { STALLED_LOCATION_RETRY_MS, backupKind, contentHash, type BackupRunResult } from './reconcile.js';
import { ensureDefaults } from './ensureDefaults.js';
import type { BackupOutcome, BackupRunInput } from './runBackup.js';
import type { BackupStatus } from './status.js';

const host = 'registry.local:5000';
const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const stream = (name: string, n: number) => ({ name, dockerImageReferences: [{ dockerImageReference: `${host}/ns/${name}@${digest(n)}` }] });
const progress = (done: number): Progress => ({
  images: { total: 1, done: 1, failed: 0 }, blobs: { total: 1, done: 1, skipped: 0 }, bytes: { total: done, done, skipped: 0 },
});
const outcome = (done: number): BackupOutcome => ({ progress: progress(done), failures: [], carried: [], bundleKey: 'p/plugins/imagestreams/v1/backups/b/bundle.tar' });
const retry = { deadlineMs: 3_600_000, baseMs: 5_000, maxMs: 300_000 };

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

class Fixture {
  isb: ImageStreamsBackup | undefined;
  events: Array<{ type: string; reason: string; message: string }> = [];
  calls: Array<{ input: BackupRunInput; result: ReturnType<typeof deferred<BackupOutcome>> }> = [];
  progressWrites = 0;
  clock = new Date('2026-01-01T00:00:00Z');
  runs = new Runs<BackupRunResult>({ concurrency: 2, onChange: () => {} });
  lifecycle: Lifecycle<ImageStreamsBackup, NonNullable<ImageStreamsBackup['status']>, BackupRunResult>;

  constructor(spec: ImageStreamsBackupSpec, opts: { checkLocation?: () => Promise<void>; finalizer?: Finalizer<ImageStreamsBackup, BackupStatus> } = {}) {
    this.isb = { metadata: { namespace: 'ns', name: 'b', uid: 'u1', generation: 1 }, spec: { backupLocation: { name: 'default' }, ...spec } };
    const isbs = {
      get: async () => (this.isb ? structuredClone(this.isb) : undefined),
      // Finalizers only, as the controller patches them.
      patch: async (_ns: string, _name: string, body: unknown) => {
        const finalizers = (body as { metadata: { finalizers: string[] | null } }).metadata.finalizers;
        if (finalizers === null) delete this.isb!.metadata!.finalizers;
        else this.isb!.metadata!.finalizers = finalizers;
        if (!finalizers && this.isb!.metadata!.deletionTimestamp) this.isb = undefined;
        return structuredClone(this.isb!);
      },
      patchStatus: async (_ns: string, _name: string, patch: unknown) => {
        if (Object.keys(patch as object).join() === 'progress') this.progressWrites++;
        const status = { ...this.isb!.status } as Record<string, unknown>;
        for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
          if (v === null) delete status[k];
          else status[k] = v;
        }
        this.isb!.status = status;
        return this.isb;
      },
    };
    this.lifecycle = new Lifecycle({
      ...(opts.finalizer && { finalizer: opts.finalizer }),
      ...backupKind({
      isbs,
      veleroBackups: { get: async () => undefined },
      locations: {
        getLocation: async () => ({ spec: { provider: 'aws', objectStorage: { bucket: 'b' } } }),
        listLocations: async () => [],
        readSecretKey: async () => ({ found: true, value: 'creds' }),
      },
      runBackup: (input) => {
        const result = deferred<BackupOutcome>();
        this.calls.push({ input, result });
        input.signal.addEventListener('abort', () => result.reject(input.signal.reason));
        return result.promise;
      },
      checkLocation: opts.checkLocation ?? (async () => {}),
      registry: () => { throw new Error('not used by the fake data path'); },
      internalRegistry: host,
      progressIntervalMs: 10,
      watchedNamespaces: new Set(['ns']),
      log: silentLogger,
    }) }, {
      client: isbs, runs: this.runs as Runs<unknown>, retry, locationRetryMs: STALLED_LOCATION_RETRY_MS, log: silentLogger,
      record: (_o, type, reason, message) => this.events.push({ type, reason, message }),
      now: () => this.clock, random: () => 1,
    });
  }

  reconcile() {
    return this.lifecycle.reconcile('ns/b');
  }

  /** Settles the last run and waits until the run has reported its end. */
  async finishRun(end: BackupOutcome | Error): Promise<void> {
    const call = this.calls.at(-1)!;
    if (end instanceof Error) call.result.reject(end);
    else call.result.resolve(end);
    await this.runs.get('ns/b')!.done;
  }

  setSpec(spec: ImageStreamsBackupSpec): void {
    this.isb!.spec = { ...this.isb!.spec, ...spec };
    this.isb!.metadata!.generation! += 1;
  }

  advance(ms: number): void {
    this.clock = new Date(this.clock.getTime() + ms);
  }

  get readyReason() {
    return this.isb!.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
  }
}

describe('a backup around its runs', () => {
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

  it.each([
    { name: 'startBackup alone changes after it completed: no new run, the status follows the generation', change: { startBackup: false }, runs: 1, phase: 'Completed' },
    { name: 'an image is appended after it completed: it runs again', change: { imageStreams: [stream('a', 1), stream('c', 3)] }, runs: 2, phase: 'InProgress' },
  ])('when $name', async ({ change, runs, phase }) => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    await f.reconcile();
    await f.finishRun(outcome(10));
    await f.reconcile();
    expect(f.isb!.status).toMatchObject({ phase: 'Completed', contentHash: contentHash(ensureDefaults(f.isb!)) });
    f.setSpec(change);
    await f.reconcile();
    expect(f.calls).toHaveLength(runs);
    expect(f.isb!.status).toMatchObject({ phase, observedGeneration: 2 });
  });

  it('commits a run whose spec changed only in startBackup meanwhile, for the new generation', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    await f.reconcile();
    f.setSpec({ startBackup: false });
    await f.finishRun(outcome(10));
    await f.reconcile();
    expect(f.calls).toHaveLength(1);
    expect(f.isb!.status).toMatchObject({ phase: 'Completed', observedGeneration: 2 });
  });

  it('resumes after a controller restart, keeping the start time', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    f.isb!.status = { phase: 'InProgress', observedGeneration: 1, startTimestamp: '2025-12-31T23:00:00Z' };
    await f.reconcile();
    expect(f.calls).toHaveLength(1);
    expect(f.isb!.status!.startTimestamp).toBe('2025-12-31T23:00:00Z');
    expect(f.events.map((e) => e.reason)).toEqual(['BackupResumed']);
  });

  it('retries a run that failed for a reason that may pass only after its backoff, which grows, staying InProgress', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    const delays: number[] = [];
    await f.reconcile();
    for (let i = 0; i < 3; i++) {
      await f.finishRun(new TransientError('StorageUnavailable', 'bucket answered 503'));
      const r = await f.reconcile();
      delays.push(r?.requeueAfterMs ?? 0);
      expect(f.isb!.status).toMatchObject({ phase: 'InProgress', attempts: i + 1, nextAttemptTime: new Date(f.clock.getTime() + delays[i]!).toISOString().replace('.000', '') });
      expect(f.readyReason).toBe('StorageUnavailable');
      // A reconcile before the next attempt's time (an event, a restart) starts nothing.
      f.advance(delays[i]! - 1_000);
      expect(await f.reconcile()).toEqual({ requeueAfterMs: 1_000 });
      expect(f.calls).toHaveLength(i + 1);
      f.advance(1_000);
      await f.reconcile();
      expect(f.calls).toHaveLength(i + 2);
    }
    expect(delays).toEqual([5_000, 10_000, 20_000]);
    // The same words each time, so that the recorder counts the repeats in one Event.
    expect(new Set(f.events.filter((e) => e.reason === 'BackupRetrying').map((e) => e.message))).toEqual(new Set(['bucket answered 503; retrying with backoff']));
  });

  it('keeps retrying a lasting location fault at its own period, and fails with the last error at the deadline', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    await f.reconcile();
    await f.finishRun(new StalledError('BucketNotFound', 'bucket "b" does not exist', { scope: 'location' }));
    expect(await f.reconcile()).toEqual({ requeueAfterMs: STALLED_LOCATION_RETRY_MS });
    expect(f.isb!.status).toMatchObject({ phase: 'InProgress' });
    expect(f.readyReason).toBe('BucketNotFound');
    f.advance(retry.deadlineMs);
    await f.reconcile();
    await f.finishRun(new StalledError('BucketNotFound', 'bucket "b" does not exist', { scope: 'location' }));
    await f.reconcile();
    expect(f.isb!.status).toMatchObject({ phase: 'Failed', message: expect.stringMatching(/^gave up after 2 attempts in 3600s \(RUN_DEADLINE_SECONDS\): bucket "b" does not exist/) });
    expect(f.readyReason).toBe('BucketNotFound');
  });

  it('tells the run it is the last attempt when a failure could not be retried before the deadline', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    await f.reconcile();
    expect(f.calls[0]!.input.finalAttempt).toBe(false);
    await f.finishRun(new TransientImagesError([{ imageStream: 'ns/a', reference: 'r', message: 'registry answered 503' }], progress(0)));
    await f.reconcile();
    f.advance(retry.deadlineMs - 7_000);
    await f.reconcile();
    expect(f.calls[1]!.input.finalAttempt).toBe(true);
  });

  it('fails the backup when the run fails for a lasting reason, with each image\'s failure and the refused references', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1), { name: 'x', dockerImageReferences: [{ dockerImageReference: `quay.io/ns/x@${digest(3)}` }] }] });
    await f.reconcile();
    await f.finishRun(new NothingBackedUpError([{ imageStream: 'ns/a', reference: `${host}/ns/a@${digest(1)}`, message: 'manifest unknown' }]));
    await f.reconcile();
    expect(f.isb!.status).toMatchObject({ phase: 'Failed', message: expect.stringMatching(/manifest unknown/) });
    expect(f.readyReason).toBe('NothingBackedUp');
    expect(f.isb!.status!.failures!.map((x) => x.reference)).toEqual([`quay.io/ns/x@${digest(3)}`, `${host}/ns/a@${digest(1)}`]);
    expect(f.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'BackupFailed' });
    expect(await f.reconcile()).toBeUndefined();
    expect(f.calls).toHaveLength(1);
  });

  it('waits for the location before it starts, with its own period, condition and event', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] }, {
      checkLocation: async () => { throw new StalledError('BucketNotFound', 'bucket "b" does not exist', { scope: 'location' }); },
    });
    const r = await f.reconcile();
    expect(r).toEqual({ requeueAfterMs: STALLED_LOCATION_RETRY_MS });
    expect(f.isb!.status!.phase).toBe('WaitingForStart');
    expect(f.isb!.status!.conditions?.find((c) => c.type === 'BackupLocationAvailable')).toMatchObject({ status: 'False', reason: 'BucketNotFound' });
    expect(f.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'BackupLocationUnavailable' });
    await f.reconcile();
    expect(f.events.filter((e) => e.reason === 'BackupLocationUnavailable')).toHaveLength(1);
  });

  it('stops its run and ends Failed, reason Cancelled, when the cancel annotation is set', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] });
    await f.reconcile();
    const run = f.runs.get('ns/b')!;
    f.isb!.metadata!.annotations = { [CANCEL_ANNOTATION]: 'cancelled by Velero (item operation timeout)' };
    await f.reconcile();
    await run.done;
    expect(run.signal.aborted).toBe(true);
    expect(f.isb!.status).toMatchObject({ phase: 'Failed', message: 'cancelled: cancelled by Velero (item operation timeout)' });
    expect(f.readyReason).toBe('Cancelled');
    expect(f.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'BackupCancelled' });
    await f.reconcile();
    expect(f.calls).toHaveLength(1);
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

describe('a deleted backup', () => {
  it('gets the finalizer before its first run', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] }, { finalizer: { name: 'test/bundle', finalize: async () => ({ action: 'release' }) } });
    await f.reconcile();
    expect(f.isb!.metadata!.finalizers).toEqual(['test/bundle']);
    expect(f.calls).toHaveLength(1);
  });

  it('has its run stopped, and ended, before its data is deleted; then the object goes', async () => {
    const order: string[] = [];
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] }, {
      finalizer: { name: 'test/bundle', finalize: async () => { order.push('finalize'); return { action: 'release' }; } },
    });
    await f.reconcile();
    void f.runs.get('ns/b')!.done.then(() => order.push('run ended'));
    f.isb!.metadata!.deletionTimestamp = new Date('2026-01-01T00:01:00Z');
    await f.reconcile();
    expect(order).toEqual(['run ended', 'finalize']);
    expect(f.isb).toBeUndefined();
  });

  it('stays, with the status the finalizer gives, while the data cannot be deleted', async () => {
    const f = new Fixture({ startBackup: true, imageStreams: [stream('a', 1)] }, {
      finalizer: {
        name: 'test/bundle',
        finalize: async (_key, isb) => ({ action: 'wait', status: { ...isb.status, message: 'location down' }, requeueAfterMs: 1234, events: [{ type: 'Warning', reason: 'BundleDeletionBlocked', message: 'location down' }] }),
      },
    });
    await f.reconcile();
    await f.finishRun(outcome(10));
    await f.reconcile();
    f.isb!.metadata!.deletionTimestamp = new Date('2026-01-01T00:01:00Z');
    expect(await f.reconcile()).toEqual({ requeueAfterMs: 1234 });
    expect(f.isb!.metadata!.finalizers).toEqual(['test/bundle']);
    expect(f.isb!.status!.message).toBe('location down');
    expect(f.events.at(-1)).toMatchObject({ reason: 'BundleDeletionBlocked' });
  });
});
