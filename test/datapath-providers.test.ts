// The data path's guarantees, one table over the three providers (MinIO, Azurite,
// fake-gcs-server): each unique layer stored once, a corrupt pool blob caught at restore, a
// backup killed halfway (SIGKILL, no cleanup) finished by the next run without uploading again
// what is whole, a bundle never overwritten by another backup. Checked with clients we did not
// write (crane, a raw client per provider).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { ImageFailure } from '../pkg/contracts.js';
import { runBackup, type ImageStreamInput } from '../pkg/backup/index.js';
import { runRestore } from '../pkg/restore/index.js';
import type { RegistryClient } from '../pkg/registry/index.js';
import { openStore, type ObjectStore } from '../pkg/store/index.js';
import { fixtureRegistryFromEnv, listTags, pushImage, type PushedImage } from './fixture/images.js';
import { PROVIDERS, providerFixture, type ProviderName, type RawBucket } from './fixture/providers.js';
import type { BackupChildInput } from './fixture/backupChild.js';
import { Crane, stackRegistry } from './datapath-helpers.js';
import { loadProviderStackEnv, repoRoot, uniqueName } from './stackEnv.js';

const env = loadProviderStackEnv();
const fixture = fixtureRegistryFromEnv(env);
const KiB = 1024;
const MiB = 1024 * KiB;

let registry: RegistryClient;
let crane: Crane;
beforeAll(async () => {
  registry = stackRegistry(env);
  crane = await Crane.login(env);
});
afterAll(async () => {
  registry.close();
  await crane.close();
});

const ref = (img: { repo: string; digest: string }) => `${env.REGISTRY}/${img.repo}@${img.digest}`;
const stream = (namespace: string, name: string, refs: Array<[PushedImage, string[]]>): ImageStreamInput =>
  ({ namespace, name, references: refs.map(([img, tags]) => ({ reference: ref(img), tags })) });
const identity = (name: string, uid = `uid-${name}`) => ({ namespace: 'openshift-adp', name, uid });

describe.each(PROVIDERS)('provider %s', (name: ProviderName) => {
  const p = providerFixture(env, name);
  const prefix = uniqueName(`dp-${name}`);
  let raw: RawBucket;
  let store: ObjectStore;
  beforeAll(async () => {
    raw = p.raw();
    store = await openStore({ location: p.location(prefix), credentials: p.credentials(), env: {} });
  });
  afterAll(async () => {
    await raw.deletePrefix(`${prefix}/`);
    await store.close();
    raw.close();
  });

  const poolKeys = async () => (await raw.list(`${store.root}blobs/`)).map((o) => ({ digest: `sha256:${o.key.split('/').pop()}`, size: o.size }));

  test('dedup: each unique layer is stored once, and a second backup uploads zero layer bytes', async () => {
    const ns = uniqueName('dedup');
    const base = [{ seed: uniqueName('base0'), size: 300 * KiB }, { seed: uniqueName('base1'), size: 12 * MiB }];
    const a = await pushImage(fixture, `${ns}/app-a`, { layers: [...base, { seed: uniqueName('a'), size: 50 * KiB }], format: 'docker' });
    const b = await pushImage(fixture, `${ns}/app-b`, { layers: [...base, { seed: uniqueName('b'), size: 2 * MiB }], format: 'oci' });
    const streams = [stream(ns, 'app-a', [[a, ['latest']]]), stream(ns, 'app-b', [[b, ['v1']]]), stream('other', 'copy-of-a', [[a, ['x']]])];
    const first = await runBackup({ store, registry, backup: identity('dedup1'), imageStreams: streams });
    const unique = new Map([...a.layers, ...b.layers].map((l) => [l.digest, l.size]));
    const uniqueBytes = [...unique.values()].reduce((n, s) => n + s, 0);
    expect(first.failures).toEqual([]);
    expect(first.progress.bytes).toEqual({ total: uniqueBytes, done: uniqueBytes, skipped: 0 });
    expect((await poolKeys()).filter((o) => unique.has(o.digest)).sort((x, y) => x.digest.localeCompare(y.digest)))
      .toEqual([...unique].map(([digest, size]) => ({ digest, size })).sort((x, y) => x.digest.localeCompare(y.digest)));

    // The keys the second backup writes (its lease and its bundle; nothing in the pool).
    const puts: string[] = [];
    const watched = new Proxy(store, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (prop === 'put') puts.push(args[0] as string);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const second = await runBackup({ store: watched, registry, backup: identity('dedup2'), imageStreams: streams });
    expect(second.progress.bytes).toEqual({ total: uniqueBytes, done: 0, skipped: uniqueBytes });
    expect(puts.filter((k) => k.startsWith(`${store.root}blobs/`))).toEqual([]);
    expect(puts).toContain(second.bundleKey);

    // And it restores, byte for byte.
    const target = uniqueName('dedup-restored');
    const restored = await runRestore({ store, registry, backupName: 'dedup2', namespaceMapping: { [ns]: target } });
    expect(restored.failures).toEqual([]);
    expect(await crane.digest(`${env.REGISTRY}/${target}/app-a:latest`)).toBe(a.digest);
    expect(await crane.digest(`${env.REGISTRY}/${target}/app-b:v1`)).toBe(b.digest);
  });

  test('a blob corrupted in the pool fails that image with a digest error at restore and pushes nothing of it', async () => {
    const ns = uniqueName('rot');
    const bad = await pushImage(fixture, `${ns}/bad`, { layers: [{ seed: uniqueName('ok'), size: 40 * KiB }, { seed: uniqueName('rot'), size: 3 * MiB }] });
    const good = await pushImage(fixture, `${ns}/good`, { layers: [{ seed: uniqueName('fine'), size: 40 * KiB }] });
    await runBackup({ store, registry, backup: identity('rot'), imageStreams: [stream(ns, 'bad', [[bad, ['latest']]]), stream(ns, 'good', [[good, ['latest']]])] });
    const rotten = bad.layers[1]!;
    // Same size, other bytes: only the digest can tell.
    await raw.put(store.blobKey(rotten.digest), Buffer.alloc(rotten.size, 7));
    const target = uniqueName('rot');
    const result = await runRestore({ store, registry, backupName: 'rot', namespaceMapping: { [ns]: target } });
    expect(result.failures).toEqual<ImageFailure[]>([{
      imageStream: `${ns}/bad`, reference: bad.digest, message: expect.stringMatching(new RegExp(`digest mismatch: expected ${rotten.digest}`)),
    }]);
    expect(await listTags(fixture, `${target}/bad`)).toEqual([]);
    expect(await listTags(fixture, `${target}/good`)).toEqual(['latest']);
  });

  test('a bundle of another backup with the same name is never overwritten; its own backup replaces it', async () => {
    const ns = uniqueName('own');
    const img = await pushImage(fixture, `${ns}/app`, { layers: [{ seed: uniqueName('own'), size: 20 * KiB }] });
    const streams = [stream(ns, 'app', [[img, ['latest']]])];
    await runBackup({ store, registry, backup: identity('owned'), imageStreams: streams });
    const before = await store.head(store.bundleKey('owned'));
    await expect(runBackup({ store, registry, backup: identity('owned', 'another-uid'), imageStreams: streams })).rejects.toMatchObject({ reason: 'BundleOwnedByOther' });
    expect((await store.head(store.bundleKey('owned')))?.etag).toBe(before?.etag);
    await runBackup({ store, registry, backup: identity('owned'), imageStreams: [stream(ns, 'app', [[img, ['latest', 'again']]])] });
    expect((await store.head(store.bundleKey('owned')))?.etag).not.toBe(before?.etag);
  });

  test('a backup killed halfway (SIGKILL) leaves only whole blobs, and the next run uploads only the rest', async () => {
    const ns = uniqueName('kill');
    // Layers over one part: S3 multipart, Azure staged blocks, GCS resumable chunks.
    const layers = [0, 1, 2, 3].map((i) => ({ seed: uniqueName(`k${i}`), size: 12 * MiB + i }));
    const img = await pushImage(fixture, `${ns}/big`, { layers });
    const streams = [stream(ns, 'big', [[img, ['latest']]])];
    const total = img.layers.reduce((n, l) => n + l.size, 0);
    const input: BackupChildInput = { provider: name, prefix, backup: identity('killed'), imageStreams: streams, freezeAfterBlobs: 2 };
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixture/backupChild.ts'], {
      cwd: repoRoot, env: { ...process.env, BACKUP_CHILD_INPUT: JSON.stringify(input) }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line === 'done') break;
      // Two blobs whole, the third on its way (the child stopped itself there).
      if (line === 'frozen') {
        child.kill('SIGKILL');
        break;
      }
    }
    expect(await exited).toBe('SIGKILL');

    // Whatever the pool holds is whole and under its true digest; no bundle.
    const sizes = new Map(img.layers.map((l) => [l.digest, l.size]));
    const stored = (await poolKeys()).filter((o) => sizes.has(o.digest));
    expect(stored.length).toBe(2);
    for (const o of stored) {
      expect(o.size).toBe(sizes.get(o.digest));
      const hash = createHash('sha256');
      for await (const c of await store.get(store.blobKey(o.digest))) hash.update(c as Buffer);
      expect(`sha256:${hash.digest('hex')}`).toBe(o.digest);
    }
    expect(await store.has(store.bundleKey('killed'))).toBe(false);

    const storedBytes = stored.reduce((n, o) => n + o.size, 0);
    const again = await runBackup({ store, registry, backup: identity('killed'), imageStreams: streams });
    expect(again.progress.bytes).toEqual({ total, done: total - storedBytes, skipped: storedBytes });
    const target = uniqueName('kill-restored');
    expect((await runRestore({ store, registry, backupName: 'killed', namespaceMapping: { [ns]: target } })).failures).toEqual([]);
    expect(await crane.digest(`${env.REGISTRY}/${target}/big:latest`)).toBe(img.digest);
  }, 300_000);
});
