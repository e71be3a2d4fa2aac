// What every phase of one benchmark run shares: the stack, the pushed data set, an S3 client,
// the run's own prefixes in the bucket, and what has to be cleared at the end.
import type { S3Client } from '@aws-sdk/client-s3';
import type { StackEnv } from '../stackEnv.js';
import type { DataSetStats } from './datasetStats.js';
import type { Network } from './network.js';
import type { ProfileSummary } from './profile.js';
import type { DataSet } from './pushDataset.js';

export interface BenchContext {
  /** The stack as the methods reach it: REGISTRY and S3_ENDPOINT behind the network profile's proxies. */
  env: StackEnv;
  /** The data set, its registry host being the proxied one too. */
  ds: DataSet;
  stats: DataSetStats;
  runId: string;
  /** The run's folder under .stack/bench/runs/: configs and logs of what it started. */
  dir: string;
  /** Through the S3 proxy: raw's uploads pay the profile's latency as the product's do. */
  s3: S3Client;
  /** The run's network profile; `reach` puts a registry the run starts behind it. */
  net: Network;
  /** Progress lines, on stderr: stdout is for the table and the JSON. */
  log: (message: string) => void;
  /** Processes to stop at the end of the run, even with --keep. */
  stops: Array<() => Promise<void>>;
  /** Data to clear at the end of the run, last to first (unless --keep). */
  cleanup: Array<() => Promise<void>>;
  /** --controller-dist: a build of the controller other than dist/ (to measure a change). */
  controllerDist?: string;
  /** --profile: controllers run under the CPU profiler; their summaries land here. */
  profile?: { dir: string; summaries: ProfileSummary[] };
  /** Left by a phase for a later one (the raw copy for rawRestore, the backup for restore). */
  handoff: Map<string, unknown>;
}

/** `bench/<run>/<name>/`: every method writes under its own prefix, never the product's. */
export function runPrefix(ctx: Pick<BenchContext, 'runId'>, name: string): string {
  return `bench/${ctx.runId}/${name}/`;
}

/** How the run starts a controller: which build, and whether under the CPU profiler. */
export function controllerOptions(ctx: BenchContext, name: string) {
  const p = ctx.profile;
  return {
    ...(ctx.controllerDist && { main: `${ctx.controllerDist}/controllers/main.js` }),
    dir: ctx.dir,
    ...(p && { profile: { dir: `${p.dir}/${name}`, done: (s: ProfileSummary) => { p.summaries.push(s); } } }),
  };
}
