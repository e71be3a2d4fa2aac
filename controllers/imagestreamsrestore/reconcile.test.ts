import type { ImageStreamsRestore } from '../../pkg/api/index.js';
import type { BackupJson } from '../../pkg/bundle/format.js';
import type { Progress } from '../../pkg/contracts.js';
import { StalledError, TransientError, WaitingError } from '../../pkg/errors.js';
import type { BackupStorageLocation } from '../../pkg/k8s/velero.js';
import { findCondition, type Condition } from '../runtime/conditions.js';
import { silentLogger } from '../runtime/logger.js';
import { Runs } from '../runtime/runs.js';
import type { BundleLookup } from './findBundle.js';
import { Lifecycle } from '../runtime/lifecycle.js';
import { restoreKind, type RestoreRunResult } from './reconcile.js';
import type { RestoreOutcome, RestoreRunInput } from './runRestore.js';
import type { VerifyOutcome, VerifyRunInput } from './runVerify.js';

const KEY = 'adp/r';
const created = new Date('2024-01-01T00:00:00Z');
const WAIT_MS = 600_000;

/** RFC 7386 merge, as the API server applies a status merge patch. */
function merge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k])) {
      out[k] = merge(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}

const backupJson = (streams: Array<[string, string, number]>): BackupJson => ({
  backup: { namespace: 'adp', name: 'nightly', uid: 'b1' },
  imageStreams: streams.map(([namespace, name, n]) => ({
    namespace, name, references: Array.from({ length: n }, (_, i) => ({ digest: `sha256:${String(i).padStart(64, '0')}`, mediaType: 'm', tags: [] })),
  })),
} as unknown as BackupJson);

/** What a verification found: `damaged` blobs, each used by shop/web (3 images, 5 layers of 1 MiB). */
const verified = (damaged: string[]): VerifyOutcome => ({
  backup: { namespace: 'adp', name: 'nightly', uid: 'b1' },
  progress: {
    images: { total: 3, done: damaged.length ? 0 : 3, failed: damaged.length ? 3 : 0 },
    blobs: { total: Math.max(5, damaged.length), done: Math.max(5, damaged.length), skipped: 0 }, bytes: { total: 5 << 20, done: 5 << 20, skipped: 0 },
  },
  metadataChecked: 6,
  problems: damaged.map((digest) => ({
    digest, location: 'pool' as const, problem: 'missing' as const, expectedSize: 1 << 20, imageStreams: ['shop/web'],
    message: `layer ${digest} is missing from the pool (p/blobs/sha256/${digest.slice(7)}); used by shop/web`,
  })),
  unmatched: [],
  intact: damaged.length === 0,
});
const digestOf = (i: number) => `sha256:${String(i).padStart(64, 'a')}`;

const progress = (total: number, done: number, failed: number): Progress => ({
  images: { total, done, failed }, blobs: { total: 1, done: 1, skipped: 0 }, bytes: { total: 10, done: 10, skipped: 0 },
});

interface World {
  isr?: ImageStreamsRestore;
  bsls: BackupStorageLocation[];
  lookup: () => Promise<BundleLookup>;
  run: (input: RestoreRunInput) => Promise<RestoreOutcome>;
  verify: (input: VerifyRunInput) => Promise<VerifyOutcome>;
  /** The restore is in an admin namespace (the default). */
  admin: boolean;
  /** The credential Secret's key, when there is one. */
  secret?: string;
  now: Date;
}

function setup(world: Partial<World> & { status?: ImageStreamsRestore['status']; spec?: Partial<ImageStreamsRestore['spec']> } = {}) {
  const w: World = {
    isr: {
      metadata: { namespace: 'adp', name: 'r', uid: 'u1', generation: 1, creationTimestamp: created.toISOString() as unknown as Date },
      spec: { imageStreamsBackupReference: { name: 'nightly' }, backupLocation: { name: 'default' }, ...world.spec },
      ...(world.status && { status: world.status }),
    },
    bsls: world.bsls ?? [{ metadata: { name: 'default', namespace: 'adp' }, spec: { provider: 'aws', objectStorage: { bucket: 'b' } } }],
    lookup: world.lookup ?? (async () => ({ found: true, key: 'k/bundle.tar', backup: backupJson([['shop', 'web', 2], ['blog', 'web', 1]]) })),
    run: world.run ?? (async () => ({ progress: progress(3, 3, 0), failures: [] })),
    verify: world.verify ?? (async () => verified([])),
    admin: world.admin ?? true,
    ...(world.secret && { secret: world.secret }),
    now: world.now ?? new Date(created.getTime() + 5_000),
  };
  const events: Array<{ type: string; reason: string; message: string }> = [];
  const patches: unknown[] = [];
  const runInputs: RestoreRunInput[] = [];
  const verifyInputs: VerifyRunInput[] = [];
  let findCalls = 0;
  const changed: string[] = [];
  const runs = new Runs<RestoreRunResult>({ concurrency: 1, onChange: (k) => changed.push(k) });
  const isrs = {
    patch: async (): Promise<ImageStreamsRestore> => { throw new Error('an ImageStreamsRestore has no finalizer'); },
    get: async () => (w.isr ? structuredClone(w.isr) : undefined),
    patchStatus: async (_ns: string, _name: string, status: unknown) => {
      patches.push(status);
      if (w.isr) w.isr = { ...w.isr, status: merge((w.isr.status ?? {}) as Record<string, unknown>, status as Record<string, unknown>) };
      return w.isr;
    },
  };
  const reconciler = new Lifecycle(restoreKind({
    isrs,
    locations: {
      getLocation: async (_ns, name) => w.bsls.find((b) => b.metadata?.name === name),
      listLocations: async () => w.bsls,
      readSecretKey: async () => (w.secret ? { found: true, value: w.secret } : { found: false, missing: 'secret' }),
    },
    findBundle: async () => { findCalls++; return w.lookup(); },
    runRestore: async (input) => { runInputs.push(input); return w.run(input); },
    runVerify: async (input) => { verifyInputs.push(input); return w.verify(input); },
    trusted: () => w.admin,
    registry: () => { throw new Error('not used'); },
    progressIntervalMs: 10,
    bundleWaitMs: WAIT_MS,
    log: silentLogger,
  }), {
    client: isrs, runs: runs as Runs<unknown>, retry: { deadlineMs: 3_600_000, baseMs: 5_000, maxMs: 300_000 }, locationRetryMs: 60_000,
    record: (_obj, type, reason, message) => events.push({ type, reason, message }), log: silentLogger, now: () => w.now, random: () => 1,
  });
  const ready = () => findCondition(w.isr?.status?.conditions as Condition[] | undefined, 'Ready');
  /** Reconciles, then lets the run finish and reconciles again, as the run's onChange would. */
  const reconcileThrough = async () => {
    const first = await reconciler.reconcile(KEY);
    const run = runs.get(KEY);
    if (!run) return first;
    await run.done;
    return reconciler.reconcile(KEY);
  };
  return { w, events, patches, runInputs, verifyInputs, runs, reconciler, ready, reconcileThrough, findCalls: () => findCalls, changed };
}

describe('a restore around its runs', () => {
  it('restores every image stream of the backup and ends Completed', async () => {
    const t = setup();
    expect(await t.reconcileThrough()).toBeUndefined();
    expect(t.w.isr?.status).toMatchObject({
      phase: 'Completed', backupName: 'nightly', observedGeneration: 1, progress: progress(3, 3, 0),
      startTimestamp: '2024-01-01T00:00:05Z', completionTimestamp: '2024-01-01T00:00:05Z',
    });
    expect(t.ready()).toMatchObject({ status: 'True', reason: 'Completed' });
    expect(t.runInputs[0]!.imageStreams).toEqual([]);
    expect(t.events.map((e) => e.reason)).toEqual(['RestoreStarted', 'RestoreCompleted']);
  });

  it('passes the selection and the namespace mapping to the restorer, counting what it selects', async () => {
    let seen: Progress | undefined;
    const t = setup({
      spec: { imageStreams: [{ namespace: 'shop' }, { namespace: 'wiki', name: 'x' }], namespaceMapping: { shop: 'store' } },
      run: async () => {
        seen = t.w.isr?.status?.progress;
        return { progress: progress(2, 2, 0), failures: [] };
      },
    });
    await t.reconcileThrough();
    expect(t.runInputs[0]).toMatchObject({ imageStreams: [{ namespace: 'shop' }, { namespace: 'wiki', name: 'x' }], namespaceMapping: { shop: 'store' } });
    // shop/web holds two images; wiki/x names nothing, which the restorer reports.
    expect(seen?.images.total).toBe(2);
  });

  it('reports failed images and restores the rest: PartiallyFailed, with a Warning', async () => {
    const failure = { imageStream: 'shop/web', reference: 'sha256:1', message: 'layer digest mismatch: expected a, got b' };
    const t = setup({ run: async () => ({ progress: progress(3, 2, 1), failures: [failure] }) });
    await t.reconcileThrough();
    expect(t.w.isr?.status).toMatchObject({ phase: 'PartiallyFailed', failures: [failure] });
    expect(t.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'RestorePartiallyFailed', message: expect.stringContaining('digest mismatch') });
  });

  it.each([
    { name: 'a missing bundle', lookup: async (): Promise<BundleLookup> => ({ found: false, key: 'p/backups/nightly/bundle.tar', bucket: 'b' }), bsls: undefined, reason: 'BackupNotFound', message: /backup "nightly" is not in backup location default \(no p\/backups\/nightly\/bundle.tar in bucket b\)/, event: 'BackupNotFound' },
    { name: 'a missing BSL', lookup: undefined, bsls: [], reason: 'BackupLocationNotFound', message: /BackupStorageLocation "default" not found/, event: 'BackupLocationUnavailable' },
    { name: 'an unreachable store', lookup: async (): Promise<BundleLookup> => { throw new TransientError('StorageUnreachable', 'cannot reach s3'); }, bsls: undefined, reason: 'StorageUnreachable', message: /cannot reach s3/, event: 'BackupLocationUnavailable' },
  ])('waits for $name until the deadline, then fails with the reason', async ({ lookup, bsls, reason, message, event }) => {
    const t = setup({ ...(lookup && { lookup }), ...(bsls && { bsls }), now: new Date(created.getTime() + 60_000) });
    const first = await t.reconciler.reconcile(KEY);
    expect(first).toEqual({ requeueAfterMs: 30_000 });
    expect(t.w.isr?.status).toMatchObject({ phase: 'InProgress', message: expect.stringMatching(message) });
    expect(t.w.isr?.status?.message).toContain('retrying until 2024-01-01T00:10:00Z');
    expect(t.ready()).toMatchObject({ status: 'False', reason });
    await t.reconciler.reconcile(KEY);
    expect(t.events.filter((e) => e.reason === event)).toHaveLength(1);

    t.w.now = new Date(created.getTime() + WAIT_MS);
    expect(await t.reconciler.reconcile(KEY)).toBeUndefined();
    expect(t.w.isr?.status).toMatchObject({ phase: 'Failed', message: expect.stringMatching(/^gave up after 600s \(RESTORE_BUNDLE_WAIT_SECONDS\): /) });
    expect(t.w.isr?.status?.message).toMatch(message);
    expect(t.ready()).toMatchObject({ status: 'False', reason });
    expect(t.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'RestoreFailed' });
    expect(t.runInputs).toHaveLength(0);
  });

  it('starts as soon as the bundle appears while waiting', async () => {
    let there = false;
    const t = setup({ lookup: async () => (there ? { found: true, key: 'k', backup: backupJson([['shop', 'web', 1]]) } : { found: false, key: 'k', bucket: 'b' }) });
    await t.reconciler.reconcile(KEY);
    expect(t.ready()).toMatchObject({ reason: 'BackupNotFound' });
    there = true;
    await t.reconcileThrough();
    expect(t.w.isr?.status?.phase).toBe('Completed');
    expect(findCondition(t.w.isr?.status?.conditions as Condition[], 'BackupFound')).toMatchObject({ status: 'True' });
  });

  it.each([
    { name: 'a corrupt bundle', lookup: async (): Promise<BundleLookup> => { throw new StalledError('InvalidBundle', 'bundle is not valid'); }, spec: {}, reason: 'InvalidBundle' },
    { name: 'selectors that match nothing', lookup: undefined, spec: { imageStreams: [{ namespace: 'wiki' }] }, reason: 'NoMatchingImageStreams' },
  ])('fails at once on $name', async ({ lookup, spec, reason }) => {
    const t = setup({ ...(lookup && { lookup }), spec });
    await t.reconciler.reconcile(KEY);
    expect(t.w.isr?.status?.phase).toBe('Failed');
    expect(t.ready()).toMatchObject({ status: 'False', reason });
    expect(t.runInputs).toHaveLength(0);
  });

  it('does nothing more once the restore has ended', async () => {
    const t = setup({ status: { phase: 'Completed' } });
    await t.reconciler.reconcile(KEY);
    expect(t.findCalls()).toBe(0);
    expect(t.patches).toHaveLength(0);
  });

  it('resumes a restore that was InProgress when the controller stopped, keeping its start time', async () => {
    const t = setup({ status: { phase: 'InProgress', startTimestamp: '2023-12-31T23:59:59Z', progress: progress(3, 1, 0) } });
    await t.reconcileThrough();
    expect(t.events[0]).toMatchObject({ reason: 'RestoreResumed', message: expect.stringContaining('not pushed again') });
    expect(t.w.isr?.status).toMatchObject({ phase: 'Completed', startTimestamp: '2023-12-31T23:59:59Z' });
  });

  it('retries a run that failed as a whole with backoff, and runs it again', async () => {
    let calls = 0;
    const t = setup({
      run: async () => {
        if (++calls === 1) throw new TransientError('RegistryUnavailable', 'cannot reach registry');
        return { progress: progress(3, 3, 0), failures: [] };
      },
    });
    expect(await t.reconcileThrough()).toEqual({ requeueAfterMs: 5_000 });
    expect(t.w.isr?.status).toMatchObject({ phase: 'InProgress', attempts: 1, nextAttemptTime: '2024-01-01T00:00:10Z' });
    expect(t.ready()).toMatchObject({ reason: 'RegistryUnavailable', message: 'cannot reach registry; attempt 1 failed, the next starts at 2024-01-01T00:00:10Z' });
    expect(t.events.map((e) => e.reason)).toEqual(['RestoreStarted', 'RestoreRetrying']);
    // Not before its time.
    expect(await t.reconcileThrough()).toEqual({ requeueAfterMs: 5_000 });
    t.w.now = new Date(t.w.now.getTime() + 5_000);
    await t.reconcileThrough();
    expect(t.w.isr?.status?.phase).toBe('Completed');
    expect(t.events.map((e) => e.reason)).toEqual(['RestoreStarted', 'RestoreRetrying', 'RestoreCompleted']);
  });

  it('waits again when the bundle vanished between finding it and reading it', async () => {
    let calls = 0;
    const t = setup({
      lookup: async () => (calls++ === 0 ? { found: true, key: 'k', backup: backupJson([['shop', 'web', 1]]) } : { found: false, key: 'k', bucket: 'b' }),
      run: async () => { throw new WaitingError('BundleNotFound', 'gone'); },
    });
    // Retried (a WaitingError asks for its own period), then waited for as a missing bundle.
    expect(await t.reconcileThrough()).toEqual({ requeueAfterMs: 10_000 });
    expect(t.ready()).toMatchObject({ reason: 'BundleNotFound' });
    t.w.now = new Date(t.w.now.getTime() + 10_000);
    expect(await t.reconcileThrough()).toMatchObject({ requeueAfterMs: expect.any(Number) });
    expect(t.ready()).toMatchObject({ reason: 'BackupNotFound' });
  });

  it('aborts the run when the restore is deleted', async () => {
    let aborted = false;
    const t = setup({
      run: (input) => new Promise((_, reject) => input.signal.addEventListener('abort', () => { aborted = true; reject(input.signal.reason); })),
    });
    await t.reconciler.reconcile(KEY);
    const run = t.runs.get(KEY)!;
    delete t.w.isr;
    await t.reconciler.reconcile(KEY);
    await run.done;
    expect(aborted).toBe(true);
    expect(t.runs.get(KEY)).toBeUndefined();
  });

  it('writes progress through the run and shows a queued run as queued', async () => {
    let release!: () => void;
    const t = setup({
      run: async (input) => {
        await input.writeProgress(progress(3, 1, 0));
        await new Promise<void>((r) => (release = r));
        return { progress: progress(3, 3, 0), failures: [] };
      },
    });
    await t.reconciler.reconcile(KEY);
    expect(t.ready()).toMatchObject({ reason: 'RestoreQueued' });
    while (!release) await new Promise((r) => setTimeout(r, 1));
    await t.reconciler.reconcile(KEY);
    expect(t.ready()).toMatchObject({ reason: 'RestoreInProgress' });
    expect(t.w.isr?.status?.progress).toEqual(progress(3, 1, 0));
    release();
    await t.runs.get(KEY)!.done;
    await t.reconciler.reconcile(KEY);
    expect(t.w.isr?.status?.phase).toBe('Completed');
  });
});

describe('a restore with verifyOnly', () => {
  it('verifies instead of restoring, and ends Completed with what it read', async () => {
    const t = setup({ spec: { verifyOnly: true, namespaceMapping: { shop: 'store' } } });
    await t.reconcileThrough();
    expect(t.runInputs).toHaveLength(0);
    expect(t.verifyInputs[0]).toMatchObject({ backupName: 'nightly', imageStreams: [] });
    expect(t.w.isr?.status).toMatchObject({ phase: 'Completed', badBlobs: 0, progress: verified([]).progress });
    expect(t.w.isr?.status?.failures).toBeUndefined();
    expect(t.ready()).toMatchObject({
      status: 'True', reason: 'Completed',
      message: 'backup "nightly" is intact: 5 layers (5.0 MiB) read and hashed, 6 of the bundle\'s manifests, indexes and configs checked',
    });
    expect(t.events.map((e) => [e.type, e.reason])).toEqual([['Normal', 'VerifyStarted'], ['Normal', 'VerifyCompleted']]);
  });

  it('fails with BackupCorrupt: the first digests in Ready, the first 50 in failures, the count in status, as many as fit in the event', async () => {
    const damaged = Array.from({ length: 60 }, (_, i) => digestOf(i));
    const t = setup({ spec: { verifyOnly: true }, verify: async () => verified(damaged) });
    await t.reconcileThrough();
    expect(t.w.isr?.status).toMatchObject({ phase: 'Failed', badBlobs: 60 });
    const ready = t.ready()!;
    expect(ready).toMatchObject({ status: 'False', reason: 'BackupCorrupt' });
    expect(ready.message).toMatch(/^backup "nightly" is damaged: 60 of 66 blobs missing, of the wrong size or hashing to another digest /);
    for (const d of damaged.slice(0, 3)) expect(ready.message).toContain(`${d} is missing`);
    expect(ready.message).not.toContain(damaged[3]);
    expect(ready.message).toContain('and 57 more); 3 of 3 images would not restore');
    expect(t.w.isr?.status?.failures).toHaveLength(50);
    expect(t.w.isr?.status?.failures?.[0]).toEqual({ imageStream: 'shop/web', reference: damaged[0], message: verified(damaged).problems[0]!.message });
    const event = t.events.at(-1)!;
    expect(event).toMatchObject({ type: 'Warning', reason: 'BackupCorrupt' });
    expect(event.message.length).toBeLessThanOrEqual(1024);
    expect(event.message).toMatch(/^60 damaged blobs in backup "nightly": layer sha256:/);
    expect(event.message).toMatch(/; and \d+ more \(the controller's log names every one\)$/);
  });

  it('names a bundle that is not valid as the damage', async () => {
    const t = setup({ spec: { verifyOnly: true }, verify: async () => ({ ...verified([]), intact: false, bundleProblem: 'entry blobs/sha256/ab has digest sha256:cd: the bundle is corrupt' }) });
    await t.reconcileThrough();
    expect(t.w.isr?.status).toMatchObject({ phase: 'Failed', badBlobs: 0 });
    expect(t.ready()).toMatchObject({ reason: 'BackupCorrupt', message: 'backup "nightly" is damaged: entry blobs/sha256/ab has digest sha256:cd: the bundle is corrupt' });
    expect(t.events.at(-1)).toMatchObject({ reason: 'BackupCorrupt' });
  });

  it('shows a queued and a running verification as such', async () => {
    let release!: () => void;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const t = setup({ spec: { verifyOnly: true }, verify: async () => { const held = new Promise<void>((r) => (release = r)); started(); await held; return verified([]); } });
    await t.reconciler.reconcile(KEY);
    expect(t.ready()).toMatchObject({ reason: 'VerifyQueued' });
    expect(t.w.isr?.status?.message).toMatch(/^verifying 2 image streams/);
    await running;
    await t.reconciler.reconcile(KEY);
    expect(t.ready()).toMatchObject({ reason: 'VerifyInProgress' });
    release();
    await t.runs.get(KEY)!.done;
    await t.reconciler.reconcile(KEY);
    expect(t.w.isr?.status?.phase).toBe('Completed');
  });

  it('lets a tenant verify image streams of other namespaces, but not with a location without a credential', async () => {
    const other = setup({ admin: false, spec: { verifyOnly: true, imageStreams: [{ namespace: 'shop' }] } });
    await other.reconciler.reconcile(KEY);
    expect(other.ready()).toMatchObject({ reason: 'CredentialRequired' });
    expect(other.verifyInputs).toHaveLength(0);

    const bsls = [{ metadata: { name: 'default', namespace: 'adp' }, spec: { provider: 'aws', objectStorage: { bucket: 'b' }, credential: { name: 'c', key: 'cloud' } } }];
    const tenant = setup({ admin: false, bsls, secret: '[default]', spec: { verifyOnly: true, imageStreams: [{ namespace: 'shop' }] } });
    await tenant.reconcileThrough();
    expect(tenant.verifyInputs[0]).toMatchObject({ imageStreams: [{ namespace: 'shop' }] });
    expect(tenant.w.isr?.status?.phase).toBe('Completed');
    // The same restore that pushes is held to its own namespace, adp.
    const restore = setup({ admin: false, bsls, secret: '[default]', spec: { imageStreams: [{ namespace: 'shop' }] } });
    await restore.reconcileThrough();
    expect(restore.runInputs).toHaveLength(0);
    expect(restore.ready()).toMatchObject({ reason: 'NoMatchingImageStreams' });
  });
});
