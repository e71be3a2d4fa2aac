// The memory of a large restore (issue 14): a crafted bundle.tar of 5,000 references (50 image
// streams of 100 images; each image its own manifest and config, all sharing 4 pool layers) is
// restored by the controller as its own process (built dist/, the image's environment, as the
// benchmark runs it) into new repositories of the stack's registry; the peak resident memory is
// the kernel's VmHWM, reset once the controller is ready, as the benchmark's probe reads it.
//
//   npm run build && node --import tsx test/bench/restore5k.ts [--images 5000] [--streams 50] [--controller-dist DIR]
//
// Prints one JSON object: references, metadata bytes in the bundle, seconds from the create call
// to Completed, and peak RSS. Not a timed test: a measurement to repeat by hand.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsRestore } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { rawS3 } from '../datapath-helpers.js';
import { deletePrefix } from '../fixture/bucket.js';
import { loadStackEnv } from '../stackEnv.js';
import { backupJson, bundleEntries, hexOf, makeImage, tarBytes, type StreamOfImages } from '../adversarial/bundleBuilder.js';
import { startController } from './controller.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '5000' },
    streams: { type: 'string', default: '50' },
    'controller-dist': { type: 'string' },
  },
});
const images = Number(values.images);
const streamCount = Number(values.streams);
const MiB = 1024 * 1024;

const env = loadStackEnv();
const run = randomBytes(3).toString('hex');
const prefix = `bench/restore5k-${run}`;
const namespace = `restore5k-${run}`;
const s3 = rawS3(env);
const kc = new KubeConfig();
kc.loadFromFile(env.KUBECONFIG);
const core = kc.makeApiClient(CoreV1Api);
const isrs = new CustomResources<ImageStreamsRestore>(kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
const put = (key: string, body: Buffer) => s3.send(new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: key, Body: body }));

// Four layers of 1 MiB in the pool; every image has one of them, and its own config and manifest.
const layers = [0, 1, 2, 3].map((i) => Buffer.alloc(MiB, `layer-${run}-${i}`));
const streams: StreamOfImages[] = Array.from({ length: streamCount }, (_, s) => ({ namespace: 'src', name: `app${s}`, images: [] }));
for (let i = 0; i < images; i++) {
  streams[i % streamCount]!.images.push({ image: makeImage(`${run}-${i}`, 0, layers[i % layers.length]), tags: [`v${i}`] });
}
const entries = bundleEntries(streams, backupJson(streams, { backup: { namespace, name: 'restore5k', uid: randomBytes(16).toString('hex') } }));
const bundle = tarBytes(entries);
const root = `${prefix}/plugins/imagestreams/v1/`;
console.error(`restore5k: ${images} references in ${streamCount} image streams, bundle ${(bundle.length / MiB).toFixed(1)} MiB; uploading`);
for (const layer of layers) await put(`${root}blobs/sha256/${hexOf(makeImage('x', 0, layer).layerDigest)}`, layer);
await put(`${root}backups/restore5k/bundle.tar`, bundle);

await core.createNamespace({ body: { metadata: { name: namespace } } });
const cloud = `[default]\naws_access_key_id=${env.S3_ACCESS_KEY}\naws_secret_access_key=${env.S3_SECRET_KEY}\n`;
await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'cloud-credentials' }, stringData: { cloud } } });

const dir = await mkdtemp(path.join(tmpdir(), 'restore5k-'));
const controller = await startController(env, {
  name: 'restore5k', dir, namespace, registry: env.REGISTRY,
  ...(values['controller-dist'] && { main: path.resolve(values['controller-dist'], 'controllers', 'main.js') }),
});
try {
  await controller.resetPeak();
  const started = Date.now();
  await isrs.create(namespace, {
    apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name: 'restore5k', namespace },
    spec: {
      imageStreamsBackupReference: { name: 'restore5k' },
      namespaceMapping: { src: `${namespace}-target` },
      backupLocation: {
        velero: {
          provider: 'aws',
          objectStorage: { bucket: env.S3_BUCKET, prefix, caCert: readFileSync(env.S3_CA_FILE).toString('base64') },
          config: { region: env.S3_REGION, s3Url: env.S3_ENDPOINT, s3ForcePathStyle: 'true' },
          credential: { name: 'cloud-credentials', key: 'cloud' },
        },
      },
    },
  });
  let isr: ImageStreamsRestore | undefined;
  let peak = 0;
  for (;;) {
    isr = await isrs.get(namespace, 'restore5k');
    peak = Math.max(peak, await controller.peakRss());
    if (['Completed', 'PartiallyFailed', 'Failed'].includes(isr?.status?.phase ?? '')) break;
    if (Date.now() - started > 30 * 60_000) throw new Error(`restore5k: not finished in 30 minutes: ${JSON.stringify(isr?.status)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const seconds = (Date.now() - started) / 1000;
  const metadataBytes = entries.filter((e) => e.name.startsWith('blobs/')).reduce((n, e) => n + (e.data?.length ?? 0), 0);
  console.log(JSON.stringify({
    references: images, imageStreams: streamCount, bundleBytes: bundle.length, metadataBytes, phase: isr?.status?.phase,
    imagesDone: isr?.status?.progress?.images?.done, seconds: Math.round(seconds * 10) / 10,
    peakRssMiB: Math.round((peak / MiB) * 10) / 10, controllerLog: controller.log,
  }));
  if (isr?.status?.phase !== 'Completed') process.exitCode = 1;
} finally {
  await controller.stop();
  await deletePrefix(s3, env.S3_BUCKET, `${prefix}/`);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  s3.destroy();
}
