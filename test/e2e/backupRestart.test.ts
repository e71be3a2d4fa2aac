// Restart safety: the controller is SIGKILLed halfway through a backup of about 1.3 GiB, and a
// new controller process finishes it, uploading only the blobs the pool does not hold yet.
import type { ImageStreamsBackup } from '../../pkg/api/index.js';
import { fixtureRegistryFromEnv, pushImage, type PushedImage } from '../fixture/images.js';
import { loadStackEnv, uniqueName } from '../stackEnv.js';
import { TestBucket, TestCluster, phaseIs } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';

const MiB = 1024 * 1024;
const env = loadStackEnv();
const cluster = new TestCluster(env);
const bucket = new TestBucket(env);
const reg = fixtureRegistryFromEnv(env);
const ns = uniqueName('isb-restart');
const prefix = uniqueName('isb-restart-prefix');
const root = `${prefix}/plugins/imagestreams/v1/`;
// One image and one blob at a time, so that "halfway" means whole blobs are stored and others not.
const controllerEnv = { PROGRESS_INTERVAL_MS: '500', IMAGE_CONCURRENCY: '1', BLOB_CONCURRENCY: '1' };

const images: PushedImage[] = [];
const running: ControllerProcess[] = [];

beforeAll(async () => {
  await cluster.createNamespace(ns);
  await cluster.createCredentials(ns);
  await cluster.createLocation(ns, 'default', prefix, { default: true });
  const specs = [
    [{ seed: `${ns}-big1`, size: 400 * MiB }, { seed: `${ns}-s1`, size: 20 * MiB }],
    [{ seed: `${ns}-big2`, size: 400 * MiB }, { seed: `${ns}-s2`, size: 20 * MiB }],
    [{ seed: `${ns}-big3`, size: 400 * MiB }, { seed: `${ns}-s3`, size: 20 * MiB }, { seed: `${ns}-s4`, size: 20 * MiB }],
  ];
  for (const [i, layers] of specs.entries()) images.push(await pushImage(reg, `${ns}/big${i}`, { layers, label: `big${i}` }));
}, 600_000);

afterAll(async () => {
  for (const c of running) await c.kill('SIGTERM');
  await bucket.remove(`${prefix}/`);
  bucket.close();
});

async function start(): Promise<ControllerProcess> {
  const c = await startController(env, { namespaces: [ns], env: controllerEnv });
  running.push(c);
  await c.waitReady();
  return c;
}

it('finishes a backup after a SIGKILL halfway, without uploading again the blobs already stored', async () => {
  const layers = new Map(images.flatMap((img) => img.layers.map((l) => [l.digest, l.size] as const)));
  const total = [...layers.values()].reduce((a, b) => a + b, 0);

  const first = await start();
  await cluster.createIsb(ns, 'big', {
    startBackup: true,
    imageStreams: images.map((img, i) => ({
      name: `big${i}`, dockerImageReferences: [{ dockerImageReference: `${env.REGISTRY}/${ns}/big${i}@${img.digest}`, tags: ['latest'] }],
    })),
  });
  const halfway = (o: ImageStreamsBackup) => (o.status?.progress?.bytes.done ?? 0) >= total / 2 || ['Completed', 'Failed'].includes(o.status?.phase ?? '');
  const atKill = await cluster.waitForIsb(ns, 'big', halfway, 'half the bytes uploaded', 300_000);
  await first.kill('SIGKILL');
  expect(atKill.status!.phase).toBe('InProgress');

  // What survived the kill: whole blobs only (an interrupted multipart upload leaves no object).
  const pool = await bucket.list(`${root}blobs/`);
  const storedBeforeRestart = [...pool.values()].reduce((a, b) => a + b, 0);
  expect(storedBeforeRestart).toBeGreaterThan(0);
  expect(await bucket.list(`${root}backups/`)).toEqual(new Map());

  const second = await start();
  const done = await cluster.waitForIsb(ns, 'big', phaseIs('Completed'), 'Completed after the restart', 300_000);
  const bytes = done.status!.progress!.bytes;
  expect(bytes.total).toBe(total);
  expect(bytes.skipped).toBe(storedBeforeRestart);
  expect(bytes.done).toBe(total - storedBeforeRestart);
  expect(bytes.done).toBeLessThan(total);

  const after = await bucket.list(`${root}blobs/`);
  for (const [digest, size] of layers) expect(after.get(`${root}blobs/sha256/${digest.slice(7)}`)).toBe(size);
  expect(await cluster.eventReasons(ns, 'big', ['BackupResumed'])).toContain('BackupResumed');
  expect(second.logs()).not.toContain(env.S3_SECRET_KEY);

  console.log(`restart safety: total ${total} B (${(total / MiB).toFixed(0)} MiB); `
    + `progress at SIGKILL ${atKill.status!.progress!.bytes.done} B; whole blobs stored before the restart ${storedBeforeRestart} B; `
    + `uploaded after the restart ${bytes.done} B (${((100 * bytes.done) / total).toFixed(1)}% of the total)`);
}, 900_000);
