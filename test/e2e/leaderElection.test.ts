// Two replicas of the controller against one stack: only the Lease holder works. A backup is
// copied once (one set of uploads) and its phase never flips back; when the leader is killed
// mid-backup, the other replica takes the Lease and completes it.
import { Watch } from '@kubernetes/client-node';
import { GROUP, ISB_PLURAL, VERSION, type ImageStreamsBackup } from '../../pkg/api/index.js';
import { fixtureRegistryFromEnv, pushImage, type PushedImage } from '../fixture/images.js';
import { loadStackEnv, uniqueName } from '../stackEnv.js';
import { TestBucket, TestCluster, phaseIs } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';

const env = loadStackEnv();
const cluster = new TestCluster(env);
const bucket = new TestBucket(env);
const reg = fixtureRegistryFromEnv(env);
const ns = uniqueName('leader');
const prefix = uniqueName('leader-prefix');
const root = `${prefix}/plugins/imagestreams/v1/`;
const MiB = 1024 * 1024;

const controllers: ControllerProcess[] = [];
let stopWatching = false;
let watch: AbortController | undefined;
const phases = new Map<string, string[]>();

/** Every phase the API server held, per ISB, from a watch (polling could miss a flip); a watch that ends (client-node's idle timeout) goes on from its last resourceVersion. */
async function watchPhases(resourceVersion?: string): Promise<void> {
  let last = resourceVersion;
  watch = await new Watch(cluster.kc).watch(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/${ISB_PLURAL}`, last ? { resourceVersion: last } : {}, (_type, obj: ImageStreamsBackup) => {
    last = obj.metadata?.resourceVersion ?? last;
    const name = obj.metadata!.name!;
    const seen = phases.get(name) ?? [];
    const phase = obj.status?.phase;
    if (phase && seen.at(-1) !== phase) seen.push(phase);
    phases.set(name, seen);
  }, () => { if (!stopWatching) void watchPhases(last); });
}

async function replica(): Promise<ControllerProcess> {
  // One blob at a time, so that a backup lasts long enough to kill its leader in the middle.
  const c = await startController(env, { namespaces: [ns], env: { BLOB_CONCURRENCY: '1', IMAGE_CONCURRENCY: '1', PROGRESS_INTERVAL_MS: '200' } });
  controllers.push(c);
  return c;
}

async function leaderOf(): Promise<ControllerProcess> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    for (const c of controllers) {
      const text = await c.metrics().catch(() => '');
      if (/^imagestream_backup_leader 1$/m.test(text)) return c;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no replica leads');
}

const uploaded = async (c: ControllerProcess): Promise<number> =>
  Number(/^imagestream_backup_bytes_uploaded_total (\d+)/m.exec(await c.metrics())?.[1] ?? 'NaN');

function backup(name: string, images: PushedImage[]) {
  return cluster.createIsb(ns, name, {
    startBackup: true,
    imageStreams: images.map((img, i) => ({ name: `app${i}`, dockerImageReferences: [{ dockerImageReference: `${env.REGISTRY}/${ns}/app${i}@${img.digest}`, tags: ['v1'] }] })),
  });
}

beforeAll(async () => {
  await cluster.createNamespace(ns);
  await cluster.createCredentials(ns);
  await cluster.createLocation(ns, 'default', prefix, { default: true });
  await watchPhases();
  await replica();
  await replica();
  await leaderOf();
});

afterAll(async () => {
  stopWatching = true;
  watch?.abort();
  await Promise.all(controllers.map((c) => c.kill('SIGTERM')));
  await bucket.remove(`${prefix}/`);
  bucket.close();
});

describe('two replicas', () => {
  it('copy a backup once: only the leader uploads, and the phase never flips back', async () => {
    const images = [await pushImage(reg, `${ns}/app0`, { layers: [{ seed: `${ns}-once`, size: 3 * MiB }] })];
    await backup('once', images);
    const done = await cluster.waitForIsb(ns, 'once', phaseIs('Completed', 'PartiallyFailed', 'Failed'), 'the end of the backup');
    expect(done.status?.phase).toBe('Completed');
    const leader = await leaderOf();
    const standby = controllers.find((c) => c !== leader)!;
    expect(await uploaded(leader)).toBe(3 * MiB);
    expect(await uploaded(standby)).toBe(0);
    // A standby reconciles nothing at all: it only waits for the Lease.
    expect(await standby.metrics()).not.toMatch(/^imagestream_backup_reconciles_total\{/m);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(phases.get('once')).toEqual(['InProgress', 'Completed']);
  });

  it('hand a backup over when the leader dies in the middle of it: the other replica completes it', async () => {
    const images = [0, 1, 2].map(() => undefined);
    const pushed: PushedImage[] = [];
    for (const i of images.keys()) pushed.push(await pushImage(reg, `${ns}/app${i}`, { layers: [{ seed: `${ns}-big${i}`, size: 24 * MiB }] }));
    const leader = await leaderOf();
    await backup('handover', pushed);
    await cluster.waitForIsb(ns, 'handover', (b) => (b.status?.progress?.bytes.done ?? 0) > 0, 'the first bytes uploaded', 60_000);
    await leader.kill('SIGKILL');
    controllers.splice(controllers.indexOf(leader), 1);

    const done = await cluster.waitForIsb(ns, 'handover', phaseIs('Completed', 'PartiallyFailed', 'Failed'), 'the end of the backup', 120_000);
    expect(done.status?.phase).toBe('Completed');
    const successor = await leaderOf();
    expect(successor.logs()).toMatch(/"became leader"/);
    const stored = await bucket.list(`${root}blobs/`);
    for (const img of pushed) for (const l of img.layers) expect(stored.get(`${root}blobs/sha256/${l.digest.slice(7)}`)).toBe(l.size);
    expect(phases.get('handover')?.filter((p) => p === 'Completed')).toHaveLength(1);
    expect(phases.get('handover')?.at(-1)).toBe('Completed');
  }, 180_000);
});
