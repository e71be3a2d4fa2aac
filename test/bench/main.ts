// npm run bench -- [--scale small|reference|large] [--network loopback|cluster|region] [--big-layer GiB] [--json]
//   [--skip a,b] [--keep] [--profile] [--controller-dist DIR]
// Starts the local stack if needed, pushes the seeded data set, then measures in one run, every
// method through the same network profile: raw, backup, backupAgain, rawRestore, restore,
// oadpPath, crane, regctl, oras; prints a table, and with --json one JSON object last on
// stdout. Progress goes to stderr.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fixtureRegistryFromEnv } from '../fixture/images.js';
import { loadStackEnv, repoRoot } from '../stackEnv.js';
import { runBackup } from './backup.js';
import { runBackupAgain } from './backupAgain.js';
import type { BenchContext } from './context.js';
import { runCrane } from './crane.js';
import { planDataSet, SCALES, type Scale } from './dataset.js';
import { dataSetStats } from './datasetStats.js';
import { timed, type PhaseResult } from './measure.js';
import { describeNetwork, NETWORKS, PROFILES, startNetwork, type NetworkName } from './network.js';
import { runOadpPath, SKOPEO_HELP, skopeoVersion } from './oadpPath.js';
import { runOras } from './oras.js';
import { stopAll } from './processes.js';
import { pushDataSet } from './pushDataset.js';
import { runRaw } from './raw.js';
import { runRawRestore } from './rawRestore.js';
import { ensureRegctl, runRegctl } from './regctl.js';
import { runRestore } from './restore.js';
import { humanReport, jsonReport, ratios, targets, type Report } from './report.js';
import { s3Client } from './s3.js';

// The AWS SDK's multi-line notice that its future versions need Node 22 says nothing about this run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const PHASES: Record<string, (ctx: BenchContext) => Promise<PhaseResult>> = {
  raw: runRaw,
  backup: runBackup,
  backupAgain: runBackupAgain,
  rawRestore: runRawRestore,
  restore: runRestore,
  oadpPath: runOadpPath,
  crane: runCrane,
  regctl: runRegctl,
  oras: runOras,
};

const USAGE = `usage: npm run bench -- [--scale small|reference|large] [--network ${NETWORKS.join('|')}] [--big-layer GiB] [--json] [--skip ${Object.keys(PHASES).join(',')}] [--keep] [--profile] [--controller-dist DIR]`;

function parse() {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: 'reference' },
      network: { type: 'string', default: 'loopback' },
      'big-layer': { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
      skip: { type: 'string', default: '' },
      keep: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'controller-dist': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const scale = values.scale as Scale;
  const bigLayerGiB = Number(values['big-layer']);
  const skip = values.skip.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = skip.filter((s) => !(s in PHASES));
  const network = values.network as NetworkName;
  if (!SCALES.includes(scale) || !NETWORKS.includes(network) || !(bigLayerGiB >= 0) || unknown.length) {
    console.error(unknown.length ? `unknown phase(s) to skip: ${unknown.join(', ')}` : USAGE);
    process.exit(2);
  }
  return { scale, network: PROFILES[network], bigLayerGiB, json: values.json, skip, keep: values.keep, profile: values.profile,
    controllerDist: values['controller-dist'] && path.resolve(values['controller-dist']) };
}

async function main(): Promise<void> {
  const args = parse();
  const log = (m: string) => console.error(`bench: ${m}`);
  if (!args.skip.includes('oadpPath') && !(await skopeoVersion())) {
    // As hack/stack.sh does for its own tools: root on Debian installs what is missing.
    if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
      log('installing skopeo (Debian) for the oadpPath baseline');
      execFileSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq skopeo'], { stdio: ['ignore', 2, 2] });
    }
    if (!(await skopeoVersion())) {
      console.error(`bench: ${SKOPEO_HELP}`);
      process.exit(2);
    }
  }
  // Before the stack, as skopeo: a peer that cannot be had stops the run before it starts.
  if (!args.skip.includes('regctl')) ensureRegctl(log);
  // Idempotent; builds the pinned servers on a cold machine (about 10 minutes).
  execFileSync('bash', [path.join(repoRoot, 'hack', 'stack.sh'), 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const env = loadStackEnv();

  log(`pushing the ${args.scale} data set${args.bigLayerGiB ? ` with a ${args.bigLayerGiB} GiB layer` : ''} to ${env.REGISTRY}`);
  const plan = planDataSet(args.scale, { bigLayerGiB: args.bigLayerGiB });
  const benchDir = path.join(repoRoot, '.stack', 'bench');
  const pushed = await timed(() => pushDataSet(fixtureRegistryFromEnv(env), plan, benchDir));
  const stats = dataSetStats(pushed.value);
  log(`data set ready in ${pushed.seconds.toFixed(1)}s: ${stats.references} images, ${(stats.uniqueBytes / 1e6).toFixed(0)} MB unique`);

  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  // Pushing the data set is not measured: only what comes after goes through the profile.
  const net = await startNetwork(args.network, env);
  log(describeNetwork(net.profile));
  const ctx: BenchContext = {
    env: net.env, ds: { ...pushed.value, registry: net.env.REGISTRY }, stats, log, runId, dir: path.join(benchDir, 'runs', runId),
    s3: s3Client(net.env), net, stops: [], cleanup: [], handoff: new Map(),
  };
  await mkdir(ctx.dir, { recursive: true });
  if (args.controllerDist) ctx.controllerDist = args.controllerDist;
  if (args.profile) ctx.profile = { dir: path.join(ctx.dir, 'profiles'), summaries: [] };
  // Runs once, whether the run ends or is interrupted (then `finally` gets the same promise).
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= (async () => {
    for (const stop of ctx.stops) await stop().catch((e: unknown) => log(`stopping: ${String(e)}`));
    await stopAll();
    if (args.keep) log(`--keep: left bench/${runId}/ in bucket ${env.S3_BUCKET} and ${ctx.dir}`);
    else for (const clean of [...ctx.cleanup].reverse()) await clean().catch((e: unknown) => log(`cleanup: ${String(e)}`));
    // Last: the cleanup above reaches S3 through it.
    await net.stop().catch((e: unknown) => log(`stopping toxiproxy: ${String(e)}`));
  })());
  // Interrupted: stop what the run started and clear its prefixes before leaving.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  const phases = new Map<string, PhaseResult>();
  // A phase that fails is reported as such; the others still run and are measured.
  const failed = new Map<string, string>();
  try {
    for (const [name, run] of Object.entries(PHASES)) {
      if (args.skip.includes(name)) continue;
      log(`${name} ...`);
      try {
        const result = await run(ctx);
        phases.set(name, result);
        log(`${name}: ${result.seconds.toFixed(2)}s, ${result.mbps.toFixed(1)} MB/s`);
      } catch (err) {
        failed.set(name, err instanceof Error ? err.message : String(err));
        log(`${name} FAILED: ${failed.get(name)}`);
      }
    }
  } finally {
    await cleanup();
    ctx.s3.destroy();
  }
  if (failed.size) log(`logs of this run: ${ctx.dir}`);
  // A run that went well leaves nothing but what was asked for (profiles, --keep).
  else if (!args.keep && !args.profile) await rm(ctx.dir, { recursive: true, force: true });

  const q = ratios(phases);
  const report: Report = {
    scale: args.scale, network: args.network, bigLayerGiB: args.bigLayerGiB, dataset: stats, phases, failed, ratios: q,
    targets: targets(phases, q, { scale: args.scale, bigLayerGiB: args.bigLayerGiB, network: args.network.name }),
    machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.versions.node },
    ...(ctx.profile && { profiles: ctx.profile.summaries }),
  };
  console.log(humanReport(report));
  if (args.json) console.log(jsonReport(report));
  if (failed.size) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
