// Backup throughput per provider (issue 19's note): for each emulator of the stack (MinIO,
// Azurite, fake-gcs-server), `raw` (every unique blob read from the registry and written to
// the location by that provider's own store, as many at once as the data path copies, nothing
// else) against the product's backup (pkg/backup, in this process) into an empty prefix of
// the same location. A script, not a timed test:
//   node --import tsx test/bench/providers.ts [--scale small|reference] [--providers aws,azure,gcp]
// Prints a table on stderr and one JSON object last; removes what it wrote.
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { DEFAULT_CONCURRENCY, runBackup, type ImageStreamInput } from '../../pkg/backup/index.js';
import { openStore, type ObjectStore } from '../../pkg/store/index.js';
import { stackRegistry } from '../datapath-helpers.js';
import { fixtureRegistryFromEnv } from '../fixture/images.js';
import { providerFixture, PROVIDERS, type ProviderName } from '../fixture/providers.js';
import { loadProviderStackEnv, uniqueName } from '../stackEnv.js';
import { planDataSet, type Scale } from './dataset.js';
import { pushDataSet } from './pushDataset.js';
import path from 'node:path';

const { values: args } = parseArgs({ options: { scale: { type: 'string', default: 'reference' }, providers: { type: 'string', default: PROVIDERS.join(',') } } });
const env = loadProviderStackEnv();
const log = (m: string) => process.stderr.write(`providers-bench: ${m}\n`);
const MB = 1e6;

async function seconds(work: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function emptyPrefix(store: ObjectStore, prefix: string): Promise<void> {
  const limit = pLimit(16);
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  await Promise.all(keys.map((k) => limit(() => store.delete(k))));
}

async function main(): Promise<void> {
  log(`pushing the ${args.scale} data set (cached)`);
  const ds = await pushDataSet(fixtureRegistryFromEnv(env), planDataSet(args.scale as Scale), path.join(path.dirname(env.KUBECONFIG), 'bench'));
  const streams: ImageStreamInput[] = ds.streams.map((s) => ({
    namespace: s.repo.split('/')[0]!, name: s.name,
    references: s.references.map((r) => ({ reference: `${env.REGISTRY}/${s.repo}@${r.digest}`, tags: r.tags })),
  }));
  const blobs = [...ds.blobs.values()];
  const bytes = blobs.reduce((n, b) => n + b.size, 0);
  const results: Record<string, { raw: number; backup: number; rawMBps: number; backupMBps: number; ratio: number }> = {};
  for (const name of (args.providers ?? '').split(',') as ProviderName[]) {
    const p = providerFixture(env, name);
    const prefix = uniqueName(`bench-${name}`);
    const store = await openStore({ location: p.location(prefix), credentials: p.credentials(), env: {} });
    const registry = stackRegistry(env);
    try {
      log(`${name}: raw`);
      const copy = pLimit(DEFAULT_CONCURRENCY.images * DEFAULT_CONCURRENCY.blobs);
      const raw = await seconds(() => Promise.all(blobs.map((b) => copy(async () => {
        await store.put(`${store.root}raw/${b.digest}`, await registry.getBlob(b.repo, b.digest), { size: b.size, digest: b.digest });
      }))));
      log(`${name}: backup`);
      const backup = await seconds(() => runBackup({ store, registry, backup: { namespace: 'bench', name: `providers-${name}`, uid: prefix }, imageStreams: streams }));
      const rate = (s: number) => Number((bytes / MB / s).toFixed(1));
      results[name] = { raw, backup, rawMBps: rate(raw), backupMBps: rate(backup), ratio: Number((raw / backup).toFixed(2)) };
      log(`${name.padEnd(6)} raw ${raw.toFixed(1)} s ${rate(raw)} MB/s | backup ${backup.toFixed(1)} s ${rate(backup)} MB/s | backup/raw ${(raw / backup).toFixed(2)}`);
    } finally {
      registry.close();
      await emptyPrefix(store, `${prefix}/`).catch((err: unknown) => log(`${name}: cleanup failed: ${String(err)}`));
      await store.close();
    }
  }
  process.stdout.write(`${JSON.stringify({ scale: args.scale, blobs: blobs.length, uniqueBytes: bytes, results })}\n`);
}

await main();
