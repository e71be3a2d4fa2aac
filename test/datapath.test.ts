// The data path end to end against the stack: backup into MinIO (through the BSL's caCert),
// restore into the registry, checked with clients we did not write (crane, a raw S3 client,
// the fixture's own registry client).
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ImageFailure } from '../pkg/contracts.js';
import { StalledError, TransientError, TransientImagesError, WaitingError } from '../pkg/errors.js';
import { runBackup, type ImageStreamInput } from '../pkg/backup/index.js';
import { unpackBundle } from '../pkg/bundle/index.js';
import { runRestore } from '../pkg/restore/index.js';
import { createRegistryClient, type RegistryClient } from '../pkg/registry/index.js';
import type { ObjectStore } from '../pkg/store/index.js';
import { fixtureRegistryFromEnv, listTags, pushImage, pushIndex, type PushedImage } from './fixture/images.js';
import { request } from './fixture/http.js';
import { Crane, openStackStore, rawS3, stackRegistry } from './datapath-helpers.js';
import { deletePrefix, listPages } from './fixture/bucket.js';
import { loadStackEnv, uniqueName } from './stackEnv.js';

const env = loadStackEnv();
const fixture = fixtureRegistryFromEnv(env);
const KiB = 1024;
const MiB = 1024 * KiB;

let registry: RegistryClient;
let s3: S3Client;
let crane: Crane;
const stores: ObjectStore[] = [];
beforeAll(async () => {
  registry = stackRegistry(env);
  s3 = rawS3(env);
  crane = await Crane.login(env);
});
afterAll(async () => {
  registry.close();
  await crane.close();
  await Promise.all(stores.map((s) => deletePrefix(s3, env.S3_BUCKET, s.root)));
  await Promise.all(stores.map((s) => s.close()));
  s3.destroy();
});

async function newStore(): Promise<ObjectStore> {
  const store = await openStackStore(env, `${uniqueName('datapath')}/velero`);
  stores.push(store);
  return store;
}

function ref(img: { repo: string; digest: string }): string {
  return `${env.REGISTRY}/${img.repo}@${img.digest}`;
}

function stream(namespace: string, name: string, refs: Array<[{ repo: string; digest: string }, string[]]>): ImageStreamInput {
  return { namespace, name, references: refs.map(([img, tags]) => ({ reference: ref(img), tags })) };
}

async function listKeys(prefix: string): Promise<Array<{ key: string; size: number }>> {
  const out: Array<{ key: string; size: number }> = [];
  for await (const page of listPages(s3, env.S3_BUCKET, prefix)) for (const o of page) out.push({ key: o.Key!, size: o.Size! });
  return out;
}

const identity = (name: string, uid = `uid-${name}`) => ({ namespace: 'openshift-adp', name, uid });

describe('backup deduplicates layers in the pool', () => {
  const ns = uniqueName('dedup');
  let store: ObjectStore;
  let a: PushedImage;
  let b: PushedImage;
  let streams: ImageStreamInput[];
  const base = [{ seed: uniqueName('base0'), size: 300 * KiB }, { seed: uniqueName('base1'), size: 20 * MiB }];

  beforeAll(async () => {
    store = await newStore();
    a = await pushImage(fixture, `${ns}/app-a`, { layers: [...base, { seed: uniqueName('a'), size: 50 * KiB }], format: 'docker' });
    b = await pushImage(fixture, `${ns}/app-b`, { layers: [...base, { seed: uniqueName('b'), size: 2 * MiB }], format: 'oci' });
    // The same image in a second stream: a reference shared across streams.
    streams = [stream(ns, 'app-a', [[a, ['latest']]]), stream(ns, 'app-b', [[b, ['v1', 'latest']]]), stream('other', 'copy-of-a', [[a, ['x']]])];
  });

  test('stores each unique layer once: objects under blobs/ equal the unique layer digests', async () => {
    const result = await runBackup({ store, registry, backup: identity('first'), imageStreams: streams });
    const unique = new Map([...a.layers, ...b.layers].map((l) => [l.digest, l.size]));
    const objects = await listKeys(`${store.root}blobs/`);
    expect(objects.map((o) => o.key.split('/').pop()).sort()).toEqual([...unique.keys()].map((d) => d.slice(7)).sort());
    for (const o of objects) expect(o.size).toBe(unique.get(`sha256:${o.key.split('/').pop()}`));
    const uniqueBytes = [...unique.values()].reduce((n, s) => n + s, 0);
    expect(result.failures).toEqual([]);
    expect(result.progress).toEqual({
      images: { total: 3, done: 3, failed: 0 },
      blobs: { total: unique.size, done: unique.size, skipped: 0 },
      bytes: { total: uniqueBytes, done: uniqueBytes, skipped: 0 },
      referrers: 0,
    });
    expect(result.bundleKey).toBe(`${store.root}backups/first/bundle.tar`);
  });

  test('a second backup of the same images uploads zero layer bytes', async () => {
    const pool = async () => (await listPages(s3, env.S3_BUCKET, `${store.root}blobs/`).next()).value;
    const before = await pool();
    // One listing of the pool tells which layers it holds: no HEAD per layer.
    const asked: string[] = [];
    const { head, list } = store;
    store.head = (key, signal) => (asked.push(`HEAD ${key}`), head.call(store, key, signal));
    store.list = (prefix, signal) => (asked.push(`LIST ${prefix}`), list.call(store, prefix, signal));
    const result = await runBackup({ store, registry, backup: identity('second'), imageStreams: streams }).finally(() => {
      Object.assign(store, { head, list });
    });
    expect(asked.filter((a) => a.includes(`${store.root}blobs/`))).toEqual([`LIST ${store.root}blobs/sha256/`]);
    expect(result.progress.bytes.done).toBe(0);
    expect(result.progress.blobs.done).toBe(0);
    expect(result.progress.bytes.skipped).toBe(result.progress.bytes.total);
    // Nothing in the pool was written again (besides the pool, only the bundle and the run's lease are).
    expect(await pool()).toEqual(before);
  });

  test('a backup that adds an image uploads exactly its new layers', async () => {
    const fresh = [{ seed: uniqueName('c0'), size: 100 * KiB }, { seed: uniqueName('c1'), size: 1 * MiB }];
    const c = await pushImage(fixture, `${ns}/app-c`, { layers: [base[0]!, ...fresh] });
    const result = await runBackup({ store, registry, backup: identity('third'), imageStreams: [...streams, stream(ns, 'app-c', [[c, []]])] });
    expect(result.progress.blobs.done).toBe(2);
    expect(result.progress.bytes.done).toBe(fresh.reduce((n, l) => n + l.size, 0));
    expect((await listKeys(`${store.root}blobs/`)).length).toBe(new Set([...a.layers, ...b.layers, ...c.layers].map((l) => l.digest)).size);
  });

  test('the bundle lists each stream with its tags, and stores a shared manifest once', async () => {
    const bundle = await unpackBundle(await store.get(store.bundleKey('first')));
    expect(bundle.backup.formatVersion).toBe(1);
    expect(bundle.backup.backup).toEqual(identity('first'));
    expect(bundle.backup.imageStreams.map((s) => [s.namespace, s.name, s.references.map((r) => [r.digest, r.tags])])).toEqual([
      [ns, 'app-a', [[a.digest, ['latest']]]],
      [ns, 'app-b', [[b.digest, ['v1', 'latest']]]],
      ['other', 'copy-of-a', [[a.digest, ['x']]]],
    ]);
    // Two manifests and two configs; the third reference shares a's.
    expect([...bundle.blobs.digests()].sort()).toEqual([a.digest, a.config.digest, b.digest, b.config.digest].sort());
  });

  test('a bundle of another backup with the same name is never overwritten', async () => {
    await expect(runBackup({ store, registry, backup: identity('first', 'another-uid'), imageStreams: streams }))
      .rejects.toMatchObject({ reason: 'BundleOwnedByOther' });
    const again = await runBackup({ store, registry, backup: identity('first'), imageStreams: streams });
    expect(again.bundleKey).toBe(store.bundleKey('first'));
  });
});

describe('restore', () => {
  const ns = uniqueName('rt');
  let store: ObjectStore;

  beforeAll(async () => {
    store = await newStore();
  });

  test.each([
    ['OCI index', 'oci'],
    ['Docker manifest list', 'docker'],
  ] as const)('a multi-platform %s round-trips with every digest kept', async (_name, format) => {
    const shared = { seed: uniqueName('shared'), size: 64 * KiB };
    const idx = await pushIndex(fixture, `${ns}/multi-${format}`, {
      format,
      tags: ['latest'],
      platforms: [
        { platform: { os: 'linux', architecture: 'amd64' }, layers: [shared, { seed: uniqueName('amd64'), size: 200 * KiB }] },
        { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, layers: [shared, { seed: uniqueName('arm64'), size: 100 * KiB }] },
        { platform: { os: 'linux', architecture: 's390x' }, layers: [{ seed: uniqueName('s390x'), size: 10 * KiB }] },
      ],
    });
    const name = `multi-${format}-${uniqueName('b')}`;
    await runBackup({ store, registry, backup: identity(name), imageStreams: [stream(ns, `multi-${format}`, [[idx, ['latest', 'v2']]])] });

    const target = uniqueName('restored');
    const result = await runRestore({ store, registry, backupName: name, namespaceMapping: { [ns]: target } });
    expect(result.failures).toEqual([]);
    const repo = `${env.REGISTRY}/${target}/multi-${format}`;
    expect(await crane.digest(`${repo}:latest`)).toBe(idx.digest);
    expect(await crane.digest(`${repo}:v2`)).toBe(idx.digest);
    for (const img of idx.images) expect(await crane.digest(`${repo}@${img.digest}`)).toBe(img.digest);
    expect((await listTags(fixture, `${target}/multi-${format}`)).sort()).toEqual(['latest', 'v2']);
  });

  test('an image in two image streams is uploaded once and mounted into the second repository', async () => {
    const img = await pushImage(fixture, `${ns}/twice`, { layers: [{ seed: uniqueName('t0'), size: 1 * MiB }, { seed: uniqueName('t1'), size: 200 * KiB }] });
    await runBackup({ store, registry, backup: identity('twice'), imageStreams: [stream(ns, 'one', [[img, ['a']]]), stream(ns, 'two', [[img, ['b']]])] });
    const target = uniqueName('twice');
    const result = await runRestore({ store, registry, backupName: 'twice', namespaceMapping: { [ns]: target } });
    const blobBytes = img.config.size + img.layers.reduce((n, l) => n + l.size, 0);
    expect(result.progress.blobs).toEqual({ total: 6, done: 3, skipped: 3 });
    expect(result.progress.bytes).toEqual({ total: 2 * blobBytes, done: blobBytes, skipped: blobBytes });
    expect(await crane.digest(`${env.REGISTRY}/${target}/one:a`)).toBe(img.digest);
    expect(await crane.digest(`${env.REGISTRY}/${target}/two:b`)).toBe(img.digest);
  });

  test.each([
    ['a first run pushes the small blobs of an image the target lacks without asking for them first', true, 0],
    ['a later run asks for each blob before it pushes it', false, 2],
  ])('%s', async (_name, firstRun, heads) => {
    const img = await pushImage(fixture, `${ns}/first-run`, { layers: [{ seed: uniqueName('first-run'), size: 200 * KiB }] });
    const name = uniqueName('first-run');
    await runBackup({ store, registry, backup: identity(name), imageStreams: [stream(ns, 'first-run', [[img, ['t']]])] });
    const asked: string[] = [];
    const counting = createRegistryClient({
      host: env.REGISTRY, caFile: env.REGISTRY_CA_FILE, username: env.REGISTRY_USER, password: env.REGISTRY_PASSWORD,
      onRequest: (method, url) => asked.push(`${method} ${url.pathname}`),
    });
    const target = uniqueName('first-run');
    try {
      const result = await runRestore({ store, registry: counting, backupName: name, namespaceMapping: { [ns]: target }, firstRun });
      expect(result.failures).toEqual([]);
      expect(result.progress.blobs).toEqual({ total: 2, done: 2, skipped: 0 });
    } finally {
      counting.close();
    }
    expect(asked.filter((a) => a.startsWith('HEAD') && a.includes('/blobs/'))).toHaveLength(heads);
    expect(await crane.digest(`${env.REGISTRY}/${target}/first-run:t`)).toBe(img.digest);
  });

  test('a restarted restore pushes nothing again', async () => {
    const img = await pushImage(fixture, `${ns}/again`, { layers: [{ seed: uniqueName('again'), size: 300 * KiB }] });
    await runBackup({ store, registry, backup: identity('again'), imageStreams: [stream(ns, 'again', [[img, ['t']]])] });
    const target = uniqueName('again');
    const first = await runRestore({ store, registry, backupName: 'again', namespaceMapping: { [ns]: target } });
    const second = await runRestore({ store, registry, backupName: 'again', namespaceMapping: { [ns]: target } });
    expect(first.progress.bytes.done).toBe(300 * KiB + img.config.size);
    expect(second.progress.bytes.done).toBe(0);
    expect(second.progress.blobs.skipped).toBe(second.progress.blobs.total);
    expect(await crane.digest(`${env.REGISTRY}/${target}/again:t`)).toBe(img.digest);
  });

  test('a restarted restore of an index asks for the index and its children at once', async () => {
    const idx = await pushIndex(fixture, `${ns}/asked`, {
      format: 'oci', tags: ['t'],
      platforms: [
        { platform: { os: 'linux', architecture: 'amd64' }, layers: [{ seed: uniqueName('ask-a'), size: 10 * KiB }] },
        { platform: { os: 'linux', architecture: 'arm64' }, layers: [{ seed: uniqueName('ask-b'), size: 10 * KiB }] },
      ],
    });
    await runBackup({ store, registry, backup: identity('asked'), imageStreams: [stream(ns, 'asked', [[idx, ['t']]])] });
    const target = uniqueName('asked');
    await runRestore({ store, registry, backupName: 'asked', namespaceMapping: { [ns]: target } });
    // The registry itself, counting the manifest reads in flight together.
    let inFlight = 0;
    let most = 0;
    const counting = Object.create(registry) as RegistryClient;
    counting.getManifest = async (repo: string, digest: string) => {
      most = Math.max(most, ++inFlight);
      try {
        return await registry.getManifest(repo, digest);
      } finally {
        inFlight--;
      }
    };
    const again = await runRestore({ store, registry: counting, backupName: 'asked', namespaceMapping: { [ns]: target } });
    expect(again.progress.bytes.done).toBe(0);
    expect(most).toBe(3);
  });

  test('a backup that is not in the store makes the restore wait', async () => {
    const err = await runRestore({ store, registry, backupName: 'never-written' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'BundleNotFound' });
    expect(err).toBeInstanceOf(WaitingError);
  });

  test('a blob corrupted in the store fails that image with a digest error and pushes nothing of it', async () => {
    // A store of its own: corrupting a shared pool would break the other tests.
    const own = await newStore();
    const bad = await pushImage(fixture, `${ns}/bad`, { layers: [{ seed: uniqueName('ok'), size: 40 * KiB }, { seed: uniqueName('rot'), size: 3 * MiB }] });
    const good = await pushImage(fixture, `${ns}/good`, { layers: [{ seed: uniqueName('fine'), size: 40 * KiB }] });
    await runBackup({ store: own, registry, backup: identity('rot'), imageStreams: [stream(ns, 'bad', [[bad, ['latest']]]), stream(ns, 'good', [[good, ['latest']]])] });
    const rotten = bad.layers[1]!;
    // Same size, other bytes: only the digest can tell.
    await s3.send(new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: own.blobKey(rotten.digest), Body: Buffer.alloc(rotten.size, 7) }));

    const target = uniqueName('rot');
    const result = await runRestore({ store: own, registry, backupName: 'rot', namespaceMapping: { [ns]: target } });
    expect(result.failures).toEqual<ImageFailure[]>([{
      imageStream: `${ns}/bad`,
      reference: bad.digest,
      message: expect.stringMatching(new RegExp(`digest mismatch: expected ${rotten.digest}`)),
    }]);
    expect(result.progress.images).toEqual({ total: 2, done: 1, failed: 1 });
    expect(await listTags(fixture, `${target}/bad`)).toEqual([]);
    expect((await request(fixture, 'HEAD', `/v2/${target}/bad/manifests/${bad.digest}`)).status).toBe(404);
    expect((await request(fixture, 'HEAD', `/v2/${target}/bad/blobs/${rotten.digest}`)).status).toBe(404);
    expect(await listTags(fixture, `${target}/good`)).toEqual(['latest']);
  });
});

describe('backup with images that cannot be read', () => {
  test('records each failing reference and backs up the others', async () => {
    const store = await newStore();
    const ns = uniqueName('partial');
    const img = await pushImage(fixture, `${ns}/ok`, { layers: [{ seed: uniqueName('p'), size: 10 * KiB }] });
    const missing = `${env.REGISTRY}/${ns}/ok@sha256:${'0'.repeat(64)}`;
    const foreign = `quay.io/${ns}/ok@${img.digest}`;
    const result = await runBackup({
      store, registry, backup: identity('partial'),
      imageStreams: [{ namespace: ns, name: 'ok', references: [{ reference: ref(img), tags: ['a'] }, { reference: missing, tags: ['b'] }, { reference: foreign, tags: [] }] }],
    });
    expect(result.failures.map((f) => f.reference).sort()).toEqual([foreign, missing].sort());
    expect(result.failures.find((f) => f.reference === foreign)?.message).toMatch(/not on the internal registry/);
    expect(result.progress.images).toEqual({ total: 3, done: 1, failed: 2 });
    expect(result.backup.imageStreams[0]!.references.map((r) => r.digest)).toEqual([img.digest]);
  });

  test('throws when nothing at all could be backed up, and writes no bundle', async () => {
    const store = await newStore();
    const missing = `${env.REGISTRY}/${uniqueName('none')}/x@sha256:${'1'.repeat(64)}`;
    await expect(runBackup({ store, registry, backup: identity('nothing'), imageStreams: [{ namespace: 'n', name: 'x', references: [{ reference: missing, tags: [] }] }] }))
      .rejects.toBeInstanceOf(StalledError);
    expect(await store.has(store.bundleKey('nothing'))).toBe(false);
  });
});

describe('a committed backup never loses an image its spec still lists', () => {
  test('an image pruned from the registry is carried forward from the committed bundle on a re-run', async () => {
    const store = await newStore();
    const ns = uniqueName('carry');
    const kept = await pushImage(fixture, `${ns}/app`, { layers: [{ seed: uniqueName('kept'), size: 64 * KiB }] });
    const pruned = await pushImage(fixture, `${ns}/app`, { layers: [{ seed: uniqueName('pruned'), size: 128 * KiB }] });
    const first = await runBackup({ store, registry, backup: identity('carried'), imageStreams: [stream(ns, 'app', [[kept, ['v2']], [pruned, ['v1']]])] });
    expect(first.failures).toEqual([]);
    // The image is deleted from the registry (an image pruner), then the backup runs again with a new tag.
    expect((await request(fixture, 'DELETE', `/v2/${ns}/app/manifests/${pruned.digest}`)).status).toBe(202);
    const again = await runBackup({ store, registry, backup: identity('carried'), imageStreams: [stream(ns, 'app', [[kept, ['v2']], [pruned, ['v1', 'old']]])] });
    expect(again.failures).toEqual([]);
    expect(again.carried).toEqual([expect.objectContaining({ reference: ref(pruned), message: expect.stringMatching(/MANIFEST_UNKNOWN|not found|404/i) })]);
    expect(again.progress.images).toEqual({ total: 2, done: 2, failed: 0 });
    const bundle = await unpackBundle(await store.get(again.bundleKey));
    expect(bundle.backup.imageStreams[0]!.references.map((r) => [r.digest, r.tags])).toEqual([[kept.digest, ['v2']], [pruned.digest, ['v1', 'old']]]);
    // And it restores, byte for byte.
    const target = uniqueName('carried');
    const restored = await runRestore({ store, registry, backupName: 'carried', namespaceMapping: { [ns]: target } });
    expect(restored.failures).toEqual([]);
    expect(await crane.digest(`${env.REGISTRY}/${target}/app:old`)).toBe(pruned.digest);
  });

  test('another backup\'s bundle lends nothing: a new backup with a pruned image reports it failed', async () => {
    const store = await newStore();
    const ns = uniqueName('nolend');
    const img = await pushImage(fixture, `${ns}/app`, { layers: [{ seed: uniqueName('x'), size: 10 * KiB }] });
    const other = await pushImage(fixture, `${ns}/app`, { layers: [{ seed: uniqueName('y'), size: 10 * KiB }] });
    await runBackup({ store, registry, backup: identity('lender'), imageStreams: [stream(ns, 'app', [[img, ['a']], [other, []]])] });
    expect((await request(fixture, 'DELETE', `/v2/${ns}/app/manifests/${img.digest}`)).status).toBe(202);
    const result = await runBackup({ store, registry, backup: identity('borrower'), imageStreams: [stream(ns, 'app', [[img, ['a']], [other, []]])] });
    expect(result.carried).toEqual([]);
    expect(result.failures.map((f) => f.reference)).toEqual([ref(img)]);
  });
});

describe('tags never move to an older image', () => {
  test('a tag whose newest image fails to restore stays unset and is reported, while the older image is restored', async () => {
    const own = await newStore();
    const ns = uniqueName('tags');
    const newest = await pushImage(fixture, `${ns}/app`, { layers: [{ seed: uniqueName('new'), size: 2 * MiB }] });
    const older = await pushImage(fixture, `${ns}/app`, { layers: [{ seed: uniqueName('old'), size: 20 * KiB }] });
    // The image stream lists its newest first; both carry 'latest' (the older from before it moved).
    await runBackup({ store: own, registry, backup: identity('tags'), imageStreams: [stream(ns, 'app', [[newest, ['latest', 'v2']], [older, ['latest', 'v1']]])] });
    const layer = newest.layers[0]!;
    await s3.send(new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: own.blobKey(layer.digest), Body: Buffer.alloc(layer.size, 1) }));
    const target = uniqueName('tags');
    const result = await runRestore({ store: own, registry, backupName: 'tags', namespaceMapping: { [ns]: target } });
    expect(result.failures.map((f) => f.message)).toEqual([
      expect.stringMatching(/digest mismatch/),
      `tag ${target}/app:latest was not set: its newest image ${newest.digest} was not restored, and the tag is not moved to the older ${older.digest}`,
    ]);
    expect((await listTags(fixture, `${target}/app`)).sort()).toEqual(['v1']);
  });
});

describe('runs that fail for a reason that may pass', () => {
  test('a registry that does not answer makes the backup transient, and the pool keeps what was stored', async () => {
    const store = await newStore();
    const ns = uniqueName('blip');
    const ok = await pushImage(fixture, `${ns}/ok`, { layers: [{ seed: uniqueName('ok'), size: 30 * KiB }] });
    // A registry client whose reads of one image fail as an outage would.
    const flaky = Object.create(registry, {
      getManifest: { value: async (repo: string, digest: string) => {
        if (repo === `${ns}/down`) throw new TransientError('RegistryUnavailable', 'registry answered HTTP 503');
        return registry.getManifest(repo, digest);
      } },
    }) as typeof registry;
    const down = `${env.REGISTRY}/${ns}/down@sha256:${'2'.repeat(64)}`;
    const input = { store, registry: flaky, backup: identity('blip'), imageStreams: [stream(ns, 'ok', [[ok, ['a']]]), { namespace: ns, name: 'down', references: [{ reference: down, tags: [] }] }] };
    await expect(runBackup(input)).rejects.toBeInstanceOf(TransientImagesError);
    expect(await store.has(store.bundleKey('blip'))).toBe(false);
    expect(await store.has(store.blobKey(ok.layers[0]!.digest))).toBe(true);
    // The last attempt before the deadline commits what it has.
    const last = await runBackup({ ...input, finalAttempt: true });
    expect(last.failures.map((f) => f.reference)).toEqual([down]);
    expect(await store.has(store.bundleKey('blip'))).toBe(true);
  });
});
