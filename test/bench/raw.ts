// `raw`, the limit on this stack: every unique blob once, registry -> MinIO, with as many in
// flight as the product allows by default and the same upload mechanics (a one-part blob
// streamed in one PUT, a larger one through the product's part uploader with the same part
// size and parts in flight, payloads unsigned); no digest checks, no checksums, no manifests,
// no bookkeeping. Its copy is what rawRestore reads back.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { DEFAULT_CONCURRENCY, partSizeFor } from '../../pkg/backup/index.js';
import { DEFAULT_QUEUE_SIZE } from '../../pkg/store/index.js';
import { uploadMultipart } from '../../pkg/store/s3/multipartUpload.js';
import { runPrefix, type BenchContext } from './context.js';
import { phase, timed, type PhaseResult } from './measure.js';
import { rawHttp } from './rawHttp.js';
import { deletePrefix, prefixUsage } from './s3.js';

/** The product's default reach: images in flight times blobs per image. */
export const RAW_PARALLELISM = DEFAULT_CONCURRENCY.images * DEFAULT_CONCURRENCY.blobs;

export const RAW_COPY = 'raw.prefix';

export async function runRaw(ctx: BenchContext): Promise<PhaseResult> {
  const { env, ds, s3 } = ctx;
  const prefix = runPrefix(ctx, 'raw');
  ctx.cleanup.push(() => deletePrefix(s3, env.S3_BUCKET, prefix));
  const http = rawHttp({ host: ds.registry, caFile: env.REGISTRY_CA_FILE, username: env.REGISTRY_USER, password: env.REGISTRY_PASSWORD });
  const limit = pLimit(RAW_PARALLELISM);
  const blobs = [...ds.blobs.values()];
  const { seconds } = await timed(() => Promise.all(blobs.map((b) => limit(async () => {
    const body = await http.get(`/v2/${b.repo}/blobs/${b.digest}`);
    const params = { Bucket: env.S3_BUCKET, Key: prefix + b.digest.replace(':', '/'), ContentType: b.mediaType };
    const partSize = partSizeFor(b.size);
    if (b.size <= partSize) await s3.send(new PutObjectCommand({ ...params, Body: body, ContentLength: b.size }));
    else await uploadMultipart(s3, body, params, { partSize, queueSize: DEFAULT_QUEUE_SIZE });
  })))).finally(() => http.close());
  ctx.handoff.set(RAW_COPY, prefix);
  const usage = await prefixUsage(s3, env.S3_BUCKET, prefix);
  return phase('raw', seconds, ctx.stats.uniqueBytes, usage.bytes, { details: { blobs: blobs.length, parallelism: RAW_PARALLELISM } });
}
