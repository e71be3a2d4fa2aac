// `backupAgain`: a second ISB over the same images, into the same BSL. Every layer is in the
// pool already, so it should upload none and take a small fraction of `backup`'s time.
// Uploaded bytes are read from the store (layer objects written during the phase), not only
// from the status the product reports about itself.
import type { BenchContext } from './context.js';
import { phase, type PhaseResult } from './measure.js';
import { applyIsb, bytesWritten, productCpuMeter, objectSizes, poolSnapshot, productRun } from './productSetup.js';
import { prefixUsage } from './s3.js';

export async function runBackupAgain(ctx: BenchContext): Promise<PhaseResult> {
  const run = await productRun(ctx);
  if (!run.backupName) throw new Error('backupAgain repeats backup: run backup too');
  const before = await prefixUsage(ctx.s3, ctx.env.S3_BUCKET, run.prefix);
  const poolBefore = await poolSnapshot(ctx, run);
  await run.controller!.resetPeak();
  const cpu = productCpuMeter(run.controller!);
  const { seconds, isb, timeline } = await applyIsb(ctx, run, 'backup-again');
  const peakRssBytes = await run.controller!.peakRss();
  const cpuSeconds = cpu();
  const after = await prefixUsage(ctx.s3, ctx.env.S3_BUCKET, run.prefix);
  const rewritten = bytesWritten(poolBefore, await poolSnapshot(ctx, run));
  const reported = (isb.status?.progress as { bytes?: { done?: number; skipped?: number } } | undefined)?.bytes;
  return phase('backupAgain', seconds, ctx.stats.uniqueBytes, after.bytes - before.bytes, {
    peakRssBytes,
    timeline,
    details: {
      layerBytesUploaded: Math.max(rewritten, reported?.done ?? 0),
      layerBytesWrittenToPool: rewritten,
      statusBytesDone: reported?.done ?? -1,
      statusBytesSkipped: reported?.skipped ?? -1,
      isbObjectBytes: objectSizes(isb).objectBytes,
      ...cpuSeconds,
    },
  });
}
