// A good generic tool for comparison: `crane copy --all-tags` of every image stream's
// repository into the S3-backed registry. crane keeps indexes whole (every platform) and
// copies tags in parallel (--jobs defaults to GOMAXPROCS).
import { Crane } from '../datapath-helpers.js';
import type { StackEnv } from '../stackEnv.js';
import { runPrefix, type BenchContext } from './context.js';
import { phase, timed, type PhaseResult } from './measure.js';
import type { DataSet } from './pushDataset.js';
import { deletePrefix, prefixUsage } from './s3.js';
import { startS3Registry } from './s3Registry.js';

export async function craneCopy(ds: DataSet, env: StackEnv, targetHost: string): Promise<{ copies: number }> {
  const crane = await Crane.login(env);
  let copies = 0;
  try {
    for (const stream of ds.streams) {
      await crane.run(['copy', '--all-tags', `${ds.registry}/${stream.repo}`, `${targetHost}/${stream.repo}`]);
      copies++;
    }
  } finally {
    await crane.close();
  }
  return { copies };
}

export async function runCrane(ctx: BenchContext): Promise<PhaseResult> {
  const { env, s3 } = ctx;
  const prefix = runPrefix(ctx, 'crane');
  ctx.cleanup.push(() => deletePrefix(s3, env.S3_BUCKET, prefix));
  const target = await startS3Registry(env, ctx.dir, 'crane-registry', prefix);
  try {
    const host = await ctx.net.reach(target.host, 'crane-registry');
    const { value, seconds } = await timed(() => craneCopy(ctx.ds, env, host));
    const usage = await prefixUsage(s3, env.S3_BUCKET, prefix);
    return phase('crane', seconds, ctx.stats.uniqueBytes, usage.bytes, { details: { craneCopies: value.copies } });
  } finally {
    await target.stop();
  }
}
