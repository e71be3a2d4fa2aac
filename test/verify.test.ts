// Verifying a stored backup without restoring it, against the stack's MinIO and registry: an
// intact backup verifies clean; a layer overwritten with other bytes, deleted or truncated behind
// the product's back is named with what is wrong and who uses it; a selector limits what is
// read; the verification's lease is there while it reads and gone after; a bundle entry that
// does not hash right is reported; a 256 MiB layer is read with flat memory.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { runBackup, type ImageStreamInput } from '../pkg/backup/index.js';
import type { Progress } from '../pkg/contracts.js';
import { leasesPrefix, type LeaseDoc } from '../pkg/gc/lease.js';
import { blobsPrefix, type ObjectStore } from '../pkg/store/index.js';
import { verifyBackup } from '../pkg/verify/index.js';
import { dataPathForFile } from './dataPathForFile.js';
import { fixtureRegistryFromEnv, pushImage, sha256, type PushedImage } from './fixture/images.js';
import { loadStackEnv, repoRoot, uniqueName } from './stackEnv.js';

const env = loadStackEnv();
const fixture = fixtureRegistryFromEnv(env);
const KiB = 1024;
const MiB = 1024 * KiB;

const { registry, s3, newStore } = dataPathForFile(env, 'verify');

function stream(namespace: string, name: string, images: PushedImage[]): ImageStreamInput {
  return { namespace, name, references: images.map((img) => ({ reference: `${env.REGISTRY}/${img.repo}@${img.digest}`, tags: ['latest'] })) };
}

async function leasesIn(store: ObjectStore): Promise<LeaseDoc[]> {
  const docs: LeaseDoc[] = [];
  for await (const o of store.list(leasesPrefix(store.root))) docs.push(JSON.parse((await store.getRange(o.key, 0, o.size)).toString('utf8')) as LeaseDoc);
  return docs;
}

/** The store, with every read of a pool blob held until `open` resolves (and `reading` told first). */
function heldAtFirstRead(store: ObjectStore, open: Promise<void>, reading: () => void): ObjectStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'get') {
        return async (key: string, signal?: AbortSignal, ifMatch?: string) => {
          if (key.startsWith(blobsPrefix(target.root))) {
            reading();
            await open;
          }
          return target.get(key, signal, ifMatch);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const byDigest = (a: { digest: string }, b: { digest: string }) => a.digest.localeCompare(b.digest);

describe('a backup of two image streams sharing a base layer', () => {
  const ns = uniqueName('vfy');
  let store: ObjectStore;
  let a: PushedImage;
  let b: PushedImage;

  beforeAll(async () => {
    store = await newStore();
    const base = { seed: uniqueName('base'), size: 96 * KiB };
    a = await pushImage(fixture, `${ns}/a`, {
      layers: [base, { seed: uniqueName('a1'), size: 40 * KiB }, { seed: uniqueName('a2'), size: 50 * KiB }, { seed: uniqueName('a3'), size: 60 * KiB }],
    });
    b = await pushImage(fixture, `${ns}/b`, { layers: [base, { seed: uniqueName('b1'), size: 30 * KiB }], format: 'docker' });
    await runBackup({ store, registry, backup: { namespace: 'adp', name: 'nightly', uid: 'u1' }, imageStreams: [stream(ns, 'a', [a]), stream(ns, 'b', [b])] });
  });

  test('verifies clean while intact: every layer read once and hashed, every manifest and config checked', async () => {
    const reported: Progress[] = [];
    const result = await verifyBackup(store, 'nightly', { onProgress: (p) => reported.push(p) });
    const unique = [...a.layers, b.layers[1]!];
    const bytes = unique.reduce((n, l) => n + l.size, 0);
    expect(result).toMatchObject({
      intact: true, problems: [], unmatched: [], backup: { namespace: 'adp', name: 'nightly', uid: 'u1' },
      // Two manifests and two configs.
      metadataChecked: 4,
      progress: { images: { total: 2, done: 2, failed: 0 }, blobs: { total: 5, done: 5, skipped: 0 }, bytes: { total: bytes, done: bytes, skipped: 0 } },
    });
    expect(result.bundleProblem).toBeUndefined();
    // The callback's last word is the result's.
    expect(reported.at(-1)).toEqual(result.progress);
  });

  test('names a layer overwritten with other bytes by the digest they hash to, a deleted one as missing, a truncated one by its size', async () => {
    const [base, a1, a2, a3] = a.layers as [PushedImage['layers'][0], PushedImage['layers'][0], PushedImage['layers'][0], PushedImage['layers'][0]];
    const other = randomBytes(base.size);
    await store.put(store.blobKey(base.digest), other);
    await store.delete(store.blobKey(a1.digest));
    const half = (await store.getRange(store.blobKey(a2.digest), 0, a2.size)).subarray(0, a2.size / 2);
    await store.put(store.blobKey(a2.digest), half);

    const result = await verifyBackup(store, 'nightly');
    expect(result.intact).toBe(false);
    expect(result.problems.sort(byDigest)).toEqual([
      { digest: base.digest, location: 'pool', problem: 'wrongDigest', expectedSize: base.size, actualDigest: sha256(other), imageStreams: [`${ns}/a`, `${ns}/b`], message: expect.any(String) },
      { digest: a1.digest, location: 'pool', problem: 'missing', expectedSize: a1.size, imageStreams: [`${ns}/a`], message: expect.any(String) },
      { digest: a2.digest, location: 'pool', problem: 'wrongSize', expectedSize: a2.size, actualSize: half.length, actualDigest: sha256(half), imageStreams: [`${ns}/a`], message: expect.any(String) },
    ].sort(byDigest));
    const said = new Map(result.problems.map((p) => [p.digest, p.message]));
    expect(said.get(base.digest)).toBe(`layer ${base.digest} in the pool (${store.blobKey(base.digest)}) hashes to ${sha256(other)}; used by ${ns}/a, ${ns}/b`);
    expect(said.get(a1.digest)).toBe(`layer ${a1.digest} is missing from the pool (${store.blobKey(a1.digest)}); used by ${ns}/a`);
    expect(said.get(a2.digest)).toMatch(new RegExp(`is ${half.length} bytes, not ${a2.size}, and hashes to ${sha256(half)}; used by ${ns}/a$`));
    // Every layer was still looked at; the intact one (a3, b's own) is not named.
    expect(result.progress.blobs).toEqual({ total: 5, done: 5, skipped: 0 });
    expect(result.problems.map((p) => p.digest)).not.toContain(a3.digest);
    expect(result.progress.images).toEqual({ total: 2, done: 0, failed: 2 });
  });

  test('reads only what a selector names, and says what names nothing', async () => {
    const result = await verifyBackup(store, 'nightly', { imageStreams: [{ namespace: ns, name: 'b' }, { namespace: ns, name: 'gone' }] });
    // b's two layers: the shared base (overwritten above) and its own.
    expect(result.progress.blobs).toEqual({ total: 2, done: 2, skipped: 0 });
    expect(result.problems.map((p) => [p.digest, p.imageStreams])).toEqual([[a.layers[0]!.digest, [`${ns}/b`]]]);
    expect(result.unmatched).toEqual([{ imageStream: `${ns}/gone`, reference: '', message: `image stream ${ns}/gone is not in backup "nightly"` }]);
    expect(result.progress.images).toEqual({ total: 1, done: 0, failed: 1 });
  });
});

describe('the verification\'s lease', () => {
  let store: ObjectStore;
  let img: PushedImage;

  beforeAll(async () => {
    store = await newStore();
    const ns = uniqueName('vlease');
    img = await pushImage(fixture, `${ns}/app`, { layers: [{ seed: uniqueName('l1'), size: 20 * KiB }, { seed: uniqueName('l2'), size: 30 * KiB }] });
    await runBackup({ store, registry, backup: { namespace: 'adp', name: 'leased', uid: 'u2' }, imageStreams: [stream(ns, 'app', [img])] });
  });

  test.each([
    ['a ReadWrite location: a lease of kind verify names every layer while they are read, and is gone after', false],
    ['a ReadOnly location: nothing is written, not even a lease', true],
  ])('%s', async (_what, readOnly) => {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    let reading!: () => void;
    const firstRead = new Promise<void>((r) => (reading = r));
    const verifying = verifyBackup(heldAtFirstRead(store, opened, reading), 'leased', { readOnly });
    await firstRead;
    const during = await leasesIn(store);
    open();
    const result = await verifying;
    expect(result.intact).toBe(true);
    if (readOnly) {
      expect(during).toEqual([]);
    } else {
      expect(during).toEqual([{ id: expect.any(String), kind: 'verify', owner: 'verification of backup adp/leased', blobs: expect.any(Array) }]);
      expect([...during[0]!.blobs].sort()).toEqual(img.layers.map((l) => l.digest).sort());
    }
    expect(await leasesIn(store)).toEqual([]);
  });
});

describe('a bundle whose own entry does not hash to its digest', () => {
  test('is reported as a bundle problem, with whose backup it is; no layer is read', async () => {
    const store = await newStore();
    const ns = uniqueName('vbundle');
    const img = await pushImage(fixture, `${ns}/app`, { layers: [{ seed: uniqueName('l'), size: 256 * KiB }] });
    await runBackup({ store, registry, backup: { namespace: 'adp', name: 'broken', uid: 'u3' }, imageStreams: [stream(ns, 'app', [img])] });
    const key = store.bundleKey('broken');
    const info = await store.head(key);
    const tarBytes = await store.getRange(key, 0, info!.size);
    // The config's entry: its data follows its 512-byte header; one byte of it changes.
    const name = Buffer.from(`blobs/sha256/${img.config.digest.slice('sha256:'.length)}`);
    const at = tarBytes.indexOf(name) + 512;
    tarBytes[at] = tarBytes[at]! ^ 0xff;
    await store.put(key, tarBytes);

    const before = store.stats.bytesRead;
    const result = await verifyBackup(store, 'broken');
    expect(result).toMatchObject({ intact: false, problems: [], backup: { namespace: 'adp', name: 'broken', uid: 'u3' } });
    expect(result.bundleProblem).toMatch(new RegExp(`entry ${name.toString()} has digest sha256:[a-f0-9]{64}: the bundle is corrupt`));
    // The bundle twice (whole, then up to backup.json for whose it is); no layer.
    expect(store.stats.bytesRead - before).toBeLessThanOrEqual(2 * info!.size);
  });
});

const BIG = 256 * MiB;

describe('a 256 MiB layer', () => {
  /** Verifies in a fresh process (test/verifyRss.ts): its peak RSS is the verification's alone. */
  async function verifyAlone(prefix: string, backupName: string): Promise<{ intact: boolean; bytes: number; maxRss: number }> {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/verifyRss.ts', prefix, backupName], {
      cwd: repoRoot, env: { ...process.env, STACK_ENV: process.env.STACK_ENV ?? '' },
    });
    return JSON.parse(stdout) as { intact: boolean; bytes: number; maxRss: number };
  }

  test('is verified with the peak memory of a 1 MiB one', async () => {
    const prefix = `${uniqueName('vbig')}/velero`;
    const store = await newStore(prefix);
    const ns = uniqueName('vbig');
    for (const [name, size] of [['small', MiB], ['big', BIG]] as const) {
      const img = await pushImage(fixture, `${ns}/${name}`, { layers: [{ seed: uniqueName(name), size }] });
      await runBackup({ store, registry, backup: { namespace: 'adp', name, uid: name }, imageStreams: [stream(ns, name, [img])] });
    }
    const small = await verifyAlone(prefix, 'small');
    const started = Date.now();
    const big = await verifyAlone(prefix, 'big');
    const seconds = (Date.now() - started) / 1000;
    console.log(`peak RSS of a verification: ${(small.maxRss / MiB).toFixed(1)} MiB for a 1 MiB layer, ${(big.maxRss / MiB).toFixed(1)} MiB `
      + `for a ${BIG / MiB} MiB layer (${((big.maxRss - small.maxRss) / MiB).toFixed(1)} MiB more; the process took ${seconds.toFixed(1)} s)`);
    expect(small).toMatchObject({ intact: true, bytes: MiB });
    expect(big).toMatchObject({ intact: true, bytes: BIG });
    // Holding the layer would take all of it more; streaming takes chunks in flight and the heap's
    // slack, which on a loaded machine was seen up to 81 MiB: half the layer tells the two apart.
    expect(big.maxRss - small.maxRss).toBeLessThan(BIG / 2);
  }, 300_000);
});
