// The pool's garbage collector against the stack's MinIO: what it deletes, what it keeps, and
// what stops it. The grace period is a second or two here (24 h by default): a test waits,
// by the store's own clock, until the blobs it means are older than that.
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { runBackup, type ImageStreamInput } from '../pkg/backup/index.js';
import { collectGarbage, GcStoppedError, storeNow, type CollectOptions } from '../pkg/gc/collect.js';
import { deleteOwnBundle } from '../pkg/gc/deleteBundle.js';
import { Lease, leasesPrefix } from '../pkg/gc/lease.js';
import type { ObjectStore } from '../pkg/store/index.js';
import { dataPathForFile } from './dataPathForFile.js';
import { openStackStore } from './datapath-helpers.js';
import { fixtureRegistryFromEnv, pushImage, sha256, type PushedImage } from './fixture/images.js';
import { waitFor } from './fixture/wait.js';
import { loadStackEnv, uniqueName } from './stackEnv.js';

const env = loadStackEnv();
const fixture = fixtureRegistryFromEnv(env);
const GRACE_MS = 1_500;
const KiB = 1024;

const { registry, s3, newStore } = dataPathForFile(env, 'gc');

const collect = (store: ObjectStore, opts: Partial<CollectOptions> = {}) => collectGarbage(store, { graceMs: GRACE_MS, holder: 'test', fenceMs: 1_000, ...opts });

function stream(namespace: string, name: string, images: PushedImage[]): ImageStreamInput {
  return { namespace, name, references: images.map((img) => ({ reference: `${env.REGISTRY}/${img.repo}@${img.digest}`, tags: [] })) };
}

/** Until everything written so far is older than the grace period, by the store's clock. */
async function ageBeyondGrace(store: ObjectStore): Promise<void> {
  const start = await storeNow(store);
  await waitFor('the grace period to pass', () => storeNow(store), (now) => now.getTime() - start.getTime() > GRACE_MS + 1_000, 10_000, 200);
}

async function inPool(store: ObjectStore, digests: string[]): Promise<string[]> {
  const there = await Promise.all(digests.map(async (d) => ((await store.head(store.blobKey(d))) ? d : undefined)));
  return there.filter((d): d is string => d !== undefined);
}

async function putBlob(store: ObjectStore): Promise<string> {
  const bytes = randomBytes(4 * KiB);
  const digest = sha256(bytes);
  await store.put(store.blobKey(digest), bytes);
  return digest;
}

describe('a deleted backup\'s blobs are freed after two passes a grace period apart', () => {
  const ns = uniqueName('gc-shared');
  let store: ObjectStore;
  let a: PushedImage;
  let b: PushedImage;
  let own: string[];
  let shared: string[];

  beforeAll(async () => {
    store = await newStore();
    const base = { seed: uniqueName('base'), size: 64 * KiB };
    a = await pushImage(fixture, `${ns}/a`, { layers: [base, { seed: uniqueName('a'), size: 32 * KiB }], format: 'oci' });
    b = await pushImage(fixture, `${ns}/b`, { layers: [base, { seed: uniqueName('b'), size: 16 * KiB }], format: 'oci' });
    await runBackup({ store, registry, backup: { namespace: 'adp', name: 'first', uid: 'u1' }, imageStreams: [stream(ns, 'a', [a])] });
    await runBackup({ store, registry, backup: { namespace: 'adp', name: 'second', uid: 'u2' }, imageStreams: [stream(ns, 'b', [b])] });
    // Configs and manifests are in the bundles themselves; layers are in the pool.
    own = [a.layers[1]!.digest];
    shared = [a.layers[0]!.digest];
    await store.delete(store.bundleKey('first'));
  });

  test('a blob younger than the grace period is no candidate', async () => {
    const report = await collect(store);
    expect(report).toMatchObject({ ran: true, pass: 'first', candidates: 0, deletedBlobs: 0 });
  });

  test('the first pass past the grace records candidates and deletes nothing', async () => {
    await ageBeyondGrace(store);
    const report = await collect(store);
    expect(report).toMatchObject({ pass: 'sweep', deletedBlobs: 0 });
    expect(report.candidates).toBeGreaterThanOrEqual(1);
    expect(await inPool(store, [...own, ...shared])).toEqual(expect.arrayContaining([...own, ...shared]));
  });

  test('a pass sooner than the grace period after the first deletes nothing', async () => {
    const report = await collect(store);
    expect(report).toMatchObject({ pass: 'waiting', deletedBlobs: 0 });
    expect(await inPool(store, own)).toEqual(own);
  });

  test('the pass after the grace deletes exactly the blobs no other backup uses', async () => {
    await ageBeyondGrace(store);
    const report = await collect(store);
    expect(report.pass).toBe('sweep');
    expect(await inPool(store, own)).toEqual([]);
    expect(await inPool(store, shared)).toEqual(shared);
    expect(await inPool(store, [b.layers[1]!.digest])).toHaveLength(1);
    expect(report.deletedBlobs).toBe(own.length);
    expect(report.freedBytes).toBe(a.layers[1]!.size);
  });

  test('the other backup still restores whole: its bundle names only blobs that are there', async () => {
    const { openBundle } = await import('../pkg/bundle/open.js');
    const bundle = await openBundle(store, store.bundleKey('second'), { name: 'second' });
    const layers = bundle!.backup.layers.map((l) => l.digest);
    expect(await inPool(store, layers)).toEqual(layers);
  });
});

describe('what the collector keeps and what stops it', () => {
  test('a live lease keeps an unreferenced blob; a stale lease does not, and is removed', async () => {
    const store = await newStore();
    const leased = await putBlob(store);
    const dead = await putBlob(store);
    const lease = await Lease.take(store, 'backup', 'test', [leased], { renewMs: 300 });
    await store.put(`${leasesPrefix(store.root)}dead-writer.json`, Buffer.from(JSON.stringify({ id: 'dead-writer', kind: 'backup', owner: 'x', blobs: [dead] })));
    try {
      await ageBeyondGrace(store);
      const opts = { leaseTtlMs: GRACE_MS };
      const first = await collect(store, opts);
      await ageBeyondGrace(store);
      const report = await collect(store, opts);
      expect(report.pass).toBe('sweep');
      expect(await inPool(store, [leased, dead])).toEqual([leased]);
      expect(first.removedLeases + report.removedLeases).toBe(1);
      expect(await store.head(`${leasesPrefix(store.root)}dead-writer.json`)).toBeUndefined();
      expect(await store.head(lease.key)).toBeDefined();
    } finally {
      await lease.release();
    }
  });

  test('a bundle that cannot be read stops the sweep, and nothing is deleted', async () => {
    const store = await newStore();
    const blob = await putBlob(store);
    await store.put(store.bundleKey('broken'), Buffer.from('not a tar at all, and long enough to be read as one'.repeat(20)));
    await ageBeyondGrace(store);
    await expect(collect(store)).rejects.toBeInstanceOf(GcStoppedError);
    await ageBeyondGrace(store);
    await expect(collect(store)).rejects.toThrow(/backups\/broken\/bundle\.tar cannot be read/);
    expect(await inPool(store, [blob])).toEqual([blob]);
    // The lock is given back: the next collector is not kept out.
    expect(await store.head(`${store.root}gc/lock.json`)).toBeUndefined();
  });

  test('a lease that cannot be read stops the sweep', async () => {
    const store = await newStore();
    const blob = await putBlob(store);
    await store.put(`${leasesPrefix(store.root)}garbled.json`, Buffer.from('{"id":'));
    await ageBeyondGrace(store);
    await expect(collect(store)).rejects.toThrow(/lease .*garbled\.json cannot be read/);
    expect(await inPool(store, [blob])).toEqual([blob]);
  });

  test('one collector works on a location at a time', async () => {
    const store = await newStore();
    const other = await openStackStore(env, store.root.replace(/plugins\/imagestreams\/v1\/$/, '').replace(/\/$/, ''));
    try {
      await Promise.all(Array.from({ length: 5 }, () => putBlob(store)));
      const reports = await Promise.all([collect(store, { holder: 'one' }), collect(other, { holder: 'two' }), collect(store, { holder: 'three' })]);
      expect(reports.filter((r) => r.ran)).toHaveLength(1);
      expect(await store.head(`${store.root}gc/lock.json`)).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  test('a dry run names what it would delete and deletes nothing', async () => {
    const store = await newStore();
    const blob = await putBlob(store);
    await ageBeyondGrace(store);
    await collect(store);
    await ageBeyondGrace(store);
    const report = await collect(store, { dryRun: true });
    expect(report).toMatchObject({ pass: 'sweep', deletedBlobs: 0, wouldDelete: [blob] });
    expect(await inPool(store, [blob])).toEqual([blob]);
  });

  test('a multipart upload a dead writer left is aborted once older than the grace period; a young one stays', async () => {
    const store = await newStore();
    const dead = sha256(randomBytes(32));
    const young = sha256(randomBytes(32));
    await store.put(`${leasesPrefix(store.root)}dead-writer.json`, Buffer.from(JSON.stringify({ id: 'dead-writer', kind: 'backup', owner: 'x', blobs: [dead, young] })));
    await s3.send(new CreateMultipartUploadCommand({ Bucket: env.S3_BUCKET, Key: store.blobKey(dead) }));
    await ageBeyondGrace(store);
    const youngUpload = await s3.send(new CreateMultipartUploadCommand({ Bucket: env.S3_BUCKET, Key: store.blobKey(young) }));
    try {
      const report = await collect(store, { leaseTtlMs: GRACE_MS });
      expect(report.abortedUploads).toBe(1);
      const uploads = async (d: string) => (await s3.send(new ListMultipartUploadsCommand({ Bucket: env.S3_BUCKET, Prefix: store.blobKey(d) }))).Uploads ?? [];
      expect(await uploads(dead)).toEqual([]);
      expect(await uploads(young)).toHaveLength(1);
    } finally {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: env.S3_BUCKET, Key: store.blobKey(young), UploadId: youngUpload.UploadId }));
    }
  });
});

describe('deleting the bundle of a deleted ImageStreamsBackup', () => {
  test('deletes it only when its backup.json names the same uid, and leaves another\'s or an unreadable one', async () => {
    const store = await newStore();
    const ns = uniqueName('gc-own');
    const img = await pushImage(fixture, `${ns}/a`, { layers: [{ seed: uniqueName('own'), size: 8 * KiB }], format: 'oci' });
    await runBackup({ store, registry, backup: { namespace: 'adp', name: 'mine', uid: 'u-mine' }, imageStreams: [stream(ns, 'a', [img])] });
    await runBackup({ store, registry, backup: { namespace: 'other', name: 'theirs', uid: 'u-theirs' }, imageStreams: [stream(ns, 'a', [img])] });
    await store.put(store.bundleKey('garbled'), Buffer.from('x'.repeat(2048)));

    expect(await deleteOwnBundle(store, { name: 'theirs', uid: 'u-mine' })).toEqual({ result: 'other', key: store.bundleKey('theirs'), uid: 'u-theirs' });
    expect(await deleteOwnBundle(store, { name: 'garbled', uid: 'u-mine' })).toMatchObject({ result: 'unreadable', key: store.bundleKey('garbled') });
    expect(await deleteOwnBundle(store, { name: 'never', uid: 'u-mine' })).toEqual({ result: 'absent' });
    expect(await deleteOwnBundle(store, { name: 'mine', uid: 'u-mine' })).toEqual({ result: 'deleted', key: store.bundleKey('mine') });
    expect(await store.head(store.bundleKey('mine'))).toBeUndefined();
    expect(await store.head(store.bundleKey('theirs'))).toBeDefined();
    expect(await store.head(store.bundleKey('garbled'))).toBeDefined();
  });
});

describe('the orphan rule in the collector', () => {
  test('deletes the bundles it is told are orphaned, before it marks, so their blobs become candidates in the same pass', async () => {
    const store = await newStore();
    const ns = uniqueName('gc-orphan');
    const img = await pushImage(fixture, `${ns}/a`, { layers: [{ seed: uniqueName('orphan'), size: 8 * KiB }], format: 'oci' });
    await runBackup({ store, registry, backup: { namespace: 'adp', name: 'orphan', uid: 'u-gone', cluster: 'c1', deletionPolicy: 'Delete' }, imageStreams: [stream(ns, 'a', [img])] });
    await ageBeyondGrace(store);
    const asked: unknown[] = [];
    const report = await collect(store, { orphan: async (owner) => { asked.push(owner); return owner.uid === 'u-gone'; } });
    expect(asked).toEqual([{ namespace: 'adp', name: 'orphan', uid: 'u-gone', cluster: 'c1', deletionPolicy: 'Delete' }]);
    expect(report.orphanedBundles).toEqual([store.bundleKey('orphan')]);
    expect(await store.head(store.bundleKey('orphan'))).toBeUndefined();
    expect(report.candidates).toBe(1);
  });
});
