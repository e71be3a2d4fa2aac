// `rawRestore`, the limit the other way: every unique blob that `raw` stored, MinIO -> an
// empty registry, in two requests each (open an upload, one PUT with the body), with as many
// in flight as the product's restore allows by default.
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { BenchContext } from './context.js';
import { dirBytes } from './dirBytes.js';
import { phase, timed, type PhaseResult } from './measure.js';
import { RAW_COPY, RAW_PARALLELISM } from './raw.js';
import { rawHttp } from './rawHttp.js';
import { startFilesystemRegistry } from './s3Registry.js';

export async function runRawRestore(ctx: BenchContext): Promise<PhaseResult> {
  const { env, ds, s3 } = ctx;
  const prefix = ctx.handoff.get(RAW_COPY) as string | undefined;
  if (!prefix) throw new Error('rawRestore reads what raw stored: run raw too');
  const target = await startFilesystemRegistry(env, ctx.dir, 'raw-restore-registry');
  try {
    const http = rawHttp({ host: await ctx.net.reach(target.host, 'raw-restore-registry'), caFile: env.REGISTRY_CA_FILE, username: env.REGISTRY_USER, password: env.REGISTRY_PASSWORD });
    const limit = pLimit(RAW_PARALLELISM);
    const blobs = [...ds.blobs.values()];
    const { seconds } = await timed(() => Promise.all(blobs.map((b) => limit(async () => {
      const out = await s3.send(new GetObjectCommand({ Bucket: env.S3_BUCKET, Key: prefix + b.digest.replace(':', '/') }));
      const location = await http.startUpload(b.repo);
      location.searchParams.set('digest', b.digest);
      await http.put(location, out.Body as Readable, b.size);
    })))).finally(() => http.close());
    return phase('rawRestore', seconds, ctx.stats.uniqueBytes, await dirBytes(target.storage), { details: { blobs: blobs.length, parallelism: RAW_PARALLELISM } });
  } finally {
    await target.stop();
  }
}
