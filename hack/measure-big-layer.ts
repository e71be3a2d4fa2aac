// Measures the data path on one big layer against the local stack: peak RSS must not grow
// with the layer size. Run each phase in its own process under /usr/bin/time -v:
//   npx tsx hack/measure-big-layer.ts push [GiB] [count]   -> prints the image reference(s)
//   /usr/bin/time -v npx tsx hack/measure-big-layer.ts backup <reference>...   (a fresh S3 prefix each run)
//   /usr/bin/time -v npx tsx hack/measure-big-layer.ts restore <prefix> <backup-name>
// Each phase prints one JSON line: bytes, seconds, MiB/s, and the process's own peak RSS.
// MEASURE_BSL_CONFIG='{"checksumAlgorithm":""}' adds BSL config keys (to compare settings).
import { loadStackEnv, uniqueName } from '../test/stackEnv.js';
import { credentialsFile, stackLocation, stackRegistry } from '../test/datapath-helpers.js';
import { fixtureRegistryFromEnv, pushImage } from '../test/fixture/images.js';
import { runBackup } from '../pkg/backup/index.js';
import { runRestore } from '../pkg/restore/index.js';
import { openStore } from '../pkg/store/index.js';
import { parseReference } from '../pkg/oci/index.js';
import { resourceUsage } from 'node:process';

const env = loadStackEnv();
const [phase, arg, arg2, ...more] = process.argv.slice(2);

async function main(): Promise<void> {
  if (phase === 'push') {
    const size = Math.round(Number(arg ?? '2') * 1024 ** 3);
    const refs: string[] = [];
    for (let i = 0; i < Number(arg2 ?? '1'); i++) {
      const repo = `${uniqueName('big')}/layer`;
      const img = await pushImage(fixtureRegistryFromEnv(env), repo, { layers: [{ seed: uniqueName('big'), size }] });
      refs.push(`${env.REGISTRY}/${repo}@${img.digest}`);
    }
    console.log(refs.join(' '));
    return;
  }
  // A fresh prefix per backup, so that every run uploads the layer (a shared one would skip it).
  const prefix = phase === 'restore' ? arg! : uniqueName('measure-big-layer');
  const config = JSON.parse(process.env.MEASURE_BSL_CONFIG ?? '{}') as Record<string, string>;
  const store = await openStore({ location: stackLocation(env, prefix, { config }), credentials: credentialsFile(env) });
  const registry = stackRegistry(env);
  const started = process.hrtime.bigint();
  let bytes = 0;
  let result: object;
  if (phase === 'backup' && arg) {
    const references = [arg, ...(arg2 ? [arg2, ...more] : [])];
    for (const r of references) parseReference(r); // refuses anything but digest references early
    const name = uniqueName('big');
    const out = await runBackup({
      store, registry, backup: { namespace: 'bench', name, uid: name },
      imageStreams: references.map((reference, i) => ({ namespace: 'bench', name: `layer-${i}`, references: [{ reference, tags: ['latest'] }] })),
    });
    bytes = out.progress.bytes.done;
    result = { prefix, backupName: name, progress: out.progress, failures: out.failures };
  } else if (phase === 'restore' && arg && arg2) {
    const out = await runRestore({ store, registry, backupName: arg2, namespaceMapping: { bench: uniqueName('restored') } });
    bytes = out.progress.bytes.done;
    result = { progress: out.progress, failures: out.failures };
  } else {
    throw new Error('usage: measure-big-layer.ts push [GiB] | backup <reference> | restore <prefix> <backup-name>');
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  registry.close();
  await store.close();
  console.log(JSON.stringify({
    phase, bytes, seconds: +seconds.toFixed(1), mibPerSecond: +(bytes / 1024 ** 2 / seconds).toFixed(1),
    maxRssMiB: Math.round(resourceUsage().maxRSS / 1024), storeBytesWritten: store.stats.bytesWritten, ...result,
  }));
}

await main();
