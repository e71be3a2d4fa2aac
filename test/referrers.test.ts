// Signatures and referrers kept (issue 18): an image with a cosign-style signature tag and an
// SBOM attached by oras (an OCI referrer whose subject is the image), a signature of that SBOM,
// and an index with a referrer on one platform, backed up and restored by digest. The stack's
// registry (distribution v3.1) does not serve the referrers API: oras writes, and the product
// must read and write, the fallback tag `sha256-<hex>`. oras (a client the product does not
// use) checks what the restore left.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { runBackup, type ImageStreamInput } from '../pkg/backup/index.js';
import { unpackBundle } from '../pkg/bundle/index.js';
import { runRestore } from '../pkg/restore/index.js';
import type { RegistryClient } from '../pkg/registry/index.js';
import type { ObjectStore } from '../pkg/store/index.js';
import { fixtureRegistryFromEnv, listTags, pushCosignStyle, pushImage, pushIndex, type PushedImage, type PushedIndex } from './fixture/images.js';
import { request } from './fixture/http.js';
import { Oras } from './fixture/oras.js';
import { openStackStore, rawS3, stackRegistry } from './datapath-helpers.js';
import { deletePrefix } from './fixture/bucket.js';
import { loadStackEnv, uniqueName } from './stackEnv.js';

const env = loadStackEnv();
const fixture = fixtureRegistryFromEnv(env);
const SBOM = 'application/spdx+json';

let registry: RegistryClient;
let s3: S3Client;
let oras: Oras;
let store: ObjectStore;
const ns = uniqueName('signed');
let image: PushedImage;
let signature: PushedImage;
let sbom: string;
let sbomSignature: PushedImage;
let index: PushedIndex;
let platformSbom: string;
let plain: PushedImage;

const at = (repo: string, digest: string) => `${env.REGISTRY}/${repo}@${digest}`;
const identity = (name: string) => ({ namespace: 'openshift-adp', name, uid: `uid-${name}` });

async function manifestDigest(repo: string, ref: string): Promise<string | undefined> {
  const r = await request(fixture, 'GET', `/v2/${repo}/manifests/${ref}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' } });
  return r.status === 200 ? String(r.headers['docker-content-digest']) : undefined;
}

beforeAll(async () => {
  registry = stackRegistry(env);
  s3 = rawS3(env);
  oras = await Oras.login(env);
  store = await openStackStore(env, `${uniqueName('referrers')}/velero`);
  const repo = `${ns}/app`;
  image = await pushImage(fixture, repo, { layers: [{ seed: uniqueName('app'), size: 64 * 1024 }], tags: ['v1'] });
  signature = await pushCosignStyle(fixture, repo, image.digest, 'sig');
  await writeFile(path.join(oras.workDir, 'sbom.spdx.json'), JSON.stringify({ spdxVersion: 'SPDX-2.3', name: ns }));
  sbom = await oras.attach(at(repo, image.digest), SBOM, 'sbom.spdx.json', SBOM);
  // Recursion: a signature of the attestation.
  sbomSignature = await pushCosignStyle(fixture, repo, sbom, 'sig');
  index = await pushIndex(fixture, `${ns}/multi`, {
    platforms: [
      { layers: [{ seed: uniqueName('amd'), size: 32 * 1024 }], platform: { os: 'linux', architecture: 'amd64' } },
      { layers: [{ seed: uniqueName('arm'), size: 32 * 1024 }], platform: { os: 'linux', architecture: 'arm64' } },
    ],
    tags: ['stable'],
  });
  platformSbom = await oras.attach(at(`${ns}/multi`, index.images[1]!.digest), SBOM, 'sbom.spdx.json', SBOM);
  plain = await pushImage(fixture, `${ns}/plain`, { layers: [{ seed: uniqueName('plain'), size: 16 * 1024 }] });
});

afterAll(async () => {
  registry.close();
  await oras.close();
  await deletePrefix(s3, env.S3_BUCKET, store.root);
  await store.close();
  s3.destroy();
});

const streams = (): ImageStreamInput[] => [
  { namespace: ns, name: 'app', references: [{ reference: at(`${ns}/app`, image.digest), tags: ['v1'] }] },
  { namespace: ns, name: 'multi', references: [{ reference: at(`${ns}/multi`, index.digest), tags: ['stable'] }] },
  { namespace: ns, name: 'plain', references: [{ reference: at(`${ns}/plain`, plain.digest), tags: ['latest'] }] },
];

describe('a backup keeps what is attached to its images', () => {
  test('lists the signature tag, the SBOM referrer, the signature of the SBOM and the platform\'s SBOM in backup.json', async () => {
    const result = await runBackup({ store, registry, backup: identity('signed'), imageStreams: streams() });
    expect(result.failures).toEqual([]);
    expect(result.progress.referrers).toBe(4);
    const bundle = await unpackBundle(await store.get(result.bundleKey));
    const listed = (bundle.backup.referrers ?? []).map((r) => [r.subject, r.digest, r.tags]);
    expect(listed.sort()).toEqual([
      [image.digest, signature.digest, [`${image.digest.replace(':', '-')}.sig`]],
      [image.digest, sbom, []],
      [sbom, sbomSignature.digest, [`${sbom.replace(':', '-')}.sig`]],
      [index.images[1]!.digest, platformSbom, []],
    ].sort());
    expect(bundle.backup.totals.referrers).toBe(4);
    // Their manifests and configs are in the bundle, their layers in the pool and in backup.json.
    for (const d of [signature.digest, sbom, sbomSignature.digest, platformSbom, signature.config.digest]) expect(bundle.blobs.has(d)).toBe(true);
    const layers = new Set(bundle.backup.layers.map((l) => l.digest));
    for (const l of [...signature.layers, ...sbomSignature.layers]) {
      expect(layers.has(l.digest)).toBe(true);
      expect(await store.has(store.blobKey(l.digest))).toBe(true);
    }
  });

  test('restores them after their subject, by digest, with the cosign tags and a referrers index oras discovers', async () => {
    const target = uniqueName('restored');
    const result = await runRestore({ store, registry, backupName: 'signed', namespaceMapping: { [ns]: target } });
    expect(result.failures).toEqual([]);
    expect(result.progress.referrers).toBe(4);
    const repo = `${target}/app`;
    expect(await manifestDigest(repo, `${image.digest.replace(':', '-')}.sig`)).toBe(signature.digest);
    expect(await manifestDigest(repo, `${sbom.replace(':', '-')}.sig`)).toBe(sbomSignature.digest);
    expect(await manifestDigest(repo, sbom)).toBe(sbom);
    expect(await oras.discover(at(repo, image.digest))).toEqual([{ digest: sbom, artifactType: SBOM }]);
    expect(await oras.discover(at(`${target}/multi`, index.images[1]!.digest))).toEqual([{ digest: platformSbom, artifactType: SBOM }]);
    expect(await oras.discover(at(`${target}/multi`, index.images[0]!.digest))).toEqual([]);
    // Nothing attached to the plain image: no tag but its own.
    expect(await listTags(fixture, `${target}/plain`)).toEqual(['latest']);
  });

  test('a selective restore brings the referrers of the digests it restores, and no others', async () => {
    const target = uniqueName('selected');
    const result = await runRestore({
      store, registry, backupName: 'signed', namespaceMapping: { [ns]: target },
      imageStreams: [{ namespace: ns, name: 'multi', dockerImageReferences: [{ dockerImageReference: at(`${ns}/multi`, index.digest), tags: ['stable'] }] }],
    });
    expect(result.failures).toEqual([]);
    expect(result.progress.referrers).toBe(1);
    expect(await manifestDigest(`${target}/multi`, platformSbom)).toBe(platformSbom);
    expect(await listTags(fixture, `${target}/app`)).toEqual([]);
  });

  test('with referrers turned off, the bundle and the restore have none', async () => {
    const result = await runBackup({ store, registry, backup: identity('unsigned'), imageStreams: streams(), referrers: false });
    expect(result.progress.referrers).toBeUndefined();
    const bundle = await unpackBundle(await store.get(result.bundleKey));
    expect(bundle.backup.referrers).toBeUndefined();
    expect(bundle.blobs.has(signature.digest)).toBe(false);
    const target = uniqueName('unsigned');
    await runRestore({ store, registry, backupName: 'unsigned', namespaceMapping: { [ns]: target } });
    expect(await listTags(fixture, `${target}/app`)).toEqual(['v1']);
  });
});

test('an image pruned from the registry is carried forward from the committed bundle with its signature', async () => {
  const carryNs = uniqueName('carry-signed');
  const repo = `${carryNs}/app`;
  const pruned = await pushImage(fixture, repo, { layers: [{ seed: uniqueName('pruned'), size: 32 * 1024 }] });
  const sig = await pushCosignStyle(fixture, repo, pruned.digest, 'sig');
  const input = [{ namespace: carryNs, name: 'app', references: [{ reference: at(repo, pruned.digest), tags: ['v1'] }] }];
  await runBackup({ store, registry, backup: identity('carry-signed'), imageStreams: input });
  expect((await request(fixture, 'DELETE', `/v2/${repo}/manifests/${pruned.digest}`)).status).toBe(202);
  const again = await runBackup({ store, registry, backup: identity('carry-signed'), imageStreams: input });
  expect(again.carried).toHaveLength(1);
  expect(again.progress.referrers).toBe(1);
  const target = uniqueName('carried');
  const restored = await runRestore({ store, registry, backupName: 'carry-signed', namespaceMapping: { [carryNs]: target } });
  expect(restored.failures).toEqual([]);
  expect(await manifestDigest(`${target}/app`, `${pruned.digest.replace(':', '-')}.sig`)).toBe(sig.digest);
});
