// The cluster-wide proxy: with HTTPS_PROXY set, object storage and the API server are reached
// through it, and the internal registry, which NO_PROXY names, directly. The registry is named
// `localhost` here and every other server `127.0.0.1`, so that NO_PROXY can tell them apart on
// one machine.
import { fixtureRegistryFromEnv, pushImage } from '../fixture/images.js';
import { startForwardProxy, type ForwardProxy } from '../fixture/forwardProxy.js';
import { loadStackEnv, uniqueName } from '../stackEnv.js';
import { TestBucket, TestCluster, phaseIs } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';

const env = loadStackEnv();
const cluster = new TestCluster(env);
const bucket = new TestBucket(env);
const reg = fixtureRegistryFromEnv(env);
const ns = uniqueName('proxy');
const prefix = uniqueName('proxy-prefix');
const registry = env.REGISTRY.replace('127.0.0.1', 'localhost');

let proxy: ForwardProxy;
let ctl: ControllerProcess;

beforeAll(async () => {
  proxy = await startForwardProxy();
  await cluster.createNamespace(ns);
  await cluster.createCredentials(ns);
  await cluster.createLocation(ns, 'default', prefix, { default: true });
  ctl = await startController(env, {
    namespaces: [ns],
    env: { INTERNAL_REGISTRY: registry, HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,.svc,.cluster.local' },
  });
  await ctl.waitReady();
});

afterAll(async () => {
  await ctl?.kill('SIGTERM');
  await proxy?.close();
  await bucket.remove(`${prefix}/`);
  bucket.close();
});

it('sends object storage and API server traffic through HTTPS_PROXY, and registry traffic directly as NO_PROXY says', async () => {
  const img = await pushImage(reg, `${ns}/app`, { layers: [{ seed: `${ns}-l`, size: 200_000 }] });
  await cluster.createIsb(ns, 'b', {
    startBackup: true,
    imageStreams: [{ name: 'app', dockerImageReferences: [{ dockerImageReference: `${registry}/${ns}/app@${img.digest}`, tags: ['v1'] }] }],
  });
  const done = await cluster.waitForIsb(ns, 'b', phaseIs('Completed', 'PartiallyFailed', 'Failed'), 'the end of the backup');
  expect(done.status?.phase).toBe('Completed');
  const targets = new Set(proxy.targets());
  const s3 = new URL(env.S3_ENDPOINT).host;
  const api = new URL((await cluster.kc.getCurrentCluster())!.server).host;
  expect(targets).toContain(s3);
  expect(targets).toContain(api);
  expect([...targets].filter((t) => t.startsWith('localhost:'))).toEqual([]);
});
