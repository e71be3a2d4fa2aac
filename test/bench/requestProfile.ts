// Where a run's time goes when it is round trips, not bytes: the product's backup, the same
// backup again, and a restore (a first run, as the controller's first), run in this process
// (no controller, no Kubernetes) over the benchmark's data set, counting every request to the
// registry (each try and token request, by method and kind) and every call on the object
// store, and timing the backup's stages
// (reading the image trees; checking and uploading layers; the bundle's commit).
//
//   node --import tsx test/bench/requestProfile.ts [--scale small|reference|large] [--images N] [--json]
//
// `--images N`: images copied at once (IMAGE_CONCURRENCY; default the product's, 4).
//
// Loopback only: the counts are what a network profile multiplies (a 2 ms round trip costs
// 2 ms per request in a chain); the benchmark itself measures the time under each profile.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { runBackup, type ImageStreamInput } from '../../pkg/backup/index.js';
import { runRestore } from '../../pkg/restore/index.js';
import { createRegistryClient } from '../../pkg/registry/index.js';
import type { ObjectStore } from '../../pkg/store/index.js';
import { fixtureRegistryFromEnv } from '../fixture/images.js';
import { deletePrefix } from '../fixture/bucket.js';
import { openStackStore, rawS3 } from '../datapath-helpers.js';
import { loadStackEnv, repoRoot, uniqueName } from '../stackEnv.js';
import { SCALES, planDataSet, type Scale } from './dataset.js';
import { cpuMeter, cpuSeconds, ownCpuSeconds, stackPid } from './processes.js';
import { pushDataSet, type DataSet } from './pushDataset.js';

type Counts = Map<string, number>;
/** A stage ends at the first store call that `test` matches. */
type Mark = { name: string; test: (method: string, key: string) => boolean; at?: number };

/** `GET manifests`, `HEAD blobs`, `POST uploads (mount)`...: what a registry request is for. */
function requestKind(method: string, url: URL): string {
  const m = /^\/v2\/.+\/(manifests|blobs\/uploads|blobs|referrers|tags)\b/.exec(url.pathname);
  const kind = m ? m[1]!.replace('blobs/uploads', 'uploads') : 'token/other';
  return `${method} ${kind}${url.searchParams.has('mount') ? ' (mount)' : ''}`;
}

function bump(counts: Counts, key: string, n = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/** The store, each call counted by method; the first call matching a mark is timed. */
function countingStore(store: ObjectStore, counts: Counts, marks: Mark[]): ObjectStore {
  const mark = (method: string, key: string) => {
    for (const m of marks) if (m.at === undefined && m.test(method, key)) m.at = performance.now();
  };
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      if (prop === 'list') {
        return async function* (prefix: string, signal?: AbortSignal) {
          bump(counts, 'list');
          mark('list', prefix);
          for await (const o of target.list(prefix, signal)) {
            bump(counts, 'list: objects');
            yield o;
          }
        };
      }
      return (key: unknown, ...rest: unknown[]) => {
        if (!['blobKey', 'bundleKey', 'close'].includes(prop)) bump(counts, prop);
        if (typeof key === 'string') mark(prop, key);
        return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
      };
    },
  });
}

interface RunProfile {
  run: string;
  seconds: number;
  images: number;
  stages?: Record<string, number>;
  /** CPU seconds used during the run: this process (the product) and the stack's servers. */
  cpu: Record<string, number>;
  registry: Record<string, number>;
  store: Record<string, number>;
}

function imageStreams(ds: DataSet): ImageStreamInput[] {
  return ds.streams.map((s) => {
    const [namespace] = s.repo.split('/') as [string];
    return { namespace, name: s.name, references: s.references.map((r) => ({ reference: `${ds.registry}/${s.repo}@${r.digest}`, tags: r.tags })) };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: 'reference' }, images: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const scale = values.scale as Scale;
  if (!SCALES.includes(scale)) throw new Error(`--scale: one of ${SCALES.join(', ')}`);
  const concurrency = values.images ? { images: Number(values.images) } : undefined;
  const env = loadStackEnv();
  const log = (m: string) => console.error(`profile: ${m}`);
  log(`pushing the ${scale} data set (layers already there are not pushed again)`);
  const ds = await pushDataSet(fixtureRegistryFromEnv(env), planDataSet(scale, {}), path.join(repoRoot, '.stack', 'bench'));
  const streams = imageStreams(ds);
  const images = streams.reduce((n, s) => n + s.references.length, 0);
  const prefix = `${uniqueName('request-profile')}/velero`;
  const store = await openStackStore(env, prefix);
  const profiles: RunProfile[] = [];

  const measure = async (run: string, body: (store: ObjectStore, registry: ReturnType<typeof createRegistryClient>) => Promise<unknown>, withStages: boolean) => {
    const reg = new Map<string, number>();
    const st = new Map<string, number>();
    const marks: Mark[] = [
      { name: 'trees read', test: (m: string, k: string) => m === 'list' && k.includes('/blobs/') },
      { name: 'layers in the pool', test: (m: string, k: string) => m === 'put' && k.endsWith('/bundle.tar') },
    ];
    const registry = createRegistryClient({
      host: env.REGISTRY, caFile: env.REGISTRY_CA_FILE, username: env.REGISTRY_USER, password: env.REGISTRY_PASSWORD,
      onRequest: (method, url) => bump(reg, requestKind(method, url)),
    });
    const cpuUsed = cpuMeter({
      product: ownCpuSeconds, registry: () => cpuSeconds(stackPid('registry')), minio: () => cpuSeconds(stackPid('minio')),
    });
    const start = performance.now();
    try {
      await body(countingStore(store, st, marks), registry);
    } finally {
      registry.close();
    }
    const end = performance.now();
    const cpu = cpuUsed();
    const stages: Record<string, number> = {};
    let from = start;
    for (const m of marks) {
      if (m.at === undefined) continue;
      stages[m.name] = (m.at - from) / 1000;
      from = m.at;
    }
    stages['bundle committed'] = (end - from) / 1000;
    const sorted = (c: Counts) => Object.fromEntries([...c].sort(([a], [b]) => a.localeCompare(b)));
    const p: RunProfile = { run, seconds: (end - start) / 1000, images, registry: sorted(reg), store: sorted(st), cpu, ...(withStages && { stages }) };
    profiles.push(p);
    log(`${run}: ${p.seconds.toFixed(1)} s`);
  };

  try {
    const identity = (name: string) => ({ namespace: 'openshift-adp', name, uid: uniqueName(name) });
    await measure('backup', (s, r) => runBackup({ store: s, registry: r, backup: identity('first'), imageStreams: streams, ...(concurrency && { concurrency }) }), true);
    await measure('backupAgain', (s, r) => runBackup({ store: s, registry: r, backup: identity('again'), imageStreams: streams, ...(concurrency && { concurrency }) }), true);
    const mapping = Object.fromEntries([...new Set(streams.map((s) => s.namespace))].map((ns) => [ns, uniqueName('profile-restore')]));
    await measure('restore', (s, r) => runRestore({ store: s, registry: r, backupName: 'first', namespaceMapping: mapping, firstRun: true, ...(concurrency && { concurrency }) }), false);
  } finally {
    await store.close();
    const s3 = rawS3(env);
    await deletePrefix(s3, env.S3_BUCKET, store.root);
    s3.destroy();
  }

  for (const p of profiles) {
    console.log(`\n${p.run}: ${p.seconds.toFixed(2)} s for ${p.images} images`);
    console.log(`  CPU seconds: ${Object.entries(p.cpu).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')} (2 cores: ${(2 * p.seconds).toFixed(1)} available)`);
    if (p.stages) console.log(`  stages: ${Object.entries(p.stages).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}`);
    const line = (what: string, counts: Record<string, number>) => {
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      console.log(`  ${what}: ${total} (${(total / p.images).toFixed(2)} per image)`);
      for (const [k, n] of Object.entries(counts)) console.log(`    ${k.padEnd(28)} ${String(n).padStart(7)}  ${(n / p.images).toFixed(2)} per image`);
    };
    line('registry requests', p.registry);
    line('object store calls', p.store);
  }
  if (values.json) console.log(JSON.stringify({ scale, images, concurrency: concurrency?.images ?? 'default', profiles }));
}

await main();
