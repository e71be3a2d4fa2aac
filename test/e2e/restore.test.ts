// Disaster recovery, end to end: images are backed up on the local stack (cluster A: its API
// server, its registry, MinIO) by the controller process, then restored by a controller process
// on a second, empty cluster B (its own API server and an empty registry) that shares nothing
// with A but the MinIO bucket. Results are checked with crane and the fixtures' own registry
// client, never with the product's. The restart test runs its controllers in this process
// instead, so that it can hold a push half-way.
import { KubeConfig, type CoreV1Event } from '@kubernetes/client-node';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsBackup, type ImageStreamsRestore } from '../../pkg/api/index.js';
import type { Descriptor, Registry } from '../../pkg/contracts.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { CoreEventSink } from '../../pkg/k8s/events.js';
import { blobKey, rootFor } from '../../pkg/store/keys.js';
import { parseConfig } from '../../controllers/config.js';
import type { RunningController } from '../../controllers/imagestreamsbackup/controller.js';
import { startImageStreamsRestoreController } from '../../controllers/imagestreamsrestore/controller.js';
import { internalRegistryFactory, type RegistryFactory } from '../../controllers/internalRegistry.js';
import { EventRecorder } from '../../controllers/runtime/events.js';
import { createLogger } from '../../controllers/runtime/logger.js';
import { controllerMetrics } from '../../controllers/runtime/metrics.js';
import { SharedInformers, informerFactory } from '../../controllers/wiring.js';
import { Crane, rawS3 } from '../datapath-helpers.js';
import { deletePrefix } from '../fixture/bucket.js';
import {
  MediaTypes, blobExists, fixtureRegistryFromEnv, layerStream, listTags, pushBytes, putManifest, sha256, type FixtureRegistry,
} from '../fixture/images.js';
import { loadStackEnv, uniqueName, type StackEnv } from '../stackEnv.js';
import { TestCluster } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';
import { startSecondCluster, type SecondCluster } from './secondCluster.js';

const KiB = 1024;
const TERMINAL = ['Completed', 'PartiallyFailed', 'Failed'];
/** How long cluster B's restores wait for a missing backup: short, so that its failure is seen. */
const BUNDLE_WAIT_SECONDS = 6;

let env: StackEnv;
let envB: StackEnv;
let regA: FixtureRegistry;
let regB: FixtureRegistry;
let clusterA: TestCluster;
let clusterB: SecondCluster;
let onB: TestCluster;
let crane: Crane;
const processes: ControllerProcess[] = [];
const inProcess: RunningController[] = [];
const run = uniqueName('r');
const prefix = `e2e-restore/${run}`;
const adpA = `adp-a-${run}`;
const adpB = `adp-b-${run}`;
const shop = `shop-${run}`;
const blog = `blog-${run}`;
const bad = `bad-${run}`;

async function poll<T>(what: string, get: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await get();
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Namespace, credential Secret and BSLs; every BSL is on the stack's one bucket. */
async function prepareNamespace(cluster: TestCluster, ns: string, locations: Record<string, string>): Promise<void> {
  await cluster.createNamespace(ns);
  await cluster.createCredentials(ns);
  for (const [name, p] of Object.entries(locations)) await cluster.createLocation(ns, name, p, { default: name === 'default' });
}

interface InProcessOptions {
  namespace: string;
  registry: (real: RegistryFactory) => RegistryFactory;
  extraEnv?: Record<string, string>;
}

/** The restore controller of cluster B in this process, set up as controllers/main.ts sets it up, with a wrapped registry. */
async function startRestoreInProcess(o: InProcessOptions): Promise<RunningController> {
  const config = parseConfig({
    argv: [],
    env: {
      WATCH_NAMESPACES: o.namespace, INTERNAL_REGISTRY: clusterB.registry, REGISTRY_CA_FILE: env.REGISTRY_CA_FILE,
      REGISTRY_USER: env.REGISTRY_USER, REGISTRY_PASSWORD: env.REGISTRY_PASSWORD, PROGRESS_INTERVAL_MS: '200',
      RESTORE_BUNDLE_WAIT_SECONDS: String(BUNDLE_WAIT_SECONDS), ...o.extraEnv,
    },
    saDir: '/nonexistent',
  });
  const kc = new KubeConfig();
  kc.loadFromFile(clusterB.kubeconfig);
  const log = createLogger({ level: 'warn', base: { test: 'e2e-restore' } });
  const c = await startImageStreamsRestoreController({
    kubeConfig: kc, config, log, metrics: controllerMetrics(),
    recorder: new EventRecorder(new CoreEventSink(kc), 'imagestream-backup-e2e', log),
    registry: o.registry(internalRegistryFactory(config)),
    informers: new SharedInformers(informerFactory(kc, config, log)),
  });
  inProcess.push(c);
  return c;
}

async function stopInProcess(c: RunningController): Promise<void> {
  inProcess.splice(inProcess.indexOf(c), 1);
  await c.stop();
}

const isrsB = () => new CustomResources<ImageStreamsRestore>(onB.kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });

async function restore(name: string, namespace: string, spec: ImageStreamsRestore['spec']): Promise<ImageStreamsRestore> {
  const isrs = isrsB();
  await isrs.create(namespace, { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name, namespace }, spec });
  return poll(`restore ${name}`, async () => (await isrs.get(namespace, name))!, (r) => TERMINAL.includes(r.status?.phase ?? ''));
}

/** Backs up on cluster A with its controller, to the BSL named `location`. */
async function backUp(name: string, location: string, streams: Array<{ namespace: string; name: string; refs: Array<{ digest: string; tags: string[] }> }>): Promise<ImageStreamsBackup> {
  await clusterA.createIsb(adpA, name, {
    startBackup: true,
    backupLocation: { name: location },
    imageStreams: streams.map((s) => ({
      namespace: s.namespace, name: s.name,
      dockerImageReferences: s.refs.map((r) => ({ dockerImageReference: `${env.REGISTRY}/${s.namespace}/${s.name}@${r.digest}`, tags: r.tags })),
    })),
  });
  const done = await clusterA.waitForIsb(adpA, name, (b) => TERMINAL.includes(b.status?.phase ?? ''), 'the end of the backup');
  expect(done.status).toMatchObject({ phase: 'Completed' });
  return done;
}

/** The reasons of a restore's events on cluster B, once all of `expected` are there (events follow the status). */
async function eventReasons(namespace: string, name: string, expected: string[]): Promise<string[]> {
  const events = await poll(`events of ${name}`, async () => (await onB.core.listNamespacedEvent({ namespace })).items
    .filter((e: CoreV1Event) => e.involvedObject.kind === 'ImageStreamsRestore' && e.involvedObject.name === name),
  (list) => expected.every((r) => list.some((e) => e.reason === r)), 10_000);
  return events.map((e) => e.reason ?? '');
}


interface Image {
  digest: string;
  /** Of the manifest. */
  size: number;
  config: Descriptor;
  layers: Descriptor[];
}

const blobsOf = (img: Image): Descriptor[] => [img.config, ...img.layers];

async function tarOf(name: string, data: Buffer): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name, size: data.length, mode: 0o644, mtime: new Date(0) }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * An OCI image whose layers are real gzipped tars and whose config lists their uncompressed
 * digests, so that `crane validate` can check every layer both ways. (The shared fixtures'
 * layers are random bytes, which crane cannot gunzip nor untar.)
 */
async function pushGzipImage(reg: FixtureRegistry, repo: string, spec: { label: string; layers: Array<{ seed: string; size: number }>; tags?: string[]; platform?: { os: string; architecture: string; variant?: string } }): Promise<Image> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const l of spec.layers) {
    const raw: Buffer[] = [];
    for await (const c of layerStream(l)) raw.push(c as Buffer);
    const plain = await tarOf(`${l.seed}.bin`, Buffer.concat(raw));
    diffIds.push(sha256(plain));
    layers.push(await pushBytes(reg, repo, gzipSync(plain), MediaTypes.ociLayer));
  }
  const config = await pushBytes(reg, repo, Buffer.from(JSON.stringify({
    ...(spec.platform ?? { os: 'linux', architecture: 'amd64' }),
    config: { Labels: { fixture: spec.label } },
    rootfs: { type: 'layers', diff_ids: diffIds },
  })), MediaTypes.ociConfig);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers }));
  const digest = sha256(manifest);
  for (const ref of [digest, ...(spec.tags ?? [])]) await putManifest(reg, repo, ref, manifest, MediaTypes.ociManifest);
  return { digest, size: manifest.length, config, layers };
}

async function pushGzipIndex(reg: FixtureRegistry, repo: string, platforms: Array<{ os: string; architecture: string; variant?: string }>, tags: string[]): Promise<{ digest: string; images: Image[] }> {
  const images: Image[] = [];
  for (const platform of platforms) {
    const label = `${run}-${platform.architecture}`;
    images.push(await pushGzipImage(reg, repo, { label, platform, layers: [{ seed: label, size: 200 * KiB }] }));
  }
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaTypes.ociIndex,
    manifests: images.map((img, i) => ({ mediaType: MediaTypes.ociManifest, digest: img.digest, size: img.size, platform: platforms[i] })),
  }));
  const digest = sha256(index);
  for (const ref of [digest, ...tags]) await putManifest(reg, repo, ref, index, MediaTypes.ociIndex);
  return { digest, images };
}

// Images of cluster A. Layer seeds carry the run name: registry B is empty, and no layer of
// one scenario is in another's repository, so "already there" is never an accident.
let web1: Image;
let web2: Image;
let multi: { digest: string; images: Image[] };
let api: Image;
let badGood: Image;
let badBroken: Image;

beforeAll(async () => {
  env = loadStackEnv();
  regA = fixtureRegistryFromEnv(env);
  const starting = startSecondCluster(env);
  try {
    web1 = await pushGzipImage(regA, `${shop}/web`, { label: 'web1', layers: [{ seed: `${run}-base`, size: 384 * KiB }, { seed: `${run}-web1`, size: 128 * KiB }], tags: ['v1'] });
    web2 = await pushGzipImage(regA, `${shop}/web`, { label: 'web2', layers: [{ seed: `${run}-base`, size: 384 * KiB }, { seed: `${run}-web2`, size: 160 * KiB }], tags: ['v2', 'latest'] });
    multi = await pushGzipIndex(regA, `${shop}/multi`, [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }], ['stable']);
    api = await pushGzipImage(regA, `${blog}/api`, { label: 'api', layers: [{ seed: `${run}-api`, size: 96 * KiB }], tags: ['1.0'] });
    badGood = await pushGzipImage(regA, `${bad}/good`, { label: 'good', layers: [{ seed: `${run}-good`, size: 64 * KiB }], tags: ['latest'] });
    badBroken = await pushGzipImage(regA, `${bad}/broken`, { label: 'broken', layers: [{ seed: `${run}-broken`, size: 80 * KiB }], tags: ['latest'] });
  } finally {
    clusterB = await starting;
  }
  envB = { ...env, KUBECONFIG: clusterB.kubeconfig, REGISTRY: clusterB.registry };
  regB = fixtureRegistryFromEnv(envB);
  crane = await Crane.login(envB);

  clusterA = new TestCluster(env);
  onB = new TestCluster(envB);
  const locations = { default: `${prefix}/main`, corrupt: `${prefix}/corrupt` };
  await prepareNamespace(clusterA, adpA, locations);
  // Cluster B knows nothing of cluster A: the BSLs and their Secret are all it gets.
  await prepareNamespace(onB, adpB, locations);

  processes.push(await startController(env, { namespaces: [adpA] }));
  processes.push(await startController(envB, {
    namespaces: [adpB], env: { RESTORE_BUNDLE_WAIT_SECONDS: String(BUNDLE_WAIT_SECONDS), PROGRESS_INTERVAL_MS: '200' },
  }));
  await Promise.all(processes.map((p) => p.waitReady()));
  await backUp('nightly', 'default', [
    { namespace: shop, name: 'web', refs: [{ digest: web2.digest, tags: ['v2', 'latest'] }, { digest: web1.digest, tags: ['v1'] }] },
    { namespace: shop, name: 'multi', refs: [{ digest: multi.digest, tags: ['stable'] }] },
    { namespace: blog, name: 'api', refs: [{ digest: api.digest, tags: ['1.0'] }] },
  ]);
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([...processes.map((p) => p.kill('SIGTERM')), ...inProcess.map((c) => c.stop())]);
  await crane?.close();
  await clusterB?.stop();
  const s3 = rawS3(env);
  await deletePrefix(s3, env.S3_BUCKET, `${prefix}/`);
  s3.destroy();
}, 60_000);

describe('ImageStreamsRestore on an empty cluster', () => {
  it('restores every image of a backup made on another cluster: same digests, every tag, layers that verify', async () => {
    const r = await restore('dr', adpB, { imageStreamsBackupReference: { name: 'nightly' }, backupLocation: { name: 'default' } });
    expect(r.status).toMatchObject({
      phase: 'Completed', backupName: 'nightly',
      progress: { images: { total: 4, done: 4, failed: 0 } },
      conditions: expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Completed' })]),
    });
    expect(r.status?.failures).toBeUndefined();
    expect(r.status?.progress?.bytes.done).toBeGreaterThan(0);

    const b = clusterB.registry;
    const expected: Array<[string, string, string[]]> = [
      [`${shop}/web`, web2.digest, ['v2', 'latest']],
      [`${shop}/web`, web1.digest, ['v1']],
      [`${shop}/multi`, multi.digest, ['stable']],
      [`${blog}/api`, api.digest, ['1.0']],
    ];
    for (const [repo, digest, tags] of expected) {
      expect(await crane.digest(`${b}/${repo}@${digest}`)).toBe(digest);
      // Pulls the manifest and every layer (every platform of an index) and checks their digests.
      await expect(crane.run(['validate', '--remote', `${b}/${repo}@${digest}`])).resolves.toMatch(/PASS/);
      for (const tag of tags) expect(await crane.digest(`${b}/${repo}:${tag}`)).toBe(digest);
    }
    expect((await listTags(regB, `${shop}/web`)).sort()).toEqual(['latest', 'v1', 'v2']);
    expect((await crane.run(['ls', `${b}/${shop}/multi`])).split('\n')).toEqual(['stable']);
    for (const platform of multi.images) expect(await crane.digest(`${b}/${shop}/multi@${platform.digest}`)).toBe(platform.digest);

    expect(await eventReasons(adpB, 'dr', ['RestoreStarted', 'RestoreCompleted'])).toEqual(expect.arrayContaining(['RestoreStarted', 'RestoreCompleted']));
  }, 120_000);

  it('restores the selected image streams under the namespace given by namespaceMapping', async () => {
    const moved = `moved-${run}`;
    const r = await restore('mapped', adpB, {
      imageStreamsBackupReference: { name: 'nightly' },
      imageStreams: [{ namespace: shop, name: 'web' }],
      namespaceMapping: { [shop]: moved },
    });
    expect(r.status).toMatchObject({ phase: 'Completed', progress: { images: { total: 2, done: 2, failed: 0 } } });
    expect((await listTags(regB, `${moved}/web`)).sort()).toEqual(['latest', 'v1', 'v2']);
    for (const img of [web1, web2]) expect(await crane.digest(`${clusterB.registry}/${moved}/web@${img.digest}`)).toBe(img.digest);
    // Only what was selected: the other image stream of that namespace is not under the new one.
    expect(await listTags(regB, `${moved}/multi`)).toEqual([]);
  }, 120_000);

  it('ends a restore of a backup that does not exist with a clear message, after waiting for it', async () => {
    const isrs = isrsB();
    await isrs.create(adpB, {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name: 'missing', namespace: adpB },
      spec: { ImageStreamsBackupReference: { name: 'no-such-backup' } },
    });
    const waiting = await poll('waiting restore', async () => (await isrs.get(adpB, 'missing'))!, (r) => r.status?.message !== undefined, 30_000);
    expect(waiting.status).toMatchObject({ phase: 'InProgress', message: expect.stringMatching(/backup "no-such-backup" is not in backup location default .*retrying until/) });
    expect(waiting.status?.conditions).toEqual(expect.arrayContaining([
      expect.objectContaining({ type: 'Ready', status: 'False', reason: 'BackupNotFound' }),
      expect.objectContaining({ type: 'BackupLocationAvailable', status: 'True' }),
    ]));

    const failed = await poll('failed restore', async () => (await isrs.get(adpB, 'missing'))!, (r) => TERMINAL.includes(r.status?.phase ?? ''), 60_000);
    expect(failed.status).toMatchObject({
      phase: 'Failed', backupName: 'no-such-backup',
      message: expect.stringMatching(/^gave up after 6s \(RESTORE_BUNDLE_WAIT_SECONDS\): backup "no-such-backup" is not in backup location default \(no .*\/plugins\/imagestreams\/v1\/backups\/no-such-backup\/bundle.tar in bucket /),
    });
    expect(failed.status?.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'BackupFound', status: 'False', reason: 'BackupNotFound' })]));
    expect(await eventReasons(adpB, 'missing', ['BackupNotFound', 'RestoreFailed'])).toEqual(expect.arrayContaining(['BackupNotFound', 'RestoreFailed']));
  }, 120_000);

  it('reports an image whose layer is corrupt in the store as failed, with a digest error, and restores the rest', async () => {
    await backUp('with-corruption', 'corrupt', [
      { namespace: bad, name: 'good', refs: [{ digest: badGood.digest, tags: ['latest'] }] },
      { namespace: bad, name: 'broken', refs: [{ digest: badBroken.digest, tags: ['latest'] }] },
    ]);
    // Same size, other bytes: only the digest check can tell.
    const layer = badBroken.layers[0]!;
    const s3 = rawS3(env);
    try {
      await s3.send(new PutObjectCommand({
        Bucket: env.S3_BUCKET, Key: blobKey(rootFor(`${prefix}/corrupt`), layer.digest), Body: Buffer.alloc(layer.size, 0x5a),
      }));
    } finally {
      s3.destroy();
    }

    const r = await restore('corrupt', adpB, { imageStreamsBackupReference: { name: 'with-corruption' }, backupLocation: { name: 'corrupt' } });
    expect(r.status).toMatchObject({
      phase: 'PartiallyFailed',
      progress: { images: { total: 2, done: 1, failed: 1 } },
      failures: [{ imageStream: `${bad}/broken`, reference: badBroken.digest, message: expect.stringMatching(new RegExp(`digest mismatch: expected ${layer.digest}`)) }],
    });
    expect(await crane.digest(`${clusterB.registry}/${bad}/good:latest`)).toBe(badGood.digest);
    await expect(crane.run(['validate', '--remote', `${clusterB.registry}/${bad}/good@${badGood.digest}`])).resolves.toMatch(/PASS/);
    // Nothing of the broken image was made visible: no manifest, no tag, not the bad layer.
    expect(await listTags(regB, `${bad}/broken`)).toEqual([]);
    expect(await blobExists(regB, `${bad}/broken`, layer.digest)).toBe(false);
    expect(await eventReasons(adpB, 'corrupt', ['RestorePartiallyFailed'])).toContain('RestorePartiallyFailed');
  }, 120_000);
});

describe('ImageStreamsRestore across a controller restart', () => {
  const adpR = `adp-restart-${run}`;
  const repo = `resume-${run}/app`;
  let images: Image[];

  beforeAll(async () => {
    const [ns, name] = repo.split('/') as [string, string];
    // Layers unique to this image stream, so that nothing can be mounted from another repository:
    // what the second controller does not push, it found in the registry.
    images = [
      await pushGzipImage(regA, repo, { label: 'one', layers: [1, 2, 3].map((i) => ({ seed: `${run}-resume-a${i}`, size: (100 + i) * KiB })), tags: ['one'] }),
      await pushGzipImage(regA, repo, { label: 'two', layers: [1, 2, 3].map((i) => ({ seed: `${run}-resume-b${i}`, size: (110 + i) * KiB })), tags: ['two'] }),
    ];
    await prepareNamespace(onB, adpR, { default: `${prefix}/main` });
    await backUp('restartable', 'default', [{ namespace: ns, name, refs: images.map((img, i) => ({ digest: img.digest, tags: [i === 0 ? 'one' : 'two'] })) }]);
  }, 120_000);

  it('finishes after a restart without pushing again what the registry already holds', async () => {
    // First controller: its registry lets two blob uploads through (a config, then a layer) and
    // holds the third (a layer) until the controller stops, as if the process died mid-restore.
    // Stopping aborts the run, which destroys the layer's stream from the store: that ends the hold.
    let uploaded = 0;
    const held: string[] = [];
    const holding = (real: RegistryFactory): RegistryFactory => (signal) => {
      const h = real(signal);
      const registry: Registry = Object.create(h.registry, {
        pushBlob: {
          value: async (r: string, desc: Descriptor, body: Readable) => {
            if (uploaded >= 2) {
              held.push(desc.digest);
              // Held until the run is cancelled (the controller stops), as if the process died mid-push.
              await new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('the controller process died')), { once: true }));
            }
            await h.registry.pushBlob(r, desc, body);
            uploaded++;
          },
        },
      });
      return { registry, close: () => h.close() };
    };
    const serial = { IMAGE_CONCURRENCY: '1', BLOB_CONCURRENCY: '1' };
    const first = await startRestoreInProcess({ namespace: adpR, registry: holding, extraEnv: serial });
    const isrs = isrsB();
    await isrs.create(adpR, {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name: 'resumable', namespace: adpR },
      spec: { imageStreamsBackupReference: { name: 'restartable' } },
    });
    await poll('two uploads and one held', async () => ({ uploaded, held: held.length }), (s) => s.uploaded === 2 && s.held === 1, 60_000);
    expect(images[0]!.layers.map((l) => l.digest)).toContain(held[0]);
    // Progress reaches the status while the run is still going (throttled to PROGRESS_INTERVAL_MS).
    const midway = await poll('progress while running', async () => (await isrs.get(adpR, 'resumable'))!, (r) => (r.status?.progress?.blobs.done ?? 0) === 2);
    expect(midway.status).toMatchObject({ phase: 'InProgress', progress: { images: { total: 2, done: 0 } } });
    await stopInProcess(first);
    expect((await isrs.get(adpR, 'resumable'))?.status?.phase).toBe('InProgress');

    const all = images.flatMap(blobsOf);
    const present: string[] = [];
    for (const d of all) if (await blobExists(regB, repo, d.digest)) present.push(d.digest);
    expect(present).toHaveLength(2);

    // Second controller: a registry that records every blob it is asked to upload.
    const pushed: string[] = [];
    const recording = (real: RegistryFactory): RegistryFactory => (signal) => {
      const h = real(signal);
      const registry: Registry = Object.create(h.registry, {
        pushBlob: { value: async (r: string, desc: Descriptor, body: never) => { pushed.push(desc.digest); await h.registry.pushBlob(r, desc, body); } },
      });
      return { registry, close: () => h.close() };
    };
    await startRestoreInProcess({ namespace: adpR, registry: recording, extraEnv: serial });
    const done = await poll('resumed restore', async () => (await isrs.get(adpR, 'resumable'))!, (r) => TERMINAL.includes(r.status?.phase ?? ''));

    expect(done.status).toMatchObject({ phase: 'Completed', progress: { images: { total: 2, done: 2, failed: 0 } } });
    expect(pushed.filter((d) => present.includes(d))).toEqual([]);
    expect(new Set(pushed)).toEqual(new Set(all.map((d) => d.digest).filter((d) => !present.includes(d))));
    const bytesPresent = all.filter((d) => present.includes(d.digest)).reduce((n, d) => n + d.size, 0);
    expect(done.status?.progress?.blobs).toEqual({ total: all.length, done: all.length - 2, skipped: 2 });
    expect(done.status?.progress?.bytes).toMatchObject({ skipped: bytesPresent, done: all.reduce((n, d) => n + d.size, 0) - bytesPresent });
    for (const [i, img] of images.entries()) {
      expect(await crane.digest(`${clusterB.registry}/${repo}:${i === 0 ? 'one' : 'two'}`)).toBe(img.digest);
      await expect(crane.run(['validate', '--remote', `${clusterB.registry}/${repo}@${img.digest}`])).resolves.toMatch(/PASS/);
    }
    const expected = ['RestoreStarted', 'RestoreResumed', 'RestoreCompleted'];
    expect(await eventReasons(adpR, 'resumable', expected)).toEqual(expect.arrayContaining(expected));
  }, 180_000);
});
