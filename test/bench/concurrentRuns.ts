// Several ImageStreamsBackups at once against one (issue 17, docs/scale-out.md). A script, not
// a timed test:
//   npm run build && node --import tsx test/bench/concurrentRuns.ts [--scale reference] [--runs 1,2,4]
// For each N of --runs: a fresh namespace, BSL and prefix, the built controller started with
// MAX_CONCURRENT_RUNS=N, and the data set's image streams dealt round-robin into N ISBs, all
// created at once; timed from the first create until the last one is Completed. N=1 is one ISB
// over the whole set, the benchmark's `backup`. Prints a table and one JSON object last;
// removes what it wrote.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fixtureRegistryFromEnv } from '../fixture/images.js';
import { loadStackEnv, repoRoot } from '../stackEnv.js';
import type { BenchContext } from './context.js';
import { planDataSet, type Scale } from './dataset.js';
import { dataSetStats } from './datasetStats.js';
import { PROFILES, startNetwork } from './network.js';
import { timed } from './measure.js';
import { stopAll } from './processes.js';
import { applyIsb, isbSpec, productRun } from './productSetup.js';
import { pushDataSet } from './pushDataset.js';
import { s3Client } from './s3.js';

const { values: args } = parseArgs({ options: { scale: { type: 'string', default: 'reference' }, runs: { type: 'string', default: '1,2,4' } } });
const counts = args.runs.split(',').map(Number);
const log = (m: string) => { process.stderr.write(`concurrent-runs: ${m}\n`); };

interface Row { runs: number; seconds: number; mbps: number; peakRssMiB: number }

async function measure(base: Omit<BenchContext, 'runId' | 'dir' | 'stops' | 'cleanup' | 'handoff'>, n: number): Promise<Row> {
  const runId = `cr${n}-${randomBytes(3).toString('hex')}`;
  const ctx: BenchContext = { ...base, runId, dir: path.join(repoRoot, '.stack', 'bench', 'runs', runId), stops: [], cleanup: [], handoff: new Map() };
  await mkdir(ctx.dir, { recursive: true });
  process.env.MAX_CONCURRENT_RUNS = String(n);
  try {
    const run = await productRun(ctx);
    const spec = isbSpec(ctx, run);
    const parts = Array.from({ length: n }, (_, i) => ({ ...spec, imageStreams: spec.imageStreams.filter((_, j) => j % n === i) }));
    await run.controller!.resetPeak();
    const { seconds } = await timed(() => Promise.all(parts.map((p, i) => applyIsb(ctx, run, `part-${i}`, p))));
    const peak = await run.controller!.peakRss();
    return { runs: n, seconds, mbps: base.stats.uniqueBytes / 1e6 / seconds, peakRssMiB: Math.round(peak / 2 ** 20) };
  } finally {
    for (const stop of ctx.stops) await stop();
    await stopAll();
    for (const clean of [...ctx.cleanup].reverse()) await clean().catch((e: unknown) => log(`cleanup: ${String(e)}`));
    await rm(ctx.dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const env = loadStackEnv();
  log(`pushing the ${args.scale} data set`);
  const ds = await pushDataSet(fixtureRegistryFromEnv(env), planDataSet(args.scale as Scale), path.join(repoRoot, '.stack', 'bench'));
  const stats = dataSetStats(ds);
  const s3 = s3Client(env);
  // productRun builds dist/ unless told a build to use: this script runs the one `npm run build` made.
  const net = await startNetwork(PROFILES.loopback, env);
  const base = { env, ds, stats, s3, log, net, controllerDist: path.join(repoRoot, 'dist') };
  const rows: Row[] = [];
  try {
    for (const n of counts) {
      log(`${n} ISB(s), MAX_CONCURRENT_RUNS=${n} ...`);
      rows.push(await measure(base, n));
      log(`${n}: ${rows.at(-1)!.seconds.toFixed(1)}s`);
    }
  } finally {
    s3.destroy();
  }
  const one = rows.find((r) => r.runs === 1);
  console.log(`${stats.imageStreams} image streams, ${(stats.uniqueBytes / 1e6).toFixed(0)} MB unique, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}`);
  console.log('ISBs at once | seconds | MB/s | x one ISB | peak RSS MiB');
  for (const r of rows) console.log(`${r.runs} | ${r.seconds.toFixed(1)} | ${r.mbps.toFixed(1)} | ${one ? (r.mbps / one.mbps).toFixed(2) : '-'} | ${r.peakRssMiB}`);
  console.log(JSON.stringify({ scale: args.scale, uniqueBytes: stats.uniqueBytes, rows }));
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
