// ImageStreamsRestores of the original design's shape: an image stream entry with
// dockerImageReferences restores exactly those images, looked up by digest in the backup, with
// exactly the listed tags; what is not in the backup fails on its own. Checked with crane,
// a registry client the product does not use.
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsRestore, type ImageStreamsRestoreSpec } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { Crane } from '../datapath-helpers.js';
import { fixtureRegistryFromEnv, listTags, pushImage, type PushedImage } from '../fixture/images.js';
import { loadStackEnv, uniqueName } from '../stackEnv.js';
import { TestBucket, TestCluster, phaseIs } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';

const env = loadStackEnv();
const cluster = new TestCluster(env);
const bucket = new TestBucket(env);
const reg = fixtureRegistryFromEnv(env);
const ns = uniqueName('select');
const prefix = uniqueName('select-prefix');
const isrs = new CustomResources<ImageStreamsRestore>(cluster.kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
// The host the original example names: the restore ignores it.
const OPENSHIFT = 'image-registry.openshift-image-registry.svc:5000';

let ctl: ControllerProcess;
let crane: Crane;
const images: PushedImage[] = [];

async function restore(name: string, spec: ImageStreamsRestoreSpec): Promise<ImageStreamsRestore> {
  await isrs.create(ns, { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name, namespace: ns }, spec });
  for (const deadline = Date.now() + 90_000; ;) {
    const r = await isrs.get(ns, name);
    if (['Completed', 'PartiallyFailed', 'Failed'].includes(r?.status?.phase ?? '')) return r!;
    if (Date.now() > deadline) throw new Error(`restore ${name} did not end: ${JSON.stringify(r?.status)}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

beforeAll(async () => {
  await cluster.createNamespace(ns);
  await cluster.createCredentials(ns);
  await cluster.createLocation(ns, 'default', prefix, { default: true });
  for (let i = 0; i < 4; i++) images.push(await pushImage(reg, `${ns}/app`, { layers: [{ seed: `${ns}-${i}`, size: 100_000 + i }], label: `v${i}` }));
  ctl = await startController(env, { namespaces: [ns] });
  await ctl.waitReady();
  crane = await Crane.login(env);
  // One image stream of four images, as an ImageStream lists them: newest first, each with its tags.
  await cluster.createIsb(ns, 'four', {
    startBackup: true,
    imageStreams: [{ name: 'app', dockerImageReferences: images.map((img, i) => ({ dockerImageReference: `${env.REGISTRY}/${ns}/app@${img.digest}`, tags: [`v${i}`] })) }],
  });
  const done = await cluster.waitForIsb(ns, 'four', phaseIs('Completed', 'PartiallyFailed', 'Failed'), 'the backup');
  expect(done.status?.phase).toBe('Completed');
});

afterAll(async () => {
  await ctl?.kill('SIGTERM');
  await crane?.close();
  await bucket.remove(`${prefix}/`);
  bucket.close();
});

it('restores, with an ISR of the original design\'s shape, the image it names with the three tags it lists', async () => {
  const r = await restore('original', {
    ImageStreamsBackupReference: { name: 'four' },
    backupLocation: { name: 'default', velero: { ...cluster.locationSpec(prefix), default: true } },
    imageStreams: [{
      name: 'my-image-stream',
      dockerImageReferences: [{ dockerImageReference: `${OPENSHIFT}/${ns}/app@${images[2]!.digest}`, tags: ['latest', 'v1.0.0', 'v1.0.1'] }],
    }],
  });
  expect(r.status).toMatchObject({ phase: 'Completed', progress: { images: { total: 1, done: 1, failed: 0 } } });
  // The namespace comes from the reference's path, the name from the entry.
  const repo = `${env.REGISTRY}/${ns}/my-image-stream`;
  expect((await crane.run(['ls', repo])).trim().split('\n').sort()).toEqual(['latest', 'v1.0.0', 'v1.0.1']);
  for (const tag of ['latest', 'v1.0.0', 'v1.0.1']) expect(await crane.digest(`${repo}:${tag}`)).toBe(images[2]!.digest);
});

it('restores exactly two of the four images with exactly the tags listed, and fails a digest that is not in the backup on its own', async () => {
  const missing = `sha256:${'e'.repeat(64)}`;
  const r = await restore('two-of-four', {
    imageStreamsBackupReference: { name: 'four' },
    imageStreams: [{
      namespace: ns, name: 'selected',
      dockerImageReferences: [
        { dockerImageReference: `${OPENSHIFT}/${ns}/app@${images[1]!.digest}`, tags: ['a'] },
        { dockerImageReference: `quay.io/elsewhere/app@${images[3]!.digest}`, tags: ['b', 'c'] },
        { dockerImageReference: `${OPENSHIFT}/${ns}/app@${missing}`, tags: ['gone'] },
      ],
    }],
  });
  expect(r.status).toMatchObject({
    phase: 'PartiallyFailed',
    progress: { images: { total: 3, done: 2, failed: 1 } },
    failures: [{ imageStream: `${ns}/selected`, reference: `${OPENSHIFT}/${ns}/app@${missing}`, message: `image ${missing} is not in backup "four"` }],
  });
  const repo = `${env.REGISTRY}/${ns}/selected`;
  expect((await listTags(reg, `${ns}/selected`)).sort()).toEqual(['a', 'b', 'c']);
  expect(await crane.digest(`${repo}:a`)).toBe(images[1]!.digest);
  expect(await crane.digest(`${repo}:b`)).toBe(images[3]!.digest);
  expect(await crane.digest(`${repo}:c`)).toBe(images[3]!.digest);
  // Exactly those two: the others were not pushed to this repository.
  for (const i of [0, 2]) await expect(crane.digest(`${repo}@${images[i]!.digest}`)).rejects.toThrow(/MANIFEST_UNKNOWN|not found|404/i);
});
