// What a collector pass costs over a pool of N blobs (default 10,000): requests by kind and
// seconds, for the pass that records the candidates and for the sweep that deletes them.
//   node --import tsx test/bench/gcSweep.ts [--blobs 10000] [--bundles 20]
// Needs the local stack (`bash hack/stack.sh up`). Prints one JSON line.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { collectGarbage, storeNow } from '../../pkg/gc/collect.js';
import type { ObjectStore } from '../../pkg/store/index.js';
import { openStackStore, rawS3 } from '../datapath-helpers.js';
import { deletePrefix } from '../fixture/bucket.js';
import { sha256 } from '../fixture/images.js';
import { loadStackEnv, uniqueName } from '../stackEnv.js';

const { values } = parseArgs({ options: { blobs: { type: 'string', default: '10000' } } });
const blobs = Number(values.blobs);
const env = loadStackEnv();

/** The store, counting the requests each method makes (a list counts its pages of 1,000). */
function counted(store: ObjectStore, counts: Record<string, number>): ObjectStore {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const name = String(prop);
      if (name === 'list' || name === 'listUploads') {
        return async function* (...args: unknown[]) {
          let n = 0;
          counts[name] = (counts[name] ?? 0) + 1;
          for await (const o of (value as (...a: unknown[]) => AsyncIterable<unknown>).apply(target, args)) {
            if (++n % 1000 === 0) counts[name]++;
            yield o;
          }
        };
      }
      return (...args: unknown[]) => {
        counts[name] = (counts[name] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function main(): Promise<void> {
  const store = await openStackStore(env, `${uniqueName('gcsweep')}/velero`);
  const s3 = rawS3(env);
  try {
    const limit = pLimit(32);
    const fill = Date.now();
    await Promise.all(Array.from({ length: blobs }, () => limit(async () => {
      const bytes = randomBytes(64);
      await store.put(store.blobKey(sha256(bytes)), bytes);
    })));
    const fillSeconds = (Date.now() - fill) / 1000;
    const grace = 1_000;
    const since = await storeNow(store);
    while ((await storeNow(store)).getTime() - since.getTime() < 2_000) await new Promise((r) => setTimeout(r, 200));

    const pass = async () => {
      const counts: Record<string, number> = {};
      const start = Date.now();
      const report = await collectGarbage(counted(store, counts), { graceMs: grace, holder: 'bench' });
      return { seconds: (Date.now() - start) / 1000, requests: Object.values(counts).reduce((a, b) => a + b, 0), byMethod: counts, report };
    };
    const first = await pass();
    const recorded = await storeNow(store);
    while ((await storeNow(store)).getTime() - recorded.getTime() < 2_000) await new Promise((r) => setTimeout(r, 200));
    const sweep = await pass();
    console.log(JSON.stringify({
      blobs, fillSeconds,
      first: { seconds: first.seconds, requests: first.requests, byMethod: first.byMethod, candidates: first.report.candidates },
      sweep: { seconds: sweep.seconds, requests: sweep.requests, byMethod: sweep.byMethod, deleted: sweep.report.deletedBlobs },
    }));
  } finally {
    await deletePrefix(s3, env.S3_BUCKET, store.root.split('/plugins/')[0]!);
    await store.close();
    s3.destroy();
  }
}

await main();
