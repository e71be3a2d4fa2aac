// The local stack works end to end: the API server serves the Velero and ImageStream
// kinds, the registry serves pushed images over TLS with auth, MinIO stores over TLS.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import https from 'node:https';
import { KubeConfig, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { S3Client, PutObjectCommand, GetObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { loadStackEnv, uniqueName } from './stackEnv.js';
import { fixtureRegistryFromEnv, pushImage, pushIndex, MediaTypes } from './fixture/images.js';
import { request } from './fixture/http.js';

const env = loadStackEnv();
const kc = new KubeConfig();
kc.loadFromFile(env.KUBECONFIG);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const reg = fixtureRegistryFromEnv(env);
const namespace = uniqueName('stack-test');

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});
afterAll(async () => {
  await core.deleteNamespace({ name: namespace });
});

describe('API server', () => {
  it('stores a Velero Backup with its status phase and reads it back', async () => {
    const body = {
      apiVersion: 'velero.io/v1', kind: 'Backup',
      metadata: { name: 'nightly', namespace },
      spec: { includedNamespaces: ['openshift'], storageLocation: 'default' },
      status: { phase: 'InProgress' },
    };
    await custom.createNamespacedCustomObject({ group: 'velero.io', version: 'v1', namespace, plural: 'backups', body });
    const got = await custom.getNamespacedCustomObject({ group: 'velero.io', version: 'v1', namespace, plural: 'backups', name: 'nightly' }) as typeof body;
    expect(got.spec.storageLocation).toBe('default');
    expect(got.status.phase).toBe('InProgress');
  });

  it('refuses a Velero Backup phase that Velero does not define', async () => {
    const body = { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'bad-phase', namespace }, status: { phase: 'Done' } };
    await expect(custom.createNamespacedCustomObject({ group: 'velero.io', version: 'v1', namespace, plural: 'backups', body }))
      .rejects.toThrow(/status.phase/);
  });

  it('stores an ImageStream with status tags and items', async () => {
    const ref = `${env.REGISTRY}/${namespace}/app@sha256:${'a'.repeat(64)}`;
    const body = {
      apiVersion: 'image.openshift.io/v1', kind: 'ImageStream',
      metadata: { name: 'app', namespace },
      spec: { tags: [{ name: 'latest', from: { kind: 'DockerImage', name: ref } }] },
    };
    await custom.createNamespacedCustomObject({ group: 'image.openshift.io', version: 'v1', namespace, plural: 'imagestreams', body });
    const status = { tags: [{ tag: 'latest', items: [{ created: new Date().toISOString(), dockerImageReference: ref, image: `sha256:${'a'.repeat(64)}`, generation: 1 }] }] };
    await custom.patchNamespacedCustomObjectStatus({
      group: 'image.openshift.io', version: 'v1', namespace, plural: 'imagestreams', name: 'app',
      body: [{ op: 'add', path: '/status', value: status }],
    });
    const got = await custom.getNamespacedCustomObject({ group: 'image.openshift.io', version: 'v1', namespace, plural: 'imagestreams', name: 'app' }) as { status: typeof status };
    expect(got.status.tags[0]!.items[0]!.dockerImageReference).toBe(ref);
  });
});

describe('registry', () => {
  const repo = `${namespace}/fixture`;

  it.each([
    ['an OCI image', 'oci' as const, MediaTypes.ociManifest],
    ['a Docker v2 schema 2 image', 'docker' as const, MediaTypes.dockerManifest],
  ])('serves %s by digest over TLS with auth, byte for byte', async (_name, format, mediaType) => {
    const img = await pushImage(reg, repo, { format, layers: [{ seed: 'base', size: 1024 }, { seed: format, size: 300_000 }], tags: [format] });
    const r = await request(reg, 'GET', `/v2/${repo}/manifests/${img.digest}`, { headers: { Accept: mediaType } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(mediaType);
    expect('sha256:' + createHash('sha256').update(r.body).digest('hex')).toBe(img.digest);
  });

  it('serves a multi-platform index whose children resolve', async () => {
    const idx = await pushIndex(reg, repo, {
      tags: ['multi'],
      platforms: [
        { platform: { os: 'linux', architecture: 'amd64' }, layers: [{ seed: 'base', size: 1024 }, { seed: 'amd64', size: 2048 }] },
        { platform: { os: 'linux', architecture: 'arm64' }, layers: [{ seed: 'base', size: 1024 }, { seed: 'arm64', size: 2048 }] },
      ],
    });
    for (const child of idx.images) {
      const r = await request(reg, 'GET', `/v2/${repo}/manifests/${child.digest}`, { headers: { Accept: child.mediaType } });
      expect(r.status).toBe(200);
    }
    const r = await request(reg, 'GET', `/v2/${repo}/manifests/multi`, { headers: { Accept: MediaTypes.ociIndex } });
    expect(r.headers['docker-content-digest']).toBe(idx.digest);
  });

  it('refuses a wrong password', async () => {
    const r = await request({ ...reg, password: 'wrong' }, 'GET', '/v2/');
    expect(r.status).toBe(401);
  });
});

describe('MinIO', () => {
  const client = (ca?: Buffer) => new S3Client({
    endpoint: env.S3_ENDPOINT, region: env.S3_REGION, forcePathStyle: true,
    credentials: { accessKeyId: env.S3_ACCESS_KEY, secretAccessKey: env.S3_SECRET_KEY },
    requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent(ca ? { ca } : {}) }),
    maxAttempts: 1,
  });

  it('puts and gets an object over TLS trusting the generated CA', async () => {
    const s3 = client(readFileSync(env.S3_CA_FILE));
    const Key = `${namespace}/hello.txt`;
    await s3.send(new PutObjectCommand({ Bucket: env.S3_BUCKET, Key, Body: 'hello' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: env.S3_BUCKET, Key }));
    expect(await got.Body!.transformToString()).toBe('hello');
    await s3.send(new DeleteObjectCommand({ Bucket: env.S3_BUCKET, Key }));
  });

  it('is not trusted without the CA', async () => {
    const s3 = client();
    await expect(s3.send(new GetObjectCommand({ Bucket: env.S3_BUCKET, Key: 'x' }))).rejects.toThrow(/certificate/);
  });
});
