// A backup's data lives as long as its ImageStreamsBackup: deleting it deletes its bundle (the
// finalizer), and the collector frees, after the grace period (2 s here, 24 h by default), exactly
// the layers no other backup uses. The controller runs as its own process against the stack; the
// bucket is read with a plain S3 client.
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsBackup, type ImageStreamsRestore } from '../../pkg/api/index.js';
import { runBackup } from '../../pkg/backup/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { Crane, openStackStore, stackRegistry } from '../datapath-helpers.js';
import { fixtureRegistryFromEnv, pushImage, type PushedImage } from '../fixture/images.js';
import { waitFor } from '../fixture/wait.js';
import { loadStackEnv, uniqueName } from '../stackEnv.js';
import { TestBucket, TestCluster, phaseIs, readyReason } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';

const env = loadStackEnv();
const cluster = new TestCluster(env);
const bucket = new TestBucket(env);
const reg = fixtureRegistryFromEnv(env);
const ns = uniqueName('lifecycle');
const prefix = uniqueName('lifecycle-prefix');
const root = `${prefix}/plugins/imagestreams/v1/`;
const isrs = new CustomResources<ImageStreamsRestore>(cluster.kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
const KiB = 1024;

let ctl: ControllerProcess;
let crane: Crane;
let a: PushedImage;
let b: PushedImage;

const blobKey = (digest: string) => `${root}blobs/sha256/${digest.slice('sha256:'.length)}`;
const bundleKey = (name: string) => `${root}backups/${name}/bundle.tar`;
const ref = (img: PushedImage) => `${env.REGISTRY}/${img.repo}@${img.digest}`;
const inBucket = async (keys: string[]) => {
  const all = await bucket.list(root);
  return keys.filter((k) => all.has(k));
};

async function backUp(name: string, img: PushedImage, extra: { deletionPolicy?: 'Delete' | 'Retain'; location?: string } = {}): Promise<ImageStreamsBackup> {
  await cluster.createIsb(ns, name, {
    startBackup: true,
    ...(extra.deletionPolicy && { deletionPolicy: extra.deletionPolicy }),
    backupLocation: { name: extra.location ?? 'default' },
    imageStreams: [{ namespace: ns, name: 'app', dockerImageReferences: [{ dockerImageReference: ref(img), tags: ['latest'] }] }],
  });
  const done = await cluster.waitForIsb(ns, name, phaseIs('Completed', 'PartiallyFailed', 'Failed'), `backup ${name}`);
  expect(done.status?.phase).toBe('Completed');
  return done;
}

async function deleted(name: string): Promise<void> {
  await cluster.isbs.delete(ns, name);
  await waitFor(`ImageStreamsBackup ${name} to go`, () => cluster.isbs.get(ns, name), (isb) => isb === undefined, 60_000);
}

/** Until the collector has made `n` more passes over the location (its metric). */
async function passes(n: number): Promise<void> {
  const count = async () => [...(await ctl.metrics()).matchAll(/^imagestream_backup_gc_passes_total\{[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
  const start = await count();
  await waitFor(`${n} collector passes`, count, (c) => c >= start + n, 60_000);
}

async function start(): Promise<void> {
  ctl = await startController(env, {
    namespaces: [ns],
    env: { GC_GRACE_SECONDS: '2', GC_INTERVAL_SECONDS: '1', GC_FENCE_SECONDS: '2', LEADER_ELECT: 'false', RETRY_BASE_SECONDS: '1' },
  });
  await ctl.waitReady();
}

beforeAll(async () => {
  await cluster.createNamespace(ns);
  await cluster.createCredentials(ns);
  await cluster.createLocation(ns, 'default', prefix, { default: true });
  await cluster.createCredentials(ns, 'fragile-credentials');
  await cluster.bsls.create(ns, {
    apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation', metadata: { name: 'fragile', namespace: ns },
    spec: { ...cluster.locationSpec(prefix), credential: { name: 'fragile-credentials', key: 'cloud' } },
  });
  const shared = { seed: uniqueName('shared'), size: 64 * KiB };
  a = await pushImage(reg, `${ns}/a`, { layers: [shared, { seed: uniqueName('a'), size: 32 * KiB }], format: 'oci' });
  b = await pushImage(reg, `${ns}/b`, { layers: [shared, { seed: uniqueName('b'), size: 16 * KiB }], format: 'oci' });
  await start();
  crane = await Crane.login(env);
}, 120_000);

afterAll(async () => {
  await ctl?.kill('SIGTERM');
  await crane?.close();
  await bucket.remove(`${prefix}/`);
  bucket.close();
});

describe('deleting an ImageStreamsBackup', () => {
  test('removes its bundle, then after the grace period exactly the layers no other backup uses; the other backup still restores', async () => {
    await backUp('first', a);
    await backUp('second', b);
    const [shared, ownA] = a.layers.map((l) => blobKey(l.digest));
    const ownB = blobKey(b.layers[1]!.digest);
    expect(await inBucket([shared!, ownA!, ownB])).toHaveLength(3);

    await deleted('first');
    expect(await inBucket([bundleKey('first')])).toEqual([]);
    expect(await cluster.eventReasons(ns, 'first', ['BundleDeleted'])).toContain('BundleDeleted');
    await waitFor('the collector to free the deleted backup\'s own layer', () => inBucket([ownA!]), (left) => left.length === 0, 60_000);
    expect(await inBucket([shared!, ownB, bundleKey('second')])).toEqual([shared, ownB, bundleKey('second')]);
    expect(await ctl.metrics()).toMatch(/^imagestream_backup_gc_deleted_blobs_total\{[^}]*\} [1-9]/m);

    const target = uniqueName('lifecycle-restored');
    await isrs.create(ns, {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name: 'second-back', namespace: ns },
      spec: { imageStreamsBackupReference: { name: 'second' }, backupLocation: { name: 'default' }, namespaceMapping: { [ns]: target } },
    });
    const r = await waitFor('the restore', () => isrs.get(ns, 'second-back'), (x) => ['Completed', 'PartiallyFailed', 'Failed'].includes(x?.status?.phase ?? ''), 90_000);
    expect(r?.status?.phase).toBe('Completed');
    expect(await crane.digest(`${env.REGISTRY}/${target}/app:latest`)).toBe(b.digest);
  });

  test('lets its name be used again: a new ImageStreamsBackup of that name completes', async () => {
    await backUp('reused', a);
    await deleted('reused');
    const again = await backUp('reused', b);
    expect(again.status?.bundle).toBe(bundleKey('reused'));
  });

  test('keeps the bundle and its layers with deletionPolicy Retain', async () => {
    const retained = await pushImage(reg, `${ns}/kept`, { layers: [{ seed: uniqueName('kept'), size: 8 * KiB }], format: 'oci' });
    await backUp('kept', retained, { deletionPolicy: 'Retain' });
    await deleted('kept');
    expect(await cluster.eventReasons(ns, 'kept', ['BundleRetained'])).toContain('BundleRetained');
    await passes(4);
    expect(await inBucket([bundleKey('kept'), blobKey(retained.layers[0]!.digest)])).toHaveLength(2);
  });

  test('holds the object, saying why and how to let go, while its location cannot be used; deletes the bundle once it can', async () => {
    const img = await pushImage(reg, `${ns}/fragile`, { layers: [{ seed: uniqueName('fragile'), size: 8 * KiB }], format: 'oci' });
    await backUp('stuck', img, { location: 'fragile' });
    await cluster.core.deleteNamespacedSecret({ namespace: ns, name: 'fragile-credentials' });
    await cluster.isbs.delete(ns, 'stuck');
    const held = await cluster.waitForIsb(ns, 'stuck', (x) => readyReason(x) === 'DeletionBlocked', 'the deletion to be blocked', 30_000);
    const ready = held.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.message).toMatch(/fragile-credentials.*not found.*kubectl patch imagestreamsbackup stuck/s);
    expect(await cluster.eventReasons(ns, 'stuck', ['BundleDeletionBlocked'])).toContain('BundleDeletionBlocked');
    expect(await inBucket([bundleKey('stuck')])).toHaveLength(1);

    await cluster.createCredentials(ns, 'fragile-credentials');
    await waitFor('the ImageStreamsBackup to go', () => cluster.isbs.get(ns, 'stuck'), (x) => x === undefined, 60_000);
    expect(await inBucket([bundleKey('stuck')])).toEqual([]);
  });

  test('while the controller is down and released by hand, leaves its bundle to the orphan rule: the collector deletes it; a bundle of another cluster stays', async () => {
    const img = await pushImage(reg, `${ns}/orphan`, { layers: [{ seed: uniqueName('orphan'), size: 8 * KiB }], format: 'oci' });
    await backUp('orphan', img);
    // Another cluster's backup in the same location, in a watched namespace and with no ISB here.
    const store = await openStackStore(env, prefix);
    const registry = stackRegistry(env);
    try {
      await runBackup({
        store, registry, backup: { namespace: ns, name: 'foreign', uid: 'uid-foreign', cluster: 'another-cluster', deletionPolicy: 'Delete' },
        imageStreams: [{ namespace: ns, name: 'app', references: [{ reference: ref(img), tags: [] }] }],
      });
    } finally {
      registry.close();
      await store.close();
    }
    await ctl.kill('SIGTERM');
    await cluster.isbs.patch(ns, 'orphan', { metadata: { finalizers: null } });
    await cluster.isbs.delete(ns, 'orphan');
    expect(await cluster.isbs.get(ns, 'orphan')).toBeUndefined();
    await start();
    await waitFor('the collector to delete the orphaned bundle', () => inBucket([bundleKey('orphan')]), (left) => left.length === 0, 60_000);
    expect(await inBucket([bundleKey('foreign')])).toEqual([bundleKey('foreign')]);
  });
});
