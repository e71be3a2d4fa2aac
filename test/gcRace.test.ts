// The collector's one race: a backup finds a blob in the pool and skips it just as the collector,
// which looked at the leases before the backup announced it, deletes it. First the two orders
// that race forced step by step, then many backups with the collector run in the middle of each.
// Every committed backup must restore with every digest intact.
import { runBackup, type BackupResult, type ImageStreamInput } from '../pkg/backup/index.js';
import { TransientError } from '../pkg/errors.js';
import { collectGarbage, storeNow, type CollectReport } from '../pkg/gc/collect.js';
import { runRestore } from '../pkg/restore/index.js';
import type { ObjectStore } from '../pkg/store/index.js';
import { blobsPrefix } from '../pkg/store/keys.js';
import { dataPathForFile } from './dataPathForFile.js';
import { blobDigest, fixtureRegistryFromEnv, pushImage, type PushedImage } from './fixture/images.js';
import { waitFor } from './fixture/wait.js';
import { loadStackEnv, uniqueName } from './stackEnv.js';

const env = loadStackEnv();
const fixture = fixtureRegistryFromEnv(env);
const GRACE_MS = 300;
const FENCE_MS = 3_000;
const KiB = 1024;

const { registry, s3, newStore } = dataPathForFile(env, 'gcrace');

const collect = (store: ObjectStore) => collectGarbage(store, { graceMs: GRACE_MS, holder: 'test', fenceMs: FENCE_MS });

/** The store with a hook before some of its calls (the real call follows it). */
type Hook = (key: string) => Promise<void>;
/** `listed` runs once a listing has been read to its end (a backup has seen the pool). */
function hooked(store: ObjectStore, hooks: { head?: Hook; delete?: Hook; put?: Hook; list?: Hook; listed?: Hook }): ObjectStore {
  return new Proxy(store, {
    get(target, prop) {
      const hook = hooks[prop as keyof typeof hooks];
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'list' && (hook || hooks.listed)) {
        return async function* (key: string, ...rest: unknown[]) {
          await hook?.(key);
          yield* (value as (...a: unknown[]) => AsyncIterable<unknown>).call(target, key, ...rest);
          await hooks.listed?.(key);
        };
      }
      if (!hook) return value.bind(target);
      return async (key: string, ...rest: unknown[]) => {
        await hook(key);
        return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
      };
    },
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

const isBlob = (store: ObjectStore, key: string) => key.startsWith(`${store.root}blobs/`);

/** Until the collector has deleted every blob of the pool (all of them are garbage there). */
async function waitForBlobsDeleted(store: ObjectStore): Promise<void> {
  const count = async () => {
    let n = 0;
    for await (const _ of store.list(blobsPrefix(store.root))) n++;
    return n;
  };
  await waitFor('the pool\'s blobs to be deleted', count, (n) => n === 0, 10_000, 50);
}

/** Until the pool's blobs are older than the grace period, and a pass has recorded them as candidates. */
async function makeCandidates(store: ObjectStore): Promise<void> {
  const start = await storeNow(store);
  await waitFor('the grace period to pass', () => storeNow(store), (now) => now.getTime() - start.getTime() >= 2_000, 10_000, 200);
  await collect(store);
  const recorded = await storeNow(store);
  await waitFor('the grace period to pass', () => storeNow(store), (now) => now.getTime() - recorded.getTime() >= 2_000, 10_000, 200);
}

function stream(ns: string, images: PushedImage[]): ImageStreamInput {
  return { namespace: ns, name: 'app', references: images.map((img) => ({ reference: `${env.REGISTRY}/${img.repo}@${img.digest}`, tags: [] })) };
}

/** Restores the backup into a new namespace and reads every layer back from the registry, checking its digest. */
async function restoresWhole(store: ObjectStore, name: string, images: PushedImage[]): Promise<void> {
  const target = uniqueName('gcrace-restored');
  const result = await runRestore({ store, registry, backupName: name, namespaceMapping: { [images[0]!.repo.split('/')[0]!]: target } });
  expect(result.failures).toEqual([]);
  for (const img of images) {
    for (const l of img.layers) expect(await blobDigest(fixture, `${target}/app`, l.digest)).toBe(l.digest);
  }
}

async function pushImages(ns: string, count: number, layers: number): Promise<PushedImage[]> {
  const base = { seed: uniqueName('base'), size: 8 * KiB };
  return Promise.all(Array.from({ length: count }, (_, i) => pushImage(fixture, `${ns}/app`, {
    layers: [base, ...Array.from({ length: layers }, (_, j) => ({ seed: uniqueName(`l${i}-${j}`), size: 4 * KiB }))], format: 'oci',
  })));
}

describe('a backup that skips blobs the collector deletes unseen does not commit them', () => {
  // The collector looked at the leases before the backup announced its blobs; it deletes them
  // after the backup found them in the pool. Whether the collector is done by the commit or
  // still holds the lock, the backup finds out before it commits, and its next run uploads them.
  test.each([
    ['has finished by the time the backup commits', false],
    ['still holds the lock when the backup commits', true],
  ])('the collector %s', async (_name, holdsLock) => {
    const store = await newStore();
    const ns = uniqueName('gcrace-fence');
    const images = await pushImages(ns, 2, 3);
    const backup = (name: string, s: ObjectStore) => runBackup({ store: s, registry, backup: { namespace: 'adp', name, uid: `uid-${name}` }, imageStreams: [stream(ns, images)], gcFenceMs: FENCE_MS });
    await backup('seed', store);
    await store.delete(store.bundleKey('seed'));
    await makeCandidates(store);

    const reachedDelete = deferred();
    const mayDelete = deferred();
    const mayFinish = deferred();
    let collector: Promise<CollectReport> | undefined;
    const collectorStore = hooked(store, {
      delete: async (key) => {
        if (!isBlob(store, key)) return;
        reachedDelete.resolve();
        await mayDelete.promise;
      },
      put: async (key) => {
        if (key.endsWith('gc/state.json')) await mayFinish.promise;
      },
    });
    let raced = false;
    const writerStore = hooked(store, {
      listed: async (prefix) => {
        if (raced || !isBlob(store, prefix) || !collector) return;
        raced = true;
        // The writer has announced its blobs and has seen them in the pool: the collector deletes now.
        mayDelete.resolve();
        if (!holdsLock) mayFinish.resolve();
        await (holdsLock ? waitForBlobsDeleted(store) : collector);
      },
    });

    collector = collect(collectorStore);
    await reachedDelete.promise;
    const first = await backup('raced', writerStore).catch((e: unknown) => e);
    mayFinish.resolve();
    const report = await collector;
    expect(raced).toBe(true);
    expect(report.deletedBlobs).toBeGreaterThan(0);
    expect(first).toBeInstanceOf(TransientError);
    expect(first).toMatchObject({ reason: 'PoolChanged' });
    expect(await store.head(store.bundleKey('raced'))).toBeUndefined();

    const again = await backup('raced', store);
    expect(again.failures).toEqual([]);
    await restoresWhole(store, 'raced', images);
  });
});

describe('backups that run while the collector sweeps', () => {
  // In each round the last backup's bundle is deleted (its blobs become garbage), a pass records
  // them, and once the grace period has passed a sweep that would delete them and the next
  // backup of the same images start together: the backup as the sweep lists the pool (so it
  // announces its blobs about when the collector takes its last look at the leases), or as the
  // sweep deletes its first blob; or the sweep as the backup first checks the pool.
  const orders = ['backup starts as the sweep lists the pool', 'backup starts at the first delete', 'sweep starts as the backup checks the pool'] as const;

  test('complete and restore with every digest intact, round after round', async () => {
    const store = await newStore();
    const ns = uniqueName('gcrace-rounds');
    const images = await pushImages(ns, 3, 4);
    const rounds = 12;
    const sweeps: CollectReport[] = [];
    let trigger: { at: string; fire: () => void } | undefined;
    const fire = (at: string) => {
      if (trigger?.at !== at) return;
      const t = trigger;
      trigger = undefined;
      t.fire();
    };
    const when = (at: string) => new Promise<void>((resolve) => { trigger = { at, fire: resolve }; });
    const collectorStore = hooked(store, {
      list: async (prefix) => { if (prefix === blobsPrefix(store.root)) fire('pool listing'); },
      delete: async (key) => { if (isBlob(store, key)) fire('first delete'); },
    });
    const writerStore = hooked(store, { listed: async (prefix) => { if (isBlob(store, prefix)) fire('backup checks'); } });

    let poolChanged = 0;
    const backupOnce = async (name: string): Promise<BackupResult> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await runBackup({ store: writerStore, registry, backup: { namespace: 'adp', name, uid: `uid-${name}` }, imageStreams: [stream(ns, images)], gcFenceMs: FENCE_MS });
        } catch (err) {
          if (!(err instanceof TransientError) || err.reason !== 'PoolChanged' || attempt >= 5) throw err;
          poolChanged++;
        }
      }
    };

    await backupOnce('round-0');
    for (let i = 1; i <= rounds; i++) {
      const name = `round-${i}`;
      await store.delete(store.bundleKey(`round-${i - 1}`));
      await makeCandidates(store);
      const order = orders[i % orders.length]!;
      let backup: Promise<BackupResult>;
      let sweep: Promise<CollectReport>;
      if (order === 'sweep starts as the backup checks the pool') {
        const checks = when('backup checks');
        backup = backupOnce(name);
        await checks;
        sweep = collect(collectorStore);
      } else {
        const reached = when(order === 'backup starts at the first delete' ? 'first delete' : 'pool listing');
        sweep = collect(collectorStore);
        await reached;
        backup = backupOnce(name);
      }
      const [result, report] = await Promise.all([backup, sweep]);
      trigger = undefined;
      sweeps.push(report);
      expect(result.failures).toEqual([]);
      await restoresWhole(store, name, images);
    }
    const deleted = sweeps.reduce((n, r) => n + r.deletedBlobs, 0);
    console.log(`gc-race: ${rounds} rounds, ${deleted} blobs deleted by sweeps running with a backup, `
      + `${poolChanged} backup runs found a blob collected under them and ran again`);
    expect(deleted).toBeGreaterThan(0);
  });
});
