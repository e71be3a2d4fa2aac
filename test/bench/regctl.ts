// `regctl repo copy` (regclient, pinned in hack/versions.sh) of every image stream's repository
// into an S3-backed registry on the same MinIO, as crane's and today's path's: regctl's own way
// of copying a whole repository, which is `regctl image copy` of each of its tags (every
// platform of an index), two images at once by default. Its options are left at their defaults.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, type StackEnv } from '../stackEnv.js';
import { runPrefix, type BenchContext } from './context.js';
import { phase, timed, type PhaseResult } from './measure.js';
import type { DataSet } from './pushDataset.js';
import { deletePrefix, prefixUsage } from './s3.js';
import { startS3Registry } from './s3Registry.js';

const run = promisify(execFile);

let binary: string | undefined;

/**
 * regctl is no server of the stack: hack/build-servers.sh builds it on request (cached, keyed
 * by its pinned version), as the benchmark installs skopeo when it is missing.
 */
export function ensureRegctl(log: (m: string) => void): string {
  if (binary) return binary;
  log('regctl: hack/build-servers.sh regctl (cached after the first build)');
  try {
    const out = execFileSync('bash', [path.join(repoRoot, 'hack', 'build-servers.sh'), 'regctl'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 2] });
    binary = path.join(out.trim().split('\n').pop()!, 'regctl');
  } catch (err) {
    throw new Error(`regctl could not be built (bash hack/build-servers.sh regctl needs Go): ${err instanceof Error ? err.message : String(err)}; `
      + 'or skip it with --skip regctl');
  }
  return binary;
}

/** regctl with a config of its own (HOME), trusting the stack's CA on both registries. */
export async function regctlCopy(regctl: string, ds: DataSet, env: StackEnv, targetHost: string): Promise<{ copies: number }> {
  const home = await mkdtemp(path.join(tmpdir(), 'bench-regctl-'));
  // The error says what regctl said, not its arguments (a whole CA certificate for `registry set`).
  const r = async (args: string[], stdin?: string) => {
    const child = run(regctl, args, { env: { ...process.env, HOME: home }, maxBuffer: 16 * 1024 * 1024 });
    if (stdin !== undefined) child.child.stdin?.end(stdin);
    try {
      return await child;
    } catch (err) {
      throw new Error(`regctl ${args.slice(0, 2).join(' ')} failed: ${String((err as { stderr?: unknown }).stderr ?? err).trim()}`);
    }
  };
  try {
    const ca = await readFile(env.REGISTRY_CA_FILE, 'utf8');
    // No check yet: the source answers 401 until the login below, which checks it.
    for (const host of [ds.registry, targetHost]) await r(['registry', 'set', '--skip-check', host, '--cacert', ca]);
    await r(['registry', 'login', ds.registry, '-u', env.REGISTRY_USER, '--pass-stdin'], env.REGISTRY_PASSWORD);
    let copies = 0;
    for (const stream of ds.streams) {
      await r(['repo', 'copy', `${ds.registry}/${stream.repo}`, `${targetHost}/${stream.repo}`]);
      copies++;
    }
    return { copies };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

export async function runRegctl(ctx: BenchContext): Promise<PhaseResult> {
  const { env, s3 } = ctx;
  const regctl = ensureRegctl(ctx.log);
  const prefix = runPrefix(ctx, 'regctl');
  ctx.cleanup.push(() => deletePrefix(s3, env.S3_BUCKET, prefix));
  const target = await startS3Registry(env, ctx.dir, 'regctl-registry', prefix);
  try {
    const host = await ctx.net.reach(target.host, 'regctl-registry');
    const { value, seconds } = await timed(() => regctlCopy(regctl, ctx.ds, env, host));
    const usage = await prefixUsage(s3, env.S3_BUCKET, prefix);
    return phase('regctl', seconds, ctx.stats.uniqueBytes, usage.bytes, { details: { regctlRepoCopies: value.copies } });
  } finally {
    await target.stop();
  }
}
