// A backup and a restore through the controller process per provider, each on its emulator in
// the stack (MinIO, Azurite, fake-gcs-server) through a velero.io/v1 BackupStorageLocation of
// that provider, with identical digests; and the condition a wrong key, a missing container or
// bucket and a TLS failure each give.
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsBackup, type ImageStreamsRestore } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import type { BackupStorageLocation } from '../../pkg/k8s/velero.js';
import { Crane } from '../datapath-helpers.js';
import { blobDigest, fixtureRegistryFromEnv, pushImage, type PushedImage } from '../fixture/images.js';
import { PROVIDERS, providerFixture, type ProviderName } from '../fixture/providers.js';
import { loadProviderStackEnv, uniqueName } from '../stackEnv.js';
import { TestCluster, phaseIs, readyReason } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';

const env = loadProviderStackEnv();
const cluster = new TestCluster(env);
const reg = fixtureRegistryFromEnv(env);
const isrs = new CustomResources<ImageStreamsRestore>(cluster.kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
const ns = uniqueName('providers');
const MiB = 1024 * 1024;

let controller: ControllerProcess;
let crane: Crane;
let img: PushedImage;
const prefixes = new Map<ProviderName, string>();

beforeAll(async () => {
  await cluster.createNamespace(ns);
  for (const name of PROVIDERS) {
    const p = providerFixture(env, name);
    const prefix = uniqueName(`e2e-${name}`);
    prefixes.set(name, prefix);
    await cluster.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `${name}-credentials` }, stringData: { cloud: p.credentials() } } });
    const wrong = p.wrongCredentials();
    if (wrong) await cluster.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `${name}-wrong` }, stringData: { cloud: wrong } } });
    const bsl = (bslName: string, spec: ReturnType<typeof p.location>) => cluster.bsls.create(ns, {
      apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation', metadata: { name: bslName, namespace: ns }, spec,
    } as BackupStorageLocation);
    const credential = (secret: string) => ({ credential: { name: secret, key: 'cloud' } });
    await bsl(name, { ...p.location(prefix), ...credential(`${name}-credentials`) });
    if (wrong) await bsl(`${name}-wrong-key`, { ...p.location(prefix), ...credential(`${name}-wrong`) });
    await bsl(`${name}-no-bucket`, { ...p.location(prefix, { bucket: uniqueName('nobucket') }), ...credential(`${name}-credentials`) });
    await bsl(`${name}-no-ca`, { ...p.location(prefix, { caCert: null }), ...credential(`${name}-credentials`) });
  }
  img = await pushImage(reg, `${ns}/app`, { layers: [{ seed: uniqueName('small'), size: 200 * 1024 }, { seed: uniqueName('big'), size: 20 * MiB }] });
  crane = await Crane.login(env);
  controller = await startController(env, { namespaces: [ns] });
  await controller.waitReady();
}, 300_000);

afterAll(async () => {
  await controller?.kill('SIGTERM');
  await crane?.close();
  for (const name of PROVIDERS) {
    const raw = providerFixture(env, name).raw();
    await raw.deletePrefix(`${prefixes.get(name)}/`);
    raw.close();
  }
});

async function waitForIsr(name: string, done: (r: ImageStreamsRestore) => boolean, timeoutMs = 120_000): Promise<ImageStreamsRestore> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await isrs.get(ns, name);
    if (r && done(r)) return r;
    if (Date.now() > deadline) throw new Error(`ImageStreamsRestore ${ns}/${name}: timed out; status: ${JSON.stringify(r?.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.each(PROVIDERS)('provider %s', (name: ProviderName) => {
  test('a backup and a restore round-trip through the controller with identical digests', async () => {
    const isb = `rt-${name}`;
    await cluster.createIsb(ns, isb, {
      startBackup: true, backupLocation: { name },
      imageStreams: [{ name: 'app', dockerImageReferences: [{ dockerImageReference: `${env.REGISTRY}/${ns}/app@${img.digest}`, tags: ['latest', 'v1'] }] }],
    });
    const done = await cluster.waitForIsb(ns, isb, phaseIs('Completed', 'Failed', 'PartiallyFailed'), 'the backup to end', 180_000);
    expect(done.status?.phase).toBe('Completed');
    const layerBytes = img.layers.reduce((n, l) => n + l.size, 0);
    expect(done.status?.progress?.bytes.total).toBe(layerBytes);

    const target = uniqueName(`restored-${name}`);
    await isrs.create(ns, {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name: isb, namespace: ns },
      spec: { imageStreamsBackupReference: { name: isb }, backupLocation: { name }, namespaceMapping: { [ns]: target } },
    } as ImageStreamsRestore);
    const restored = await waitForIsr(isb, (r) => ['Completed', 'Failed', 'PartiallyFailed'].includes(r.status?.phase ?? ''), 180_000);
    expect(restored.status?.phase).toBe('Completed');
    expect(await crane.digest(`${env.REGISTRY}/${target}/app:latest`)).toBe(img.digest);
    expect(await crane.digest(`${env.REGISTRY}/${target}/app:v1`)).toBe(img.digest);
    // Every layer in the registry, hashed whole by the fixture's own client.
    for (const l of img.layers) expect(await blobDigest(reg, `${target}/app`, l.digest)).toBe(l.digest);
  }, 400_000);

  const broken: Array<[string, string, string]> = [
    ...(providerFixture(env, name).wrongCredentials() ? [['a wrong key', `${name}-wrong-key`, 'InvalidCredentials'] as [string, string, string]] : []),
    ['a missing container or bucket', `${name}-no-bucket`, 'BucketNotFound'],
    ['a TLS certificate it cannot verify', `${name}-no-ca`, 'TLSVerificationFailed'],
  ];
  test.each(broken)('%s keeps the backup waiting with a clear condition', async (_case, bsl, reason) => {
    const isb = `${bsl}`.slice(0, 50);
    await cluster.createIsb(ns, isb, {
      startBackup: true, backupLocation: { name: bsl },
      imageStreams: [{ name: 'app', dockerImageReferences: [{ dockerImageReference: `${env.REGISTRY}/${ns}/app@${img.digest}`, tags: ['latest'] }] }],
    });
    const waiting = await cluster.waitForIsb(ns, isb, (o: ImageStreamsBackup) => readyReason(o) === reason, `Ready reason ${reason}`, 60_000);
    const available = waiting.status?.conditions?.find((c) => c.type === 'BackupLocationAvailable');
    expect(available).toMatchObject({ status: 'False', reason });
    expect(waiting.status?.phase).not.toBe('Completed');
    expect(JSON.stringify(waiting.status)).not.toContain(env.AZURE_KEY);
  }, 120_000);
});
