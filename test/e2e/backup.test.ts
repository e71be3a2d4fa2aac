// The ImageStreamsBackup controller end to end: the controller runs as a process against the
// local stack (API server, MinIO over TLS, registry over TLS with auth); the tests apply CRs with
// the Kubernetes API and read the bucket with their own S3 client.
import type { ImageStreamEntry, ImageStreamsBackup } from '../../pkg/api/index.js';
import { fixtureRegistryFromEnv, pushImage, pushIndex, type PushedImage, type PushedIndex } from '../fixture/images.js';
import { loadStackEnv, uniqueName } from '../stackEnv.js';
import { TestBucket, TestCluster, phaseIs, readyReason, type BackupJsonView } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';

const env = loadStackEnv();
const cluster = new TestCluster(env);
const bucket = new TestBucket(env);
const reg = fixtureRegistryFromEnv(env);
const ns = uniqueName('isb-e2e');
const prefix = uniqueName('isb-e2e-prefix');
const root = `${prefix}/plugins/imagestreams/v1/`;

let ctl: ControllerProcess;
let app: PushedImage;
let multi: PushedIndex;
const extra: PushedImage[] = [];

const ref = (repo: string, digest: string) => `${env.REGISTRY}/${ns}/${repo}@${digest}`;
const entry = (name: string, digest: string, tags: string[] = []): ImageStreamEntry =>
  ({ name, dockerImageReferences: [{ dockerImageReference: ref(name, digest), tags }] });
const layersOf = (...images: PushedImage[]) => new Map(images.flatMap((i) => i.layers.map((l) => [l.digest, l.size] as const)));
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const blobKey = (digest: string) => `${root}blobs/sha256/${digest.slice('sha256:'.length)}`;

async function backupJson(isb: ImageStreamsBackup): Promise<BackupJsonView> {
  const files = await bucket.bundleFiles(isb.status!.bundle!);
  return JSON.parse(files.get('backup.json')!.toString('utf8')) as BackupJsonView;
}

beforeAll(async () => {
  await cluster.createNamespace(ns);
  await cluster.createCredentials(ns);
  await cluster.createLocation(ns, 'default', prefix, { default: true });
  app = await pushImage(reg, `${ns}/app`, { layers: [{ seed: `${ns}-app`, size: 2_000_000 }, { seed: `${ns}-base`, size: 1_000_000 }], tags: ['latest'] });
  multi = await pushIndex(reg, `${ns}/multi`, {
    platforms: [
      { layers: [{ seed: `${ns}-amd64`, size: 500_000 }, { seed: `${ns}-base`, size: 1_000_000 }], platform: { os: 'linux', architecture: 'amd64' } },
      { layers: [{ seed: `${ns}-arm64`, size: 600_000 }], platform: { os: 'linux', architecture: 'arm64' } },
    ],
  });
  for (let i = 0; i < 4; i++) {
    extra.push(await pushImage(reg, `${ns}/extra${i}`, { layers: [{ seed: `${ns}-extra${i}`, size: 300_000 + i }], label: `extra${i}` }));
  }
  ctl = await startController(env, { namespaces: [ns], env: { PROGRESS_INTERVAL_MS: '500' } });
  await ctl.waitReady();
});

afterAll(async () => {
  await ctl?.kill('SIGTERM');
  await bucket.remove(`${prefix}/`);
  bucket.close();
});

describe('an ImageStreamsBackup with startBackup: true', () => {
  let isb: ImageStreamsBackup;

  beforeAll(async () => {
    await cluster.createIsb(ns, 'complete', {
      startBackup: true,
      backupLocation: { name: 'default' },
      imageStreams: [entry('app', app.digest, ['latest', 'v1']), entry('multi', multi.digest, ['multi'])],
    });
    isb = await cluster.waitForIsb(ns, 'complete', phaseIs('Completed'), 'Completed');
  });

  it('reaches Completed with Ready True and the milestones as events', async () => {
    expect(isb.status).toMatchObject({ phase: 'Completed', observedGeneration: 1, backupLocation: 'default' });
    expect(isb.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Completed' });
    expect(isb.status!.startTimestamp).toBeDefined();
    expect(isb.status!.completionTimestamp).toBeDefined();
    const reasons = await cluster.eventReasons(ns, 'complete', ['BackupStarted', 'BackupCompleted']);
    expect(reasons).toEqual(expect.arrayContaining(['BackupStarted', 'BackupCompleted']));
  });

  it('stores the bundle and every layer, once, under <prefix>/plugins/imagestreams/v1/', async () => {
    const stored = await bucket.list(`${prefix}/`);
    expect([...stored.keys()].filter((k) => !k.startsWith(root))).toEqual([]);
    expect(isb.status!.bundle).toBe(`${root}backups/complete/bundle.tar`);
    expect(stored.has(isb.status!.bundle!)).toBe(true);
    const layers = layersOf(app, ...multi.images);
    for (const [digest, size] of layers) expect(stored.get(blobKey(digest))).toBe(size);
    expect([...stored.keys()].filter((k) => k.includes('/blobs/'))).toHaveLength(layers.size);
  });

  it('reports progress that matches what was stored', async () => {
    const layers = layersOf(app, ...multi.images);
    const p = isb.status!.progress!;
    expect(p.images).toEqual({ total: 2, done: 2, failed: 0 });
    expect(p.blobs).toEqual({ total: layers.size, done: layers.size, skipped: 0 });
    expect(p.bytes).toEqual({ total: sum(layers), done: sum(layers), skipped: 0 });
  });

  it('names the ISB, its streams and tags in backup.json', async () => {
    const json = await backupJson(isb);
    // The cluster that wrote it (kube-system's uid: the orphan rule's identity) and what deleting the ISB does.
    const kubeSystem = await cluster.core.readNamespace({ name: 'kube-system' });
    expect(json.backup).toEqual({ namespace: ns, name: 'complete', uid: isb.metadata!.uid, cluster: kubeSystem.metadata!.uid, deletionPolicy: 'Delete' });
    const streams = Object.fromEntries(json.imageStreams.map((s) => [`${s.namespace}/${s.name}`, s.references]));
    expect(streams[`${ns}/app`]).toEqual([expect.objectContaining({ digest: app.digest, tags: ['latest', 'v1'] })]);
    expect(streams[`${ns}/multi`]).toEqual([expect.objectContaining({ digest: multi.digest, tags: ['multi'] })]);
  });

  it('backs up again after a spec change, uploading only what is new and rewriting the bundle', async () => {
    const before = isb.status!.progress!.bytes.total;
    await cluster.updateIsbSpec(ns, 'complete', (spec) => ({ imageStreams: [...spec.imageStreams!, entry('extra0', extra[0]!.digest, ['x'])] }));
    const again = await cluster.waitForIsb(ns, 'complete', (o) => phaseIs('Completed')(o) && o.status!.observedGeneration === 2, 'Completed at generation 2');
    expect(again.status!.progress!.bytes).toEqual({ total: before + extra[0]!.layers[0]!.size, done: extra[0]!.layers[0]!.size, skipped: before });
    const json = await backupJson(again);
    expect(json.imageStreams.map((s) => s.name).sort()).toEqual(['app', 'extra0', 'multi']);
  });
});

describe('gates', () => {
  it('holds a backup while startBackup is false and runs it once set', async () => {
    await cluster.createIsb(ns, 'held', { startBackup: false, imageStreams: [entry('app', app.digest)] });
    const held = await cluster.waitForIsb(ns, 'held', (o) => o.status?.phase === 'WaitingForStart', 'WaitingForStart');
    expect(readyReason(held)).toBe('StartBackupFalse');
    await cluster.isbs.patch(ns, 'held', { spec: { startBackup: true } });
    const done = await cluster.waitForIsb(ns, 'held', phaseIs('Completed'), 'Completed');
    // No backupLocation in the spec: the namespace's default BSL.
    expect(done.status!.backupLocation).toBe('default');
  });

  it('waits for its Velero Backup, backs up every entry appended meanwhile, and starts on completion', async () => {
    const vb = uniqueName('vb');
    await cluster.createVeleroBackup(ns, vb, 'InProgress');
    await cluster.createIsb(ns, 'appended', {
      veleroBackupReference: { name: vb, startOnCompletion: true },
      imageStreams: [entry('extra1', extra[1]!.digest, ['a'])],
    });
    const waiting = await cluster.waitForIsb(ns, 'appended',
      (o) => o.status?.conditions?.some((c) => c.type === 'VeleroBackupItemsCollected' && c.reason === 'InProgress') === true, 'the Velero phase seen');
    expect(waiting.status!.phase).toBe('WaitingForStart');
    expect(readyReason(waiting)).toBe('WaitingForVeleroBackup');

    // As the Velero plugin does: append, with optimistic concurrency; the same digest twice merges.
    for (const add of [entry('extra2', extra[2]!.digest, ['b']), entry('extra1', extra[1]!.digest, ['c'])]) {
      await cluster.updateIsbSpec(ns, 'appended', (spec) => ({ imageStreams: [...spec.imageStreams!, add] }));
    }
    const still = await cluster.waitForIsb(ns, 'appended', (o) => o.status?.observedGeneration === 3, 'the appends observed');
    expect(still.status!.phase).toBe('WaitingForStart');

    await cluster.setVeleroPhase(ns, vb, 'Completed');
    const done = await cluster.waitForIsb(ns, 'appended', phaseIs('Completed'), 'Completed');
    expect(done.status!.progress!.images).toEqual({ total: 2, done: 2, failed: 0 });
    const json = await backupJson(done);
    const tags = Object.fromEntries(json.imageStreams.map((s) => [s.name, s.references.map((r) => r.tags)]));
    expect(tags).toEqual({ extra1: [['a', 'c']], extra2: [['b']] });
  });

  it.each([
    { name: 'fails when its Velero Backup fails', end: 'Failed', reason: 'VeleroBackupFailed', message: /ended Failed/ },
    { name: 'fails when its Velero Backup fails validation', end: 'FailedValidation', reason: 'VeleroBackupFailed', message: /ended FailedValidation/ },
    { name: 'fails when its Velero Backup is deleted', end: 'deleted', reason: 'VeleroBackupNotFound', message: /was deleted/ },
  ])('$name', async ({ end, reason, message }) => {
    const name = uniqueName('vfail');
    await cluster.createVeleroBackup(ns, name, 'InProgress');
    await cluster.createIsb(ns, name, { veleroBackupReference: { name, startOnCompletion: true }, imageStreams: [entry('app', app.digest)] });
    await cluster.waitForIsb(ns, name, (o) => readyReason(o) === 'WaitingForVeleroBackup', 'waiting');
    if (end === 'deleted') await cluster.veleroBackups.delete(ns, name);
    else await cluster.setVeleroPhase(ns, name, end);
    const failed = await cluster.waitForIsb(ns, name, phaseIs('Failed'), 'Failed');
    expect(readyReason(failed)).toBe(reason);
    expect(failed.status!.message).toMatch(message);
    expect(await cluster.eventReasons(ns, name, ['BackupFailed'])).toContain('BackupFailed');
  });

  it('keeps waiting for a Velero Backup that does not exist yet, then starts when it appears completed', async () => {
    const name = uniqueName('vlate');
    await cluster.createIsb(ns, name, { veleroBackupReference: { name, startOnCompletion: true }, imageStreams: [entry('app', app.digest)] });
    const waiting = await cluster.waitForIsb(ns, name, (o) => readyReason(o) === 'WaitingForVeleroBackup', 'waiting');
    expect(waiting.status!.message).toMatch(/does not exist \(yet\)/);
    await cluster.createVeleroBackup(ns, name, 'Completed');
    await cluster.waitForIsb(ns, name, phaseIs('Completed'), 'Completed');
  });

  it('backs up after a PartiallyFailed Velero Backup and says so in an event', async () => {
    const name = uniqueName('vpartial');
    await cluster.createVeleroBackup(ns, name, 'PartiallyFailed');
    await cluster.createIsb(ns, name, { veleroBackupReference: { name, startOnCompletion: true }, imageStreams: [entry('app', app.digest)] });
    await cluster.waitForIsb(ns, name, phaseIs('Completed'), 'Completed');
    expect(await cluster.eventReasons(ns, name, ['VeleroBackupPartiallyFailed'])).toContain('VeleroBackupPartiallyFailed');
  });
});

describe('problems end in a clear condition, and other ISBs are still served', () => {
  const inline = () => ({ velero: cluster.locationSpec(prefix) });

  it('reports each problem while a good ISB completes alongside', async () => {
    const cases = [
      { name: 'other-host', spec: { imageStreams: [{ name: 'app', dockerImageReferences: [{ dockerImageReference: `quay.io/${ns}/app@${app.digest}` }] }] },
        phase: 'Failed', reason: 'NoValidReferences', message: /points at registry "quay.io", not at the internal registry/ },
      { name: 'mixed-host', spec: { imageStreams: [{ name: 'app', dockerImageReferences: [
        { dockerImageReference: ref('app', app.digest) }, { dockerImageReference: `quay.io/${ns}/app@${app.digest.replace(/.$/, '0')}` }] }] },
        phase: 'PartiallyFailed', reason: 'PartiallyFailed', message: /1 failed, see status.failures/ },
      { name: 'no-secret', spec: { backupLocation: { velero: { ...cluster.locationSpec(prefix), credential: { name: 'missing-secret', key: 'cloud' } } }, imageStreams: [entry('app', app.digest)] },
        phase: 'WaitingForStart', reason: 'CredentialSecretNotFound', message: /Secret "missing-secret" .*not found in namespace/ },
      { name: 'no-bsl', spec: { backupLocation: { name: 'later' }, imageStreams: [entry('app', app.digest)] },
        phase: 'WaitingForStart', reason: 'BackupLocationNotFound', message: /BackupStorageLocation "later" not found/ },
      { name: 'wrong-bucket', spec: { backupLocation: { velero: cluster.locationSpec(prefix, 'no-such-bucket-e2e') }, imageStreams: [entry('app', app.digest)] },
        phase: 'WaitingForStart', reason: 'BucketNotFound', message: /"no-such-bucket-e2e".*does not exist/ },
      { name: 'good', spec: { backupLocation: inline(), imageStreams: [entry('extra3', extra[3]!.digest)] },
        phase: 'Completed', reason: 'Completed', message: /backed up 1 image \(/ },
    ];
    for (const c of cases) await cluster.createIsb(ns, c.name, { startBackup: true, ...c.spec });
    for (const c of cases) {
      const isb = await cluster.waitForIsb(ns, c.name, (o) => readyReason(o) === c.reason, `reason ${c.reason}`);
      expect({ name: c.name, phase: isb.status!.phase }).toEqual({ name: c.name, phase: c.phase });
      expect(isb.status!.message).toMatch(c.message);
    }
    const partial = (await cluster.isbs.get(ns, 'mixed-host'))!;
    expect(partial.status!.failures).toEqual([expect.objectContaining({ imageStream: `${ns}/app`, message: expect.stringMatching(/quay.io/) })]);
    expect(partial.status!.progress!.images).toEqual({ total: 2, done: 1, failed: 1 });
  });

  it('goes on once the missing Secret appears (it is polled)', async () => {
    await cluster.createCredentials(ns, 'missing-secret');
    await cluster.waitForIsb(ns, 'no-secret', phaseIs('Completed'), 'Completed after the Secret appeared', 30_000);
  });

  it('goes on once the missing BSL appears (it is watched)', async () => {
    await cluster.createLocation(ns, 'later', prefix);
    await cluster.waitForIsb(ns, 'no-bsl', phaseIs('Completed'), 'Completed after the BSL appeared', 5_000);
  });

  it('refuses a tag reference at admission, naming the digest form', async () => {
    const err = await cluster.createIsb(ns, 'by-tag', {
      startBackup: true, imageStreams: [{ name: 'app', dockerImageReferences: [{ dockerImageReference: `${env.REGISTRY}/${ns}/app:latest` }] }],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 422 });
    expect(JSON.stringify((err as { body?: unknown }).body)).toMatch(/dockerImageReference.*sha256/);
  });
});

describe('the process', () => {
  it('counts reconciles and uploaded bytes in /metrics', async () => {
    const text = await ctl.metrics();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 'NaN');
    expect(value(/imagestream_backup_reconciles_total\{controller="imagestreamsbackup",result="success"\} (\d+)/)).toBeGreaterThan(0);
    expect(value(/imagestream_backup_bytes_uploaded_total (\d+)/)).toBeGreaterThan(0);
  });

  it('logs no secret', () => {
    expect(ctl.logs()).not.toContain(env.S3_SECRET_KEY);
    expect(ctl.logs()).not.toContain(env.REGISTRY_PASSWORD);
  });
});
