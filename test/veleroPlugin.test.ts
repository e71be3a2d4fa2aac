// The plugin executable over go-plugin's protocol, driven as Velero's host drives it (see
// veleroPluginHost.ts), against the local stack's API server: handshake and go-plugin services,
// what Execute writes to the ImageStreamsBackup (also from two processes at once, and at the
// size limits), Progress and Cancel. The real Velero server is in test/e2e/velero.test.ts.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CANCEL_ANNOTATION, type ImageStreamsBackup } from '../pkg/api/index.js';
import { ensurePluginBuilt } from '../plugin/build.js';
import { MAX_REFERENCES_PER_STREAM } from '../plugin/imageStreamEntry.js';
import { imageStream } from './fixture/imageStreams.js';
import { TestCluster } from './e2e/cluster.js';
import { loadStackEnv, uniqueName, type StackEnv } from './stackEnv.js';
import { startPlugin, type PluginProcess } from './veleroPluginHost.js';

const run = promisify(execFile);
let env: StackEnv;
let cluster: TestCluster;
let binary: string;
const veleroNs = uniqueName('vp');
const plugins: PluginProcess[] = [];

const digest = (seed: string) => 'sha256:' + createHash('sha256').update(seed).digest('hex');
const veleroBackup = (name: string, phase = 'InProgress', uid = `uid-${name}`) => ({
  apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name, namespace: veleroNs, uid }, spec: { storageLocation: 'default' }, status: { phase },
});
const kubeEnv = () => ({ KUBECONFIG: env.KUBECONFIG });

async function plugin(extraEnv: Record<string, string> = {}): Promise<PluginProcess> {
  const p = await startPlugin(binary, kubeEnv(), extraEnv);
  plugins.push(p);
  return p;
}

const isb = async (name: string) => (await cluster.isbs.get(veleroNs, name))!;

beforeAll(async () => {
  env = loadStackEnv();
  cluster = new TestCluster(env);
  binary = await ensurePluginBuilt();
  await cluster.createNamespace(veleroNs);
}, 300_000);

afterAll(async () => {
  for (const p of plugins) p.kill();
  await cluster?.core.deleteNamespace({ name: veleroNs }).catch(() => undefined);
});

describe('go-plugin protocol', () => {
  test('refuses to run outside a go-plugin host', async () => {
    const err = await run(binary, [], { env: { PATH: process.env.PATH ?? '' } }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain('This binary is a plugin for Velero');
  });

  test('hands shake, serves health, lister and AppliesTo, and exits on Shutdown', async () => {
    const p = await plugin();
    expect(p.handshake).toMatch(/^1\|2\|unix\|\/.+\|grpc$/);
    expect(existsSync(p.socket)).toBe(true);
    expect(await p.health('plugin')).toBe('SERVING');
    expect(await p.listPlugins()).toEqual([{ command: binary, kind: 'BackupItemActionV2', name: 'oadp.openshift.io/imagestream-backup' }]);
    expect(await p.appliesTo()).toEqual(['imagestreams.image.openshift.io']);
    expect(await p.shutdown()).toBe(0);
    expect(existsSync(p.socket)).toBe(false);
  });

  test('starts fast enough for a process per call', async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await plugin();
      times.push(p.startMs);
      await p.shutdown();
    }
    const median = [...times].sort((a, b) => a - b)[2]!;
    console.log(`plugin start-up (spawn to handshake), 5 runs: ${times.map((t) => t.toFixed(0)).join(', ')} ms; median ${median.toFixed(0)} ms`);
    expect(median).toBeLessThan(2_000);
  });
});

describe('Execute', () => {
  test('appends the internal images of an ImageStream, newest first, with their current tags', async () => {
    const p = await plugin();
    const [d1, d2, d3, ext] = ['new', 'old', 'older', 'external'].map(digest) as [string, string, string, string];
    const stream = imageStream(env.REGISTRY, 'shop', 'web', [
      { tag: 'latest', images: [{ digest: d1, created: '2025-03-01T00:00:00Z' }, { digest: d2, created: '2025-02-01T00:00:00Z' }] },
      { tag: 'v1', images: [{ digest: d2, created: '2025-02-01T00:00:00Z' }, { digest: d3, created: '2025-01-01T00:00:00Z' }] },
      { tag: 'stable', images: [{ digest: d1, created: '2025-03-02T00:00:00Z' }] },
      { tag: 'upstream', images: [{ digest: ext, created: '2025-04-01T00:00:00Z', host: 'quay.io', repository: 'org/web' }] },
    ]);
    const item = Buffer.from(JSON.stringify(stream, null, 1));
    const res = await p.executeRaw(item, veleroBackup('b-order'));
    expect(res.operationID).toBe(`${veleroNs}/b-order`);
    expect(res.item.equals(item)).toBe(true); // the item goes into the Velero backup unchanged

    const got = await isb('b-order');
    expect(got.metadata?.labels).toEqual({ 'velero.io/backup-name': 'b-order', 'velero.io/backup-uid': 'uid-b-order', 'velero.io/exclude-from-backup': 'true' });
    expect(got.spec).toMatchObject({
      veleroBackupReference: { name: 'b-order', namespace: veleroNs, startOnCompletion: true },
      backupLocation: { name: 'default' },
    });
    const ref = (d: string) => `${env.REGISTRY}/shop/web@${d}`;
    expect(got.spec?.imageStreams).toEqual([{ name: 'web', namespace: 'shop', dockerImageReferences: [
      { dockerImageReference: ref(d1), tags: ['stable', 'latest'] },
      { dockerImageReference: ref(d2), tags: ['v1'] },
      { dockerImageReference: ref(d3), tags: [] },
    ] }]);
    expect(p.stderr()).toContain(`skipped 1 image(s) of other registries than ${env.REGISTRY}`);

    // Velero may run an Execute again: nothing changes, not even the resourceVersion.
    expect((await p.executeRaw(item, veleroBackup('b-order'))).operationID).toBe(`${veleroNs}/b-order`);
    expect((await isb('b-order')).metadata?.resourceVersion).toBe(got.metadata?.resourceVersion);
  });

  test('takes no operation while the backup finalizes, and none for a stream without internal images', async () => {
    const p = await plugin();
    const stream = imageStream(env.REGISTRY, 'shop', 'final', [{ tag: 'latest', images: [{ digest: digest('f'), created: '2025-01-01T00:00:00Z' }] }]);
    expect((await p.execute(stream, veleroBackup('b-final', 'Finalizing'))).operationID).toBe('');
    expect((await p.execute(stream, veleroBackup('b-final', 'FinalizingPartiallyFailed'))).operationID).toBe('');
    const external = imageStream(env.REGISTRY, 'shop', 'ext', [{ tag: 'latest', images: [{ digest: digest('e'), created: '2025-01-01T00:00:00Z', host: 'quay.io' }] }]);
    expect((await p.execute(external, veleroBackup('b-final'))).operationID).toBe('');
    expect(await cluster.isbs.get(veleroNs, 'b-final')).toBeUndefined();
  });

  test('loses and duplicates nothing when two processes append at once', async () => {
    const [a, b] = await Promise.all([plugin(), plugin()]);
    const streams = Array.from({ length: 90 }, (_, i) => imageStream(env.REGISTRY, `ns${i % 3}`, `s${i}`,
      [{ tag: 'latest', images: [{ digest: digest(`c${i}`), created: '2025-01-01T00:00:00Z' }] }]));
    const oneByOne = (p: PluginProcess, list: typeof streams) => (async () => {
      for (const s of list) await p.execute(s, veleroBackup('b-concurrent'));
    })();
    // Different streams, one call after the other in each process, both at once: every write races one of the other.
    await Promise.all([oneByOne(a, streams.slice(0, 30)), oneByOne(b, streams.slice(30, 60))]);
    // The same streams in both processes at once, as a retried Execute racing the first one: each is added once.
    await Promise.all([oneByOne(a, streams.slice(60)), oneByOne(b, streams.slice(60))]);
    const entries = (await isb('b-concurrent')).spec?.imageStreams ?? [];
    expect(entries.map((e) => `${e.namespace}/${e.name}`).sort()).toEqual(streams.map((s) => `${s.metadata!.namespace}/${s.metadata!.name}`).sort());
  });

  test('takes the internal registry from the plugin ConfigMap when one is there', async () => {
    const p = await plugin();
    await cluster.core.createNamespacedConfigMap({ namespace: veleroNs, body: {
      metadata: { name: 'imagestream-backup-config', labels: { 'velero.io/plugin-config': '', 'oadp.openshift.io/imagestream-backup': 'BackupItemActionV2' } },
      data: { internalRegistry: 'registry.example:5000' },
    } });
    try {
      const stream = imageStream(env.REGISTRY, 'shop', 'renamed', [
        { tag: 'a', images: [{ digest: digest('on-stack'), created: '2025-01-01T00:00:00Z' }] },
        { tag: 'b', images: [{ digest: digest('on-example'), created: '2025-01-02T00:00:00Z', host: 'registry.example:5000' }] },
      ]);
      await p.execute(stream, veleroBackup('b-config'));
      expect((await isb('b-config')).spec?.imageStreams?.[0]?.dockerImageReferences).toEqual([
        { dockerImageReference: `registry.example:5000/shop/renamed@${digest('on-example')}`, tags: ['b'] },
      ]);
    } finally {
      await cluster.core.deleteNamespacedConfigMap({ namespace: veleroNs, name: 'imagestream-backup-config' });
    }
  });

  test('never writes to an ImageStreamsBackup of another Velero backup', async () => {
    const p = await plugin();
    await cluster.createIsb(veleroNs, 'b-taken', { veleroBackupReference: { name: 'someone-else' }, imageStreams: [] });
    const stream = imageStream(env.REGISTRY, 'shop', 'web', [{ tag: 'latest', images: [{ digest: digest('t'), created: '2025-01-01T00:00:00Z' }] }]);
    await expect(p.execute(stream, veleroBackup('b-taken'))).rejects.toThrow(/does not belong to Velero Backup/);
    expect((await isb('b-taken')).spec?.imageStreams).toEqual([]);
  });

  test('holds 5,000 references, and beyond what one object can hold fails naming the limit', async () => {
    const p = await plugin();
    const big = (i: number, n = MAX_REFERENCES_PER_STREAM) => imageStream(env.REGISTRY, 'big', `stream${i}`, [{
      tag: `t${i}`,
      images: Array.from({ length: n }, (_, k) => ({ digest: digest(`big-${i}-${k}`), created: new Date(Date.UTC(2025, 0, 1) + k * 1000).toISOString() })),
    }]);
    for (let i = 0; i < 5; i++) await p.execute(big(i), veleroBackup('b-big'));
    const held = (await isb('b-big')).spec?.imageStreams ?? [];
    expect(held.reduce((n, s) => n + (s.dockerImageReferences?.length ?? 0), 0)).toBe(5000);

    let i = 5;
    let error: Error | undefined;
    for (; i < 20 && !error; i++) error = await p.execute(big(i), veleroBackup('b-big')).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/cannot take ImageStream big\/stream\d+: it would grow to [\d.]+ MiB, over what one Kubernetes object may hold \(etcd's default request limit, 1.5 MiB/);
    const after = (await isb('b-big')).spec?.imageStreams ?? [];
    expect(after.length).toBe(i - 1); // every stream before the refused one is still there
    console.log(`one ImageStreamsBackup took ${after.length} image streams of ${MAX_REFERENCES_PER_STREAM} references; the next was refused`);

    await expect(p.execute(big(99, MAX_REFERENCES_PER_STREAM + 1), veleroBackup('b-big'))).rejects.toThrow(/at most 1000 per image stream/);
  });
});

describe('Progress and Cancel', () => {
  const withStatus = async (name: string, status: ImageStreamsBackup['status']) => {
    await cluster.createIsb(veleroNs, name, { veleroBackupReference: { name }, imageStreams: [] });
    const obj = await isb(name);
    await cluster.isbs.patchStatus(veleroNs, name, { observedGeneration: obj.metadata?.generation, ...status });
  };

  test('reports bytes while the ISB runs, completion, and the failed images by name', async () => {
    const p = await plugin();
    await withStatus('p-running', { phase: 'InProgress', message: 'copying', startTimestamp: '2025-05-01T10:00:00Z',
      progress: { images: { total: 2, done: 1, failed: 0 }, blobs: { total: 4, done: 1, skipped: 1 }, bytes: { total: 1000, done: 300, skipped: 200 } } });
    expect(await p.progress(`${veleroNs}/p-running`)).toMatchObject({
      completed: false, err: '', nCompleted: 500, nTotal: 1000, operationUnits: 'bytes', description: 'InProgress: copying',
      started: { seconds: Date.parse('2025-05-01T10:00:00Z') / 1000, nanos: 0 },
    });

    await withStatus('p-done', { phase: 'Completed', completionTimestamp: '2025-05-01T10:05:00Z',
      progress: { images: { total: 2, done: 2, failed: 0 }, blobs: { total: 4, done: 2, skipped: 2 }, bytes: { total: 1000, done: 400, skipped: 600 } } });
    expect(await p.progress(`${veleroNs}/p-done`)).toMatchObject({ completed: true, err: '', nCompleted: 1000, nTotal: 1000,
      updated: { seconds: Date.parse('2025-05-01T10:05:00Z') / 1000 } });

    await withStatus('p-partial', { phase: 'PartiallyFailed', message: '1 of 2 images failed',
      failures: [{ imageStream: 'shop/web', reference: `${env.REGISTRY}/shop/web@${digest('gone')}`, message: 'manifest unknown' }] });
    const partial = await p.progress(`${veleroNs}/p-partial`);
    expect(partial.completed).toBe(true);
    expect(partial.err).toContain(`failed images: ${env.REGISTRY}/shop/web@${digest('gone')} (image stream shop/web): manifest unknown`);

    expect(await p.progress(`${veleroNs}/p-missing`)).toMatchObject({ completed: true, err: expect.stringContaining('was deleted') });
    await expect(p.progress('not an id')).rejects.toThrow(/operation ID "not an id" is not/);
  });

  test('Cancel asks the ISB to stop through its annotation', async () => {
    const p = await plugin();
    await withStatus('p-cancel', { phase: 'InProgress' });
    await p.cancel(`${veleroNs}/p-cancel`);
    expect((await isb('p-cancel')).metadata?.annotations?.[CANCEL_ANNOTATION]).toBe('cancelled by Velero (item operation timeout)');
    await expect(p.cancel(`${veleroNs}/p-absent`)).resolves.toBeUndefined();
  });
});
