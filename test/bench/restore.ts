// `restore`: an ISR of the first backup into an EMPTY registry, timed until Completed. The
// backup controller is stopped first, and a second controller process treats the empty
// registry as the cluster's internal one, as on a new cluster. Afterwards every reference is
// looked up by digest in the target, so a Completed that restored nothing would fail the run.
import { request } from '../fixture/http.js';
import { controllerOptions, type BenchContext } from './context.js';
import { startController } from './controller.js';
import { dirBytes } from './dirBytes.js';
import { ISR } from './kube.js';
import { phase, timed, timeline, type PhaseResult } from './measure.js';
import { PHASE_TIMEOUT_MS, productCpuMeter, productRun } from './productSetup.js';
import { startFilesystemRegistry } from './s3Registry.js';

const TERMINAL = ['Completed', 'PartiallyFailed', 'Failed'];

export async function runRestore(ctx: BenchContext): Promise<PhaseResult> {
  const run = await productRun(ctx);
  if (!run.backupName) throw new Error('restore restores what backup stored: run backup too');
  await run.controller?.stop();
  const target = await startFilesystemRegistry(ctx.env, ctx.dir, 'restore-registry');
  try {
    // The controller reaches its new registry through the profile; the check afterwards need not.
    const reached = await ctx.net.reach(target.host, 'restore-registry');
    const controller = await startController(ctx.env, {
      name: 'restore-controller', namespace: run.namespace, registry: reached, ...controllerOptions(ctx, 'restore-controller'),
    });
    try {
      const name = 'restore';
      run.objects.push({ resource: ISR, name });
      const body = {
        apiVersion: `${ISR.group}/${ISR.version}`, kind: 'ImageStreamsRestore', metadata: { name, namespace: run.namespace },
        spec: { imageStreamsBackupReference: { name: run.backupName }, backupLocation: { name: run.location } },
      };
      await controller.resetPeak();
      // The target registry is the run's own, not the stack's.
      const cpu = productCpuMeter(controller, false);
      const events = timeline();
      const { value: isr, seconds } = await timed(async () => {
        events.start();
        await run.kube.create(ISR, run.namespace, body);
        return run.kube.waitFor(ISR, run.namespace, name, (o) => TERMINAL.includes(String(o.status?.phase)), PHASE_TIMEOUT_MS, events.seen);
      });
      const peakRssBytes = await controller.peakRss();
      const cpuSeconds = cpu();
      if (isr.status?.phase !== 'Completed') {
        throw new Error(`ImageStreamsRestore ${run.namespace}/${name} ended ${String(isr.status?.phase)}: ${JSON.stringify(isr.status).slice(0, 2000)}`);
      }
      const missing = await missingReferences(ctx, target.host);
      if (missing.length) throw new Error(`restore said Completed, but ${missing.length} references are missing, e.g. ${missing[0]}`);
      return phase('restore', seconds, ctx.stats.uniqueBytes, await dirBytes(target.storage), {
        peakRssBytes,
        timeline: events.entries,
        details: { referencesChecked: ctx.stats.references, ...cpuSeconds },
      });
    } finally {
      await controller.stop();
    }
  } finally {
    await target.stop();
  }
}

async function missingReferences(ctx: BenchContext, host: string): Promise<string[]> {
  const reg = { host, caFile: ctx.env.REGISTRY_CA_FILE, username: ctx.env.REGISTRY_USER, password: ctx.env.REGISTRY_PASSWORD };
  const missing: string[] = [];
  for (const s of ctx.ds.streams) {
    for (const r of s.references) {
      const res = await request(reg, 'HEAD', `/v2/${s.repo}/manifests/${r.digest}`, { headers: { accept: r.mediaType } });
      if (res.status !== 200) missing.push(`${s.repo}@${r.digest}`);
    }
  }
  return missing;
}
