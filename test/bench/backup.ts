// `backup`: the product end to end. One ISB over the whole data set, applied with the
// controller already running (as its own process), timed until it is Completed.
import type { BenchContext } from './context.js';
import { phase, type PhaseResult } from './measure.js';
import { applyIsb, productCpuMeter, objectSizes, productRun } from './productSetup.js';
import { prefixUsage } from './s3.js';

interface Counts { total?: number; done?: number; skipped?: number }

export async function runBackup(ctx: BenchContext): Promise<PhaseResult> {
  const run = await productRun(ctx);
  const before = await prefixUsage(ctx.s3, ctx.env.S3_BUCKET, run.prefix);
  await run.controller!.resetPeak();
  const cpu = productCpuMeter(run.controller!);
  const name = 'backup';
  const { seconds, isb, timeline } = await applyIsb(ctx, run, name);
  const peakRssBytes = await run.controller!.peakRss();
  const cpuSeconds = cpu();
  const after = await prefixUsage(ctx.s3, ctx.env.S3_BUCKET, run.prefix);
  run.backupName = name;
  const progress = (isb.status?.progress ?? {}) as { bytes?: Counts; blobs?: Counts };
  const sizes = objectSizes(isb);
  return phase('backup', seconds, ctx.stats.uniqueBytes, after.bytes - before.bytes, {
    peakRssBytes,
    timeline,
    details: {
      imageStreams: ctx.stats.imageStreams,
      layerBytesUploaded: progress.bytes?.done ?? -1,
      layerBytesSkipped: progress.bytes?.skipped ?? -1,
      blobsUploaded: progress.blobs?.done ?? -1,
      isbObjectBytes: sizes.objectBytes,
      isbSpecBytes: sizes.specBytes,
      isbStatusBytes: sizes.statusBytes,
      ...cpuSeconds,
    },
  });
}
