// An ImageStreamsRestore with verifyOnly, end to end: a backup made by the controller process on
// the local stack is then verified by a second controller process whose registry is a port that
// nobody listens on, so a verification that needed the registry could not complete. Intact, it
// ends Completed and nothing appears in the registry; with a layer overwritten in the bucket
// behind the product's back, it ends Failed naming that digest in Ready and in an event.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsRestore, type ImageStreamsRestoreSpec } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { blobKey, rootFor } from '../../pkg/store/keys.js';
import { rawS3 } from '../datapath-helpers.js';
import { request } from '../fixture/http.js';
import { fixtureRegistryFromEnv, pushImage, sha256, type PushedImage } from '../fixture/images.js';
import { freePort, waitFor } from '../fixture/wait.js';
import { loadStackEnv, uniqueName } from '../stackEnv.js';
import { TestBucket, TestCluster, phaseIs } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';

const env = loadStackEnv();
const cluster = new TestCluster(env);
const bucket = new TestBucket(env);
const reg = fixtureRegistryFromEnv(env);
const ns = uniqueName('verify');
const target = `${ns}-target`;
const prefix = uniqueName('verify-prefix');
const isrs = new CustomResources<ImageStreamsRestore>(cluster.kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
const KiB = 1024;

let ctl: ControllerProcess | undefined;
let s3: S3Client;
const images: PushedImage[] = [];

async function verify(name: string, spec: Partial<ImageStreamsRestoreSpec> = {}): Promise<ImageStreamsRestore> {
  await isrs.create(ns, {
    apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name, namespace: ns },
    // Were it restoring, the mapping would send the images to <target>/...: nothing may appear there.
    spec: { imageStreamsBackupReference: { name: 'nightly' }, verifyOnly: true, namespaceMapping: { [ns]: target }, ...spec },
  });
  return waitFor(`ImageStreamsRestore ${name} to end`, async () => (await isrs.get(ns, name))!,
    (r) => ['Completed', 'PartiallyFailed', 'Failed'].includes(r.status?.phase ?? ''), 90_000);
}

async function eventsOf(name: string, reason: string) {
  return waitFor(`a ${reason} event of ${name}`, async () => (await cluster.core.listNamespacedEvent({ namespace: ns })).items
    .filter((e) => e.involvedObject.kind === 'ImageStreamsRestore' && e.involvedObject.name === name), (list) => list.some((e) => e.reason === reason), 10_000);
}

/** Every repository of the stack's registry (the catalog, page by page). */
async function repositories(): Promise<string[]> {
  const all: string[] = [];
  for (let next: string | undefined = '/v2/_catalog?n=1000'; next;) {
    const r = await request(reg, 'GET', next);
    if (r.status !== 200) throw new Error(`catalog: HTTP ${r.status}`);
    all.push(...(JSON.parse(r.body.toString('utf8')) as { repositories: string[] }).repositories);
    next = /<([^>]+)>;\s*rel="next"/.exec(String(r.headers.link ?? ''))?.[1];
  }
  return all;
}

const readyOf = (r: ImageStreamsRestore) => r.status?.conditions?.find((c) => c.type === 'Ready');

beforeAll(async () => {
  s3 = rawS3(env);
  await cluster.createNamespace(ns);
  await cluster.createCredentials(ns);
  await cluster.createLocation(ns, 'default', prefix, { default: true });
  const base = { seed: uniqueName('base'), size: 80 * KiB };
  images.push(await pushImage(reg, `${ns}/app`, { layers: [base, { seed: uniqueName('app'), size: 40 * KiB }] }));
  images.push(await pushImage(reg, `${ns}/tools`, { layers: [base, { seed: uniqueName('tools'), size: 20 * KiB }] }));
  const backupCtl = await startController(env, { namespaces: [ns] });
  try {
    await backupCtl.waitReady();
    await cluster.createIsb(ns, 'nightly', {
      startBackup: true,
      imageStreams: ['app', 'tools'].map((name, i) => ({ name, dockerImageReferences: [{ dockerImageReference: `${env.REGISTRY}/${ns}/${name}@${images[i]!.digest}`, tags: ['latest'] }] })),
    });
    const done = await cluster.waitForIsb(ns, 'nightly', phaseIs('Completed', 'PartiallyFailed', 'Failed'), 'the backup');
    expect(done.status?.phase).toBe('Completed');
  } finally {
    await backupCtl.kill('SIGTERM');
  }
  // The verifying controller's registry: a free port, closed.
  ctl = await startController(env, { namespaces: [ns], env: { INTERNAL_REGISTRY: `127.0.0.1:${await freePort()}` } });
  await ctl.waitReady();
});

afterAll(async () => {
  await ctl?.kill('SIGTERM');
  await bucket.remove(`${prefix}/`);
  bucket.close();
  s3?.destroy();
});

it('verifies an intact backup with no registry to reach: Completed, every layer read, nothing pushed', async () => {
  const r = await verify('intact');
  // Three unique layers: the shared base and one of each image.
  const bytes = 80 * KiB + 40 * KiB + 20 * KiB;
  expect(r.status).toMatchObject({
    phase: 'Completed', badBlobs: 0,
    progress: { images: { total: 2, done: 2, failed: 0 }, blobs: { total: 3, done: 3, skipped: 0 }, bytes: { total: bytes, done: bytes, skipped: 0 } },
  });
  expect(readyOf(r)).toMatchObject({ status: 'True', reason: 'Completed', message: expect.stringMatching(/^backup "nightly" is intact: 3 layers \(140.0 KiB\) read and hashed/) });
  const reasons = (await eventsOf('intact', 'VerifyCompleted')).map((e) => e.reason);
  expect(reasons).toEqual(expect.arrayContaining(['VerifyStarted', 'VerifyCompleted']));
  expect(reasons).not.toContain('RestoreStarted');
  // The stack's registry (the one a restore would push to) has nothing of the target namespace.
  const repos = await repositories();
  expect(repos).toEqual(expect.arrayContaining([`${ns}/app`, `${ns}/tools`]));
  expect(repos.filter((repo) => repo.startsWith(`${target}/`))).toEqual([]);
});

it('fails a backup with a layer overwritten behind its back, naming the digest in Ready and in an event', async () => {
  const layer = images[0]!.layers[1]!;
  const other = randomBytes(layer.size);
  await s3.send(new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: blobKey(rootFor(prefix), layer.digest), Body: other }));

  const r = await verify('corrupt');
  expect(r.status).toMatchObject({ phase: 'Failed', badBlobs: 1, progress: { images: { total: 2, done: 1, failed: 1 }, blobs: { done: 3 } } });
  expect(readyOf(r)).toMatchObject({ status: 'False', reason: 'BackupCorrupt' });
  expect(readyOf(r)?.message).toContain(`${layer.digest} hashes to ${sha256(other)}`);
  expect(r.status?.failures).toEqual([{ imageStream: `${ns}/app`, reference: layer.digest, message: expect.stringContaining(`hashes to ${sha256(other)}; used by ${ns}/app`) }]);
  const corrupt = (await eventsOf('corrupt', 'BackupCorrupt')).find((e) => e.reason === 'BackupCorrupt')!;
  expect(corrupt).toMatchObject({ type: 'Warning', message: expect.stringContaining(`layer ${layer.digest}`) });
  expect(corrupt.message).toContain(sha256(other));
  // And the controller's log names it, with what it hashed to.
  expect(ctl!.logs()).toContain(`"actualDigest":"${sha256(other)}"`);
});
