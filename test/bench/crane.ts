// A good generic tool for comparison: `crane copy --all-tags` of every image stream's
// repository into the S3-backed registry. crane keeps indexes whole (every platform) and
// copies tags in parallel (--jobs defaults to GOMAXPROCS).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StackEnv } from '../stackEnv.js';
import { runPrefix, type BenchContext } from './context.js';
import { phase, timed, type PhaseResult } from './measure.js';
import type { DataSet } from './pushDataset.js';
import { deletePrefix, prefixUsage } from './s3.js';
import { startS3Registry } from './s3Registry.js';

const run = promisify(execFile);

export async function craneCopy(ds: DataSet, env: StackEnv, targetHost: string): Promise<{ copies: number }> {
  const config = await mkdtemp(path.join(tmpdir(), 'bench-crane-'));
  const crane = async (args: string[], stdin?: string) => {
    const child = run(path.join(env.STACK_BIN, 'crane'), args, {
      env: { ...process.env, DOCKER_CONFIG: config, SSL_CERT_FILE: env.REGISTRY_CA_FILE }, maxBuffer: 16 * 1024 * 1024,
    });
    if (stdin !== undefined) child.child.stdin?.end(stdin);
    return child;
  };
  let copies = 0;
  try {
    await crane(['auth', 'login', ds.registry, '-u', env.REGISTRY_USER, '--password-stdin'], env.REGISTRY_PASSWORD);
    for (const stream of ds.streams) {
      await crane(['copy', '--all-tags', `${ds.registry}/${stream.repo}`, `${targetHost}/${stream.repo}`]);
      copies++;
    }
  } finally {
    await rm(config, { recursive: true, force: true });
  }
  return { copies };
}

export async function runCrane(ctx: BenchContext): Promise<PhaseResult> {
  const { env, s3 } = ctx;
  const prefix = runPrefix(ctx, 'crane');
  ctx.cleanup.push(() => deletePrefix(s3, env.S3_BUCKET, prefix));
  const target = await startS3Registry(env, ctx.dir, 'crane-registry', prefix);
  try {
    const { value, seconds } = await timed(() => craneCopy(ctx.ds, env, target.host));
    const usage = await prefixUsage(s3, env.S3_BUCKET, prefix);
    return phase('crane', seconds, ctx.stats.uniqueBytes, usage.bytes, { details: { craneCopies: value.copies } });
  } finally {
    await target.stop();
  }
}
