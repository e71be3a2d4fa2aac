// Export and import on the benchmark's data set, against `oras backup` and `oras restore` of the
// same repositories (issue 18's note). A script, not a timed test:
//   npm run build && node --import tsx test/bench/airGapped.ts [--scale small|reference]
// It pushes the data set (cached), backs it up with the product's data path into a fresh
// prefix, then times, each as its own process: `imagestream-backup export` (built CLI), `import`
// into an empty prefix, `import --registry` into empty namespaces, and oras backup / oras restore
// of every repository of the data set, one after the other. Prints a table and one JSON object
// last. Everything it wrote (prefixes, archives) is removed at the end; the registry keeps
// the pushed images, as the benchmark's do.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { runBackup, type ImageStreamInput } from '../../pkg/backup/index.js';
import { readBundle } from '../../pkg/restore/readBundle.js';
import { credentialsFile, openStackStore, rawS3, stackRegistry } from '../datapath-helpers.js';
import { deletePrefix } from '../fixture/bucket.js';
import { fixtureRegistryFromEnv } from '../fixture/images.js';
import { loadStackEnv, repoRoot } from '../stackEnv.js';
import { planDataSet, type Scale } from './dataset.js';
import { dataSetStats } from './datasetStats.js';
import { pushDataSet } from './pushDataset.js';

const run = promisify(execFile);
const { values: args } = parseArgs({ options: { scale: { type: 'string', default: 'reference' }, dir: { type: 'string' } } });
const env = loadStackEnv();
const log = (m: string) => process.stderr.write(`airgap-bench: ${m}\n`);
const MB = 1e6;

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t = process.hrtime.bigint();
  const value = await work();
  return { value, seconds: Number(process.hrtime.bigint() - t) / 1e9 };
}

/** The built command line as its own process, with its peak RSS (GNU time's %M, in KiB). */
async function cli(argv: string[]): Promise<{ stdout: string; peakRssMiB: number }> {
  const r = await run('/usr/bin/time', ['-f', 'peak-rss-kib=%M', process.execPath, path.join(repoRoot, 'dist', 'cli', 'main.js'), ...argv], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env } });
  const kib = Number(/peak-rss-kib=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { stdout: r.stdout, peakRssMiB: Math.round(kib / 1024) };
}

async function main(): Promise<void> {
  const base = args.dir ?? path.dirname(env.KUBECONFIG);
  const work = await mkdtemp(path.join(base, 'airgap-bench-'));
  const runId = path.basename(work).replace('airgap-bench-', '').toLowerCase();
  const s3 = rawS3(env);
  const prefixes = [`airgap-${runId}-src`, `airgap-${runId}-dst`];
  const oras = path.join(env.STACK_BIN, 'oras');
  const orasAuth = path.join(work, 'oras-auth.json');
  try {
    log(`pushing the ${args.scale} data set`);
    const ds = await pushDataSet(fixtureRegistryFromEnv(env), planDataSet(args.scale as Scale), path.join(base, 'bench'));
    const stats = dataSetStats(ds);
    const streams: ImageStreamInput[] = ds.streams.map((s) => ({
      namespace: s.repo.split('/')[0]!, name: s.name,
      references: s.references.map((r) => ({ reference: `${env.REGISTRY}/${s.repo}@${r.digest}`, tags: r.tags })),
    }));
    const store = await openStackStore(env, `${prefixes[0]}/velero`);
    const registry = stackRegistry(env);
    log('backing it up (the product\'s data path)');
    const backup = await timed(() => runBackup({ store, registry, backup: { namespace: 'bench', name: 'airgap', uid: runId }, imageStreams: streams }));
    const bundle = await readBundle(store, 'airgap');
    const metadataBytes = [...bundle.blobs.digests()].reduce((n, d) => n + bundle.blobs.size(d)!, 0);
    const uniqueBlobBytes = bundle.backup.totals.layerBytes + metadataBytes;
    registry.close();
    await store.close();

    const creds = path.join(work, 'credentials');
    await writeFile(creds, credentialsFile(env));
    const location = (prefix: string) => ['--bucket', env.S3_BUCKET, '--prefix', `${prefix}/velero`, '--region', env.S3_REGION, '--s3-url', env.S3_ENDPOINT,
      '--s3-force-path-style', 'true', '--ca-cert', env.S3_CA_FILE, '--credentials', creds];
    const archive = path.join(work, 'export.tar');
    log('export');
    const exported = await timed(() => cli(['export', '--backup', 'airgap', '--output', archive, '--json', ...location(prefixes[0]!)]));
    const archiveBytes = (await stat(archive)).size;
    log('import into an empty location');
    const imported = await timed(() => cli(['import', '--input', archive, '--json', ...location(prefixes[1]!)]));
    log('import into a registry (empty namespaces)');
    const passwordFile = path.join(work, 'registry-password');
    await writeFile(passwordFile, env.REGISTRY_PASSWORD);
    const namespaces = [...new Set(streams.map((s) => s.namespace))];
    const intoRegistry = await timed(() => cli(['import', '--input', archive, '--registry', env.REGISTRY, '--registry-ca-file', env.REGISTRY_CA_FILE,
      '--registry-user', env.REGISTRY_USER, '--registry-password-file', passwordFile, ...namespaces.flatMap((n) => ['--namespace-mapping', `${n}=${n}-cli-${runId}`])]));

    const orasArgs = ['--registry-config', orasAuth, '--ca-file', env.REGISTRY_CA_FILE];
    const login = run(oras, ['login', ...orasArgs, env.REGISTRY, '-u', env.REGISTRY_USER, '--password-stdin']);
    login.child.stdin?.end(env.REGISTRY_PASSWORD);
    await login;
    const repos = ds.streams.map((s) => s.repo);
    log(`oras backup of ${repos.length} repositories`);
    const orasBackup = await timed(async () => {
      let bytes = 0;
      for (const [i, repo] of repos.entries()) {
        await run(oras, ['backup', ...orasArgs, '--output', path.join(work, `oras-${i}.tar`), `${env.REGISTRY}/${repo}`]);
        bytes += (await stat(path.join(work, `oras-${i}.tar`))).size;
      }
      return bytes;
    });
    log('oras restore of them (empty repositories)');
    const orasRestore = await timed(async () => {
      for (const [i, repo] of repos.entries()) {
        await run(oras, ['restore', ...orasArgs, '--input', path.join(work, `oras-${i}.tar`), `${env.REGISTRY}/${repo.split('/')[0]}-oras-${runId}/${repo.split('/')[1]}`]);
      }
    });

    const rate = (bytes: number, s: number) => Number((bytes / MB / s).toFixed(1));
    const result = {
      scale: args.scale, images: stats.references, uniqueBlobBytes, logicalBytes: stats.logicalBytes,
      backupSeconds: backup.seconds,
      export: { seconds: exported.seconds, peakRssMiB: exported.value.peakRssMiB, archiveBytes, mbPerS: rate(uniqueBlobBytes, exported.seconds), archiveOverUniqueBlobs: Number((archiveBytes / uniqueBlobBytes).toFixed(4)) },
      importToLocation: { seconds: imported.seconds, peakRssMiB: imported.value.peakRssMiB, mbPerS: rate(uniqueBlobBytes, imported.seconds) },
      importToRegistry: { seconds: intoRegistry.seconds, peakRssMiB: intoRegistry.value.peakRssMiB, mbPerS: rate(uniqueBlobBytes, intoRegistry.seconds) },
      orasBackup: { seconds: orasBackup.seconds, archives: repos.length, archiveBytes: orasBackup.value, mbPerS: rate(uniqueBlobBytes, orasBackup.seconds) },
      orasRestore: { seconds: orasRestore.seconds, mbPerS: rate(uniqueBlobBytes, orasRestore.seconds) },
    };
    const row = (name: string, s: number, extra = '') => log(`${name.padEnd(26)} ${s.toFixed(1).padStart(7)} s  ${rate(uniqueBlobBytes, s).toFixed(1).padStart(7)} MB/s of unique data ${extra}`);
    log(`data set: ${stats.references} images, ${(uniqueBlobBytes / MB).toFixed(0)} MB of unique blobs (${(stats.logicalBytes / MB).toFixed(0)} MB logical)`);
    row('export', exported.seconds, `peak RSS ${exported.value.peakRssMiB} MiB, archive ${(archiveBytes / MB).toFixed(1)} MB (${((archiveBytes / uniqueBlobBytes - 1) * 100).toFixed(3)}% over the unique blobs)`);
    row('import into a location', imported.seconds, `peak RSS ${imported.value.peakRssMiB} MiB`);
    row('import into a registry', intoRegistry.seconds, `peak RSS ${intoRegistry.value.peakRssMiB} MiB`);
    row('oras backup (per repo)', orasBackup.seconds, `${repos.length} archives, ${(orasBackup.value / MB).toFixed(0)} MB`);
    row('oras restore (per repo)', orasRestore.seconds);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const p of prefixes) await deletePrefix(s3, env.S3_BUCKET, `${p}/`);
    s3.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
