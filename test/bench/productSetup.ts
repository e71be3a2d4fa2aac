// What the product's phases share: a namespace of the run with a BSL on its own prefix and the
// credential Secret (made by the end-to-end tests' TestCluster), the built controller running
// as its own process, and ISBs applied and timed until they settle.
import { execFileSync } from 'node:child_process';
import { listPages } from '../fixture/bucket.js';
import { TestCluster } from '../e2e/cluster.js';
import { repoRoot } from '../stackEnv.js';
import { controllerOptions, runPrefix, type BenchContext } from './context.js';
import { startController, type ControllerProcess } from './controller.js';
import { cpuMeter, cpuSeconds, stackPid } from './processes.js';
import { ISB, Kube, type Obj, type Resource } from './kube.js';
import { timed, timeline, type TimelineEntry } from './measure.js';
import { deletePrefix } from './s3.js';

export interface ProductRun {
  namespace: string;
  location: string;
  /** The BSL's prefix, and the product's root under it. */
  prefix: string;
  root: string;
  kube: Kube;
  /** The controller against the stack's registry (backups); stopped before the restore. */
  controller?: ControllerProcess;
  /** The first ISB, once Completed: what the restore restores. */
  backupName?: string;
  /** Custom resources to remove at the end. */
  objects: Array<{ resource: Resource; name: string }>;
}

const KEY = 'product';
const TERMINAL = ['Completed', 'PartiallyFailed', 'Failed'];
/** Generous: a phase that takes this long has a problem the log will show. */
export const PHASE_TIMEOUT_MS = 30 * 60_000;

export async function productRun(ctx: BenchContext): Promise<ProductRun> {
  const existing = ctx.handoff.get(KEY) as ProductRun | undefined;
  if (existing) return existing;
  if (!ctx.controllerDist) {
    ctx.log('building the controller (npm run build)');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: ['ignore', 2, 2] });
  }
  const run: ProductRun = {
    namespace: `bench-${ctx.runId}`, location: 'bench', prefix: runPrefix(ctx, 'product'),
    root: `${runPrefix(ctx, 'product')}plugins/imagestreams/v1/`, kube: new Kube(ctx.env), objects: [],
  };
  const cluster = new TestCluster(ctx.env);
  await cluster.createNamespace(run.namespace);
  await cluster.createCredentials(run.namespace);
  await cluster.createLocation(run.namespace, run.location, run.prefix);
  ctx.handoff.set(KEY, run);
  ctx.stops.push(async () => run.controller?.stop());
  ctx.cleanup.push(async () => {
    for (const o of run.objects) await run.kube.remove(o.resource, run.namespace, o.name);
    await cluster.core.deleteNamespace({ name: run.namespace }).catch(() => undefined);
    await deletePrefix(ctx.s3, ctx.env.S3_BUCKET, run.prefix);
  });
  run.controller = await startController(ctx.env, {
    name: 'backup-controller', namespace: run.namespace, registry: ctx.env.REGISTRY, ...controllerOptions(ctx, 'backup-controller'),
  });
  return run;
}

/** Every image stream of the data set, every reference by digest with its tags. */
export function isbSpec(ctx: BenchContext, run: ProductRun) {
  const { ds } = ctx;
  return {
    startBackup: true,
    backupLocation: { name: run.location },
    imageStreams: ds.streams.map((s) => ({
      name: s.name,
      namespace: ds.plan.namespace,
      dockerImageReferences: s.references.map((r) => ({ dockerImageReference: `${ds.registry}/${s.repo}@${r.digest}`, tags: r.tags })),
    })),
  };
}

/** Creates an ISB (of the whole data set unless `spec` says otherwise) and waits for it to settle; the time is from the create call to the first status that says Completed. */
export async function applyIsb(ctx: BenchContext, run: ProductRun, name: string, spec = isbSpec(ctx, run)): Promise<{ seconds: number; isb: Obj; timeline: TimelineEntry[] }> {
  const body = {
    apiVersion: `${ISB.group}/${ISB.version}`, kind: 'ImageStreamsBackup', metadata: { name, namespace: run.namespace }, spec,
  };
  run.objects.push({ resource: ISB, name });
  const events = timeline();
  const { value: isb, seconds } = await timed(async () => {
    events.start();
    await run.kube.create(ISB, run.namespace, body);
    return run.kube.waitFor(ISB, run.namespace, name, (o) => TERMINAL.includes(String(o.status?.phase)), PHASE_TIMEOUT_MS, events.seen);
  });
  if (isb.status?.phase !== 'Completed') {
    throw new Error(`ImageStreamsBackup ${run.namespace}/${name} ended ${String(isb.status?.phase)}: ${JSON.stringify(isb.status).slice(0, 2000)}`);
  }
  return { seconds, isb, timeline: events.entries };
}

/** The layer objects of the pool: key -> what changes when an object is written again. */
export async function poolSnapshot(ctx: BenchContext, run: ProductRun): Promise<Map<string, { version: string; size: number }>> {
  const out = new Map<string, { version: string; size: number }>();
  for await (const page of listPages(ctx.s3, ctx.env.S3_BUCKET, `${run.root}blobs/`)) {
    for (const o of page) out.set(o.Key!, { version: `${o.ETag}@${o.LastModified?.toISOString()}`, size: o.Size ?? 0 });
  }
  return out;
}

/** Bytes of layer objects that are new in `after`, or written again (another ETag or time): a re-upload shows even when it changes no size. */
export function bytesWritten(before: Map<string, { version: string }>, after: Map<string, { version: string; size: number }>): number {
  let bytes = 0;
  for (const [key, o] of after) if (before.get(key)?.version !== o.version) bytes += o.size;
  return bytes;
}

/** The ISB as the API server stores it (JSON), whole and by part. */
export function objectSizes(o: Obj): { objectBytes: number; specBytes: number; statusBytes: number } {
  const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v ?? {}));
  return { objectBytes: size(o), specBytes: size(o.spec), statusBytes: size(o.status) };
}

/**
 * CPU seconds used from now until the returned function is called: by the controller, and by the
 * stack's registry (`withRegistry`: the phase reads or writes it) and MinIO. On 2 cores shared
 * by all three, a phase whose servers are busy is bound by them, not by the product.
 */
export function productCpuMeter(controller: ControllerProcess, withRegistry = true): () => Record<string, number> {
  return cpuMeter({
    controllerCpuSeconds: () => cpuSeconds(controller.pid),
    ...(withRegistry && { registryCpuSeconds: () => cpuSeconds(stackPid('registry')) }),
    minioCpuSeconds: () => cpuSeconds(stackPid('minio')),
  });
}
