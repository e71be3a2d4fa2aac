// The demo: pushes a few images (one multi-platform) to the stack's registry, describes them
// in ImageStreams, backs them up with an ImageStreamsBackup, restores them into another
// namespace with an ImageStreamsRestore, then backs the same ImageStreams up the way most users
// will, with `velero backup create` (the stack's Velero runs this project's plugin), and prints
// what happened.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { KubeConfig, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { loadStackEnv, repoRoot, uniqueName } from '../test/stackEnv.js';
import { fixtureRegistryFromEnv, listTags, pushImage, pushIndex } from '../test/fixture/images.js';
import { createImageStream, imageStream, ImageStreams } from '../test/fixture/imageStreams.js';
import { veleroCli } from '../test/e2e/velero.js';

const env = loadStackEnv();
const kc = new KubeConfig();
kc.loadFromFile(env.KUBECONFIG);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const reg = fixtureRegistryFromEnv(env);
const ns = 'demo';
const restoredNs = 'demo-restored';
const run = uniqueName('run');
const MiB = 1 << 20;

async function ensureNamespace(name: string) {
  try { await core.createNamespace({ body: { metadata: { name } } }); } catch (e) { if ((e as { code?: number }).code !== 409) throw e; }
}

async function createOrReplace(group: string, version: string, plural: string, body: { metadata: { name: string } }) {
  const p = { group, version, namespace: ns, plural };
  try { await custom.deleteNamespacedCustomObject({ ...p, name: body.metadata.name }); } catch { /* absent */ }
  await custom.createNamespacedCustomObject({ ...p, body });
}

interface Status { phase?: string; message?: string; progress?: { images?: { total?: number; done?: number }; blobs?: { total?: number; done?: number; skipped?: number }; bytes?: { total?: number; done?: number; skipped?: number } } }

async function waitFor(plural: string, name: string): Promise<Status> {
  const deadline = Date.now() + 10 * 60_000;
  let last = '';
  for (;;) {
    const obj = await custom.getNamespacedCustomObject({ group: 'oadp.openshift.io', version: 'v1alpha1', namespace: ns, plural, name }) as { status?: Status };
    const s = obj.status ?? {};
    const line = `${plural}/${name}: ${s.phase ?? 'New'} ${s.message ?? ''}`;
    if (line !== last) { console.log('  ' + line); last = line; }
    if (['Completed', 'PartiallyFailed', 'Failed'].includes(s.phase ?? '')) return s;
    if (Date.now() > deadline) throw new Error(`${name} did not finish in 10 minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function startController(): ChildProcess {
  const child = spawn(process.execPath, ['dist/controllers/main.js'], {
    cwd: repoRoot,
    env: {
      ...process.env, KUBECONFIG: env.KUBECONFIG, WATCH_NAMESPACES: `${ns},${env.VELERO_NAMESPACE}`, INTERNAL_REGISTRY: env.REGISTRY,
      REGISTRY_CA_FILE: env.REGISTRY_CA_FILE, REGISTRY_USER: env.REGISTRY_USER, REGISTRY_PASSWORD: env.REGISTRY_PASSWORD,
      METRICS_PORT: '0', HEALTH_PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

const mb = (n = 0) => `${(n / 1e6).toFixed(1)} MB`;

async function main() {
  console.log('1. pushing demo images to the internal registry (%s)', env.REGISTRY);
  await ensureNamespace(ns);
  await ensureNamespace(restoredNs);
  const base = { seed: 'demo-base', size: 8 * MiB };
  const web = await pushImage(reg, `${ns}/web`, { format: 'docker', layers: [base, { seed: `web-${run}`, size: 4 * MiB }], tags: ['latest', 'v1'] });
  const api = await pushImage(reg, `${ns}/api`, { format: 'oci', layers: [base, { seed: `api-${run}`, size: 6 * MiB }], tags: ['latest'] });
  const multi = await pushIndex(reg, `${ns}/tools`, {
    tags: ['stable'],
    platforms: [
      { platform: { os: 'linux', architecture: 'amd64' }, layers: [base, { seed: `tools-amd64-${run}`, size: 3 * MiB }] },
      { platform: { os: 'linux', architecture: 'arm64' }, layers: [{ seed: 'demo-base-arm', size: 8 * MiB }, { seed: `tools-arm64-${run}`, size: 3 * MiB }] },
    ],
  });

  console.log('2. a BackupStorageLocation on MinIO and its credentials');
  await core.deleteNamespacedSecret({ name: 'cloud-credentials', namespace: ns }).catch(() => undefined);
  await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'cloud-credentials' }, stringData: {
    cloud: `[default]\naws_access_key_id=${env.S3_ACCESS_KEY}\naws_secret_access_key=${env.S3_SECRET_KEY}\n`,
  } } });
  await createOrReplace('velero.io', 'v1', 'backupstoragelocations', {
    apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation', metadata: { name: 'default' },
    spec: {
      provider: 'aws', default: true,
      objectStorage: { bucket: env.S3_BUCKET, prefix: 'demo', caCert: readFileSync(env.S3_CA_FILE).toString('base64') },
      config: { region: env.S3_REGION, s3Url: env.S3_ENDPOINT, s3ForcePathStyle: 'true' },
      credential: { name: 'cloud-credentials', key: 'cloud' },
    },
  } as { metadata: { name: string } });

  const controller = startController();
  try {
    console.log('3. ImageStreamsBackup demo-backup');
    const ref = (repo: string, digest: string) => `${env.REGISTRY}/${repo}@${digest}`;
    await createOrReplace('oadp.openshift.io', 'v1alpha1', 'imagestreamsbackups', {
      apiVersion: 'oadp.openshift.io/v1alpha1', kind: 'ImageStreamsBackup', metadata: { name: 'demo-backup' },
      spec: { startBackup: true, backupLocation: { name: 'default' }, imageStreams: [
        { name: 'web', namespace: ns, dockerImageReferences: [{ dockerImageReference: ref(web.repo, web.digest), tags: ['latest', 'v1'] }] },
        { name: 'api', namespace: ns, dockerImageReferences: [{ dockerImageReference: ref(api.repo, api.digest), tags: ['latest'] }] },
        { name: 'tools', namespace: ns, dockerImageReferences: [{ dockerImageReference: ref(multi.repo, multi.digest), tags: ['stable'] }] },
      ] },
    } as { metadata: { name: string } });
    const b = await waitFor('imagestreamsbackups', 'demo-backup');

    console.log(`4. ImageStreamsRestore demo-restore into namespace ${restoredNs}`);
    await createOrReplace('oadp.openshift.io', 'v1alpha1', 'imagestreamsrestores', {
      apiVersion: 'oadp.openshift.io/v1alpha1', kind: 'ImageStreamsRestore', metadata: { name: 'demo-restore' },
      spec: { imageStreamsBackupReference: { name: 'demo-backup' }, backupLocation: { name: 'default' }, namespaceMapping: { [ns]: restoredNs } },
    } as { metadata: { name: string } });
    const r = await waitFor('imagestreamsrestores', 'demo-restore');

    console.log('5. velero backup create: the ImageStreams of namespace %s, with their images', ns);
    const created = new Date().toISOString();
    for (const [name, digest, tags] of [['web', web.digest, ['latest', 'v1']], ['api', api.digest, ['latest']], ['tools', multi.digest, ['stable']]] as const) {
      await custom.deleteNamespacedCustomObject({ ...ImageStreams, namespace: ns, name }).catch(() => undefined);
      await createImageStream(kc, imageStream(env.REGISTRY, ns, name, tags.map((tag) => ({ tag, images: [{ digest, created }] }))));
    }
    const veleroBackup = `demo-${run}`;
    const t0 = Date.now();
    console.log('  ' + (await veleroCli(env)('backup', 'create', veleroBackup, '--include-namespaces', ns, '--wait')).trim().split('\n').pop());
    const veleroSeconds = (Date.now() - t0) / 1000;
    const vb = await custom.getNamespacedCustomObject({ group: 'velero.io', version: 'v1', namespace: env.VELERO_NAMESPACE, plural: 'backups', name: veleroBackup }) as { status?: { phase?: string } };
    const vIsb = await custom.getNamespacedCustomObject({ group: 'oadp.openshift.io', version: 'v1alpha1', namespace: env.VELERO_NAMESPACE, plural: 'imagestreamsbackups', name: veleroBackup }) as
      { spec?: { imageStreams?: Array<{ dockerImageReferences?: unknown[] }> }; status?: Status };
    const refs = (vIsb.spec?.imageStreams ?? []).reduce((n, s) => n + (s.dockerImageReferences?.length ?? 0), 0);

    console.log('\nSummary');
    console.log(`  backup : ${b.phase}; images ${b.progress?.images?.done}/${b.progress?.images?.total}, blobs uploaded ${b.progress?.blobs?.done} (skipped ${b.progress?.blobs?.skipped}), ${mb(b.progress?.bytes?.done)} uploaded, ${mb(b.progress?.bytes?.skipped)} already stored`);
    console.log(`  restore: ${r.phase}; images ${r.progress?.images?.done}/${r.progress?.images?.total}, ${mb(r.progress?.bytes?.done)} pushed`);
    console.log(`  velero : Backup ${veleroBackup} ${vb.status?.phase} in ${veleroSeconds.toFixed(1)} s; its ImageStreamsBackup (made by the plugin) ${vIsb.status?.phase}: `
      + `${vIsb.spec?.imageStreams?.length} image streams, ${refs} images, ${mb(vIsb.status?.progress?.bytes?.skipped)} already stored, ${mb(vIsb.status?.progress?.bytes?.done)} uploaded`);
    for (const name of ['web', 'api', 'tools']) {
      console.log(`  ${restoredNs}/${name}: tags ${(await listTags(reg, `${restoredNs}/${name}`)).join(', ') || '(none)'}`);
    }
    if (b.phase !== 'Completed' || r.phase !== 'Completed' || vb.status?.phase !== 'Completed') process.exitCode = 1;
  } finally {
    controller.kill('SIGTERM');
  }
}

main().catch((e) => { console.error('demo failed:', e instanceof Error ? e.message : e); process.exit(1); });
