// Today's path, reproduced: the Velero plugin copies each tag of each image stream, one after
// another, through containers/image into an embedded distribution registry whose storage is
// the BSL's bucket. Here: `skopeo copy` with default options (so an index keeps one
// platform), tag by tag, into an S3-backed distribution registry on the same MinIO.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
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

export const SKOPEO_HELP = 'skopeo is needed for the oadpPath baseline: on Debian/Ubuntu `apt-get install -y skopeo` '
  + '(1.9 or later), on Fedora/RHEL `dnf install -y skopeo`; or skip it with --skip oadpPath';

/** The skopeo version, or undefined when it is not installed. */
export async function skopeoVersion(): Promise<string | undefined> {
  try {
    return (await run('skopeo', ['--version'])).stdout.trim();
  } catch {
    return undefined;
  }
}

export async function oadpPathCopy(ds: DataSet, env: StackEnv, targetHost: string): Promise<{ copies: number }> {
  // skopeo trusts a registry through a folder holding its CA as ca.crt.
  const certs = await mkdtemp(path.join(tmpdir(), 'bench-skopeo-certs-'));
  await copyFile(env.REGISTRY_CA_FILE, path.join(certs, 'ca.crt'));
  let copies = 0;
  try {
    for (const stream of ds.streams) {
      for (const ref of stream.references) {
        for (const tag of ref.tags) {
          await run('skopeo', [
            'copy', '--quiet',
            '--src-creds', `${env.REGISTRY_USER}:${env.REGISTRY_PASSWORD}`, '--src-cert-dir', certs,
            '--dest-cert-dir', certs,
            `docker://${ds.registry}/${stream.repo}:${tag}`, `docker://${targetHost}/${stream.repo}:${tag}`,
          ], { maxBuffer: 16 * 1024 * 1024 });
          copies++;
        }
      }
    }
  } finally {
    await rm(certs, { recursive: true, force: true });
  }
  return { copies };
}

export async function runOadpPath(ctx: BenchContext): Promise<PhaseResult> {
  const { env, s3 } = ctx;
  const prefix = runPrefix(ctx, 'oadpPath');
  ctx.cleanup.push(() => deletePrefix(s3, env.S3_BUCKET, prefix));
  const target = await startS3Registry(env, ctx.dir, 'oadp-registry', prefix);
  try {
    const host = await ctx.net.reach(target.host, 'oadp-registry');
    const { value, seconds } = await timed(() => oadpPathCopy(ctx.ds, env, host));
    const usage = await prefixUsage(s3, env.S3_BUCKET, prefix);
    return phase('oadpPath', seconds, ctx.stats.oadpPathBytes, usage.bytes, { details: { skopeoCopies: value.copies, platforms: 'linux/amd64 only' } });
  } finally {
    await target.stop();
  }
}
