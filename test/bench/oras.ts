// `oras backup` of every image stream's repository (all its tags, every platform) into a local
// OCI layout, one folder per repository, as its users back a repository up: with its default
// options (3 copies at once). It never reaches S3: its output is a folder on the machine, so it
// pays the registry's latency only, and a shared layer is stored once per repository.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Oras } from '../fixture/oras.js';
import type { StackEnv } from '../stackEnv.js';
import type { BenchContext } from './context.js';
import { dirBytes } from './dirBytes.js';
import { phase, timed, type PhaseResult } from './measure.js';
import type { DataSet } from './pushDataset.js';

export async function orasBackup(ds: DataSet, env: StackEnv, out: string): Promise<{ repositories: number }> {
  const oras = await Oras.login(env);
  try {
    for (const [i, stream] of ds.streams.entries()) {
      await oras.run(['backup', '--no-tty', '--output', path.join(out, `repo-${i}`), `${ds.registry}/${stream.repo}`]);
    }
  } finally {
    await oras.close();
  }
  return { repositories: ds.streams.length };
}

export async function runOras(ctx: BenchContext): Promise<PhaseResult> {
  const out = path.join(ctx.dir, 'oras-layouts');
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  try {
    const { value, seconds } = await timed(() => orasBackup(ctx.ds, ctx.env, out));
    return phase('oras', seconds, ctx.stats.uniqueBytes, await dirBytes(out), {
      details: { repositories: value.repositories, target: 'local OCI layouts (no S3)' },
    });
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
