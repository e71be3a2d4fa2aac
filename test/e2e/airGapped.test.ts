// Air-gapped transfer (issue 18): a backup made by an ImageStreamsBackup is exported with the
// command line from the cluster's BSL to one OCI image layout tar, imported into an empty
// location given by flags alone, and an ImageStreamsRestore there restores every digest and
// tag, signatures and SBOMs included. Tools the product does not use check the way: skopeo
// copies images out of the export by name, oras writes an archive the product imports, crane
// and oras read what the restores left.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsRestore, type ImageStreamsRestoreSpec } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { Crane, credentialsFile } from '../datapath-helpers.js';
import { fixtureRegistryFromEnv, pushCosignStyle, pushImage, pushIndex, type PushedImage, type PushedIndex } from '../fixture/images.js';
import { Oras } from '../fixture/oras.js';
import { loadStackEnv, repoRoot, uniqueName } from '../stackEnv.js';
import { TestBucket, TestCluster, phaseIs } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';

const run = promisify(execFile);
const env = loadStackEnv();
const cluster = new TestCluster(env);
const bucket = new TestBucket(env);
const reg = fixtureRegistryFromEnv(env);
const ns = uniqueName('airgap');
const prefixes = { source: uniqueName('airgap-src'), far: uniqueName('airgap-far'), oras: uniqueName('airgap-oras') };
const isrs = new CustomResources<ImageStreamsRestore>(cluster.kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
const SBOM = 'application/spdx+json';

let ctl: ControllerProcess;
let crane: Crane;
let oras: Oras;
let dir: string;
let app: PushedImage;
let signature: PushedImage;
let sbom: string;
let multi: PushedIndex;
let loose: PushedImage;

/** The command line, from its sources (as the controller is run), with the environment given only. */
function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
    cwd: repoRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

async function restore(name: string, spec: ImageStreamsRestoreSpec): Promise<ImageStreamsRestore> {
  await isrs.create(ns, { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name, namespace: ns }, spec });
  for (const deadline = Date.now() + 120_000; ;) {
    const r = await isrs.get(ns, name);
    if (['Completed', 'PartiallyFailed', 'Failed'].includes(r?.status?.phase ?? '')) return r!;
    if (Date.now() > deadline) throw new Error(`restore ${name} did not end: ${JSON.stringify(r?.status)}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

const at = (repo: string, digest: string) => `${env.REGISTRY}/${repo}@${digest}`;
const cosignTag = (digest: string) => `${digest.replace(':', '-')}.sig`;

/** Tag -> digest of every tag of a repository, as crane sees it. */
async function tagsOf(repo: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const tags = (await crane.run(['ls', `${env.REGISTRY}/${repo}`])).split('\n').filter(Boolean);
  for (const t of tags) out[t] = await crane.digest(`${env.REGISTRY}/${repo}:${t}`);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'airgap-'));
  await cluster.createNamespace(ns);
  await cluster.createCredentials(ns);
  await cluster.createLocation(ns, 'source', prefixes.source, { default: true });
  await cluster.createLocation(ns, 'far-side', prefixes.far);
  await cluster.createLocation(ns, 'oras-side', prefixes.oras);
  crane = await Crane.login(env);
  oras = await Oras.login(env);
  app = await pushImage(reg, `${ns}/app`, { layers: [{ seed: uniqueName('base'), size: 3 * 1024 * 1024 }, { seed: uniqueName('app'), size: 200 * 1024 }], tags: ['v1', 'latest'] });
  signature = await pushCosignStyle(reg, `${ns}/app`, app.digest, 'sig');
  await writeFile(path.join(oras.workDir, 'sbom.json'), JSON.stringify({ spdxVersion: 'SPDX-2.3', name: ns }));
  sbom = await oras.attach(at(`${ns}/app`, app.digest), SBOM, 'sbom.json', SBOM);
  multi = await pushIndex(reg, `${ns}/multi`, {
    platforms: [
      { layers: [{ seed: uniqueName('amd'), size: 300 * 1024 }], platform: { os: 'linux', architecture: 'amd64' } },
      { layers: [{ seed: uniqueName('arm'), size: 300 * 1024 }], platform: { os: 'linux', architecture: 'arm64' } },
    ],
    tags: ['stable'],
  });
  loose = await pushImage(reg, `${ns}/loose`, { layers: [{ seed: uniqueName('loose'), size: 50 * 1024 }] });
  ctl = await startController(env, { namespaces: [ns] });
  await ctl.waitReady();
  await cluster.createIsb(ns, 'airgap', {
    startBackup: true,
    backupLocation: { name: 'source' },
    imageStreams: [
      { name: 'app', dockerImageReferences: [{ dockerImageReference: at(`${ns}/app`, app.digest), tags: ['v1', 'latest'] }] },
      { name: 'multi', dockerImageReferences: [{ dockerImageReference: at(`${ns}/multi`, multi.digest), tags: ['stable'] }] },
      { name: 'loose', dockerImageReferences: [{ dockerImageReference: at(`${ns}/loose`, loose.digest), tags: [] }] },
    ],
  });
  const done = await cluster.waitForIsb(ns, 'airgap', phaseIs('Completed', 'PartiallyFailed', 'Failed'), 'the backup');
  expect(done.status?.phase).toBe('Completed');
  expect(done.status?.progress?.referrers).toBe(2);
});

afterAll(async () => {
  await ctl?.kill('SIGTERM');
  await crane?.close();
  await oras?.close();
  for (const p of Object.values(prefixes)) await bucket.remove(`${p}/`);
  bucket.close();
  await rm(dir, { recursive: true, force: true });
});

describe('export, then import on the far side', () => {
  let archive: string;

  test('export writes the backup from the cluster\'s BSL as one OCI layout tar: every blob once, each image named', async () => {
    archive = path.join(dir, 'airgap.tar');
    const r = await cli(['export', '--backup', 'airgap', '--output', archive, '--location', 'source', '--namespace', ns, '--json'], { KUBECONFIG: env.KUBECONFIG });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { images: number; referrers: number; blobs: number; bytes: number };
    expect(summary).toMatchObject({ images: 3, referrers: 2 });
    // GNU tar, not ours, lists it.
    const names = (await run('tar', ['-tf', archive])).stdout.trim().split('\n');
    const blobs = names.filter((n) => n.startsWith('blobs/sha256/'));
    expect(new Set(blobs).size).toBe(blobs.length);
    expect(blobs.length).toBe(summary.blobs);
    for (const l of [...app.layers, ...multi.images.flatMap((i) => i.layers), ...loose.layers, ...signature.layers]) expect(blobs).toContain(`blobs/sha256/${l.digest.slice(7)}`);
    expect(names.slice(0, 3)).toEqual(['oci-layout', 'index.json', 'backup.json']);
    const index = JSON.parse((await run('tar', ['-xOf', archive, 'index.json'])).stdout) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
    const named = Object.fromEntries(index.manifests.filter((m) => m.annotations).map((m) => [m.annotations!['org.opencontainers.image.ref.name'], m.digest]));
    expect(named).toEqual({
      [`${ns}/app:v1`]: app.digest, [`${ns}/app:latest`]: app.digest, [`${ns}/multi:stable`]: multi.digest,
      [`${ns}/loose@${loose.digest}`]: loose.digest, [cosignTag(app.digest)]: signature.digest,
    });
    expect(index.manifests.map((m) => m.digest)).toContain(sbom);
  });

  test('skopeo copies images out of the export by their names, with the same digests', async () => {
    const certs = path.join(dir, 'certs');
    await run('mkdir', ['-p', certs]);
    await writeFile(path.join(certs, 'ca.crt'), await readFile(env.REGISTRY_CA_FILE));
    const auth = path.join(dir, 'skopeo-auth.json');
    await writeFile(auth, JSON.stringify({ auths: { [env.REGISTRY]: { auth: Buffer.from(`${env.REGISTRY_USER}:${env.REGISTRY_PASSWORD}`).toString('base64') } } }));
    const target = uniqueName('skopeo');
    for (const [name, to] of [[`${ns}/multi:stable`, `${target}/multi:stable`], [`${ns}/app:v1`, `${target}/app:v1`]] as const) {
      await run('skopeo', ['copy', '--all', '--preserve-digests', '--dest-cert-dir', certs, '--dest-authfile', auth, `oci-archive:${archive}:${name}`, `docker://${env.REGISTRY}/${to}`]);
    }
    expect(await crane.digest(`${env.REGISTRY}/${target}/multi:stable`)).toBe(multi.digest);
    expect(await crane.digest(`${env.REGISTRY}/${target}/app:v1`)).toBe(app.digest);
    const raw = (await run('skopeo', ['inspect', '--raw', `oci-archive:${archive}:${ns}/loose@${loose.digest}`], { encoding: 'buffer' })).stdout;
    expect(raw.equals(loose.manifest)).toBe(true);
  });

  test('import into an empty location given by flags; an ImageStreamsRestore there restores every digest and tag, with the signature and the SBOM', async () => {
    const creds = path.join(dir, 'credentials');
    await writeFile(creds, credentialsFile(env));
    const r = await cli(['import', '--input', archive, '--bucket', env.S3_BUCKET, '--prefix', prefixes.far, '--region', env.S3_REGION,
      '--s3-url', env.S3_ENDPOINT, '--s3-force-path-style', 'true', '--ca-cert', env.S3_CA_FILE, '--credentials', creds, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ backup: 'airgap', native: true });
    const far = uniqueName('far');
    const isr = await restore('from-export', { imageStreamsBackupReference: { name: 'airgap' }, backupLocation: { name: 'far-side' }, namespaceMapping: { [ns]: far } });
    expect(isr.status?.phase).toBe('Completed');
    expect(isr.status?.progress?.referrers).toBe(2);
    expect(await tagsOf(`${far}/app`)).toEqual({ v1: app.digest, latest: app.digest, [cosignTag(app.digest)]: signature.digest, [app.digest.replace(':', '-')]: expect.any(String) });
    expect(await tagsOf(`${far}/multi`)).toEqual({ stable: multi.digest });
    expect(await crane.digest(at(`${far}/loose`, loose.digest))).toBe(loose.digest);
    expect(await oras.discover(at(`${far}/app`, app.digest))).toEqual([{ digest: sbom, artifactType: SBOM }]);
  });

  test('import straight into a registry, the password from a file', async () => {
    const passwordFile = path.join(dir, 'registry-password');
    await writeFile(passwordFile, env.REGISTRY_PASSWORD);
    const direct = uniqueName('direct');
    const r = await cli(['import', '--input', archive, '--registry', env.REGISTRY, '--registry-ca-file', env.REGISTRY_CA_FILE,
      '--registry-user', env.REGISTRY_USER, '--registry-password-file', passwordFile, '--namespace-mapping', `${ns}=${direct}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(env.REGISTRY_PASSWORD);
    expect(await crane.digest(`${env.REGISTRY}/${direct}/multi:stable`)).toBe(multi.digest);
    expect(await crane.digest(`${env.REGISTRY}/${direct}/app:${cosignTag(app.digest)}`)).toBe(signature.digest);
  });
});

test('an archive written by oras backup is imported, and restored with the same digests and tags', async () => {
  const archive = path.join(dir, 'oras.tar');
  await oras.run(['backup', '--include-referrers', '--output', archive, `${env.REGISTRY}/${ns}/app`]);
  const r = await cli(['import', '--input', archive, '--backup', 'from-oras', '--image-stream', `${ns}/app`, '--location', 'oras-side', '--namespace', ns, '--json'], { KUBECONFIG: env.KUBECONFIG });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ backup: 'from-oras', native: false });
  const far = uniqueName('oras-far');
  const isr = await restore('from-oras', { imageStreamsBackupReference: { name: 'from-oras' }, backupLocation: { name: 'oras-side' }, namespaceMapping: { [ns]: far } });
  expect(isr.status?.phase).toBe('Completed');
  // The signature and the SBOM come back as what they are, attached to the image, not as images of their own.
  expect(isr.status?.progress?.images.total).toBe(1);
  expect(isr.status?.progress?.referrers).toBe(2);
  const tags = await tagsOf(`${far}/app`);
  expect(tags).toMatchObject({ v1: app.digest, latest: app.digest, [cosignTag(app.digest)]: signature.digest });
  expect(await oras.discover(at(`${far}/app`, app.digest))).toEqual([{ digest: sbom, artifactType: SBOM }]);
});
