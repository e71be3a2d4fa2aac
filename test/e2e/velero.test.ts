// Velero end to end: the stack's real Velero server (hack/stack.sh: velero-plugin-for-aws and this
// project's plugin, four item-block workers) runs `velero backup create`; the controller runs as
// its own process watching Velero's namespace; a second, empty cluster with a second Velero
// server restores from the same bucket. The images are checked in the registries and the bucket
// with the fixtures' own clients.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamEntry, type ImageStreamsBackup, type ImageStreamsRestore } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { blobKey, rootFor } from '../../pkg/store/keys.js';
import { ensurePluginBuilt } from '../../plugin/build.js';
import { request, type FixtureRegistry } from '../fixture/http.js';
import { fixtureRegistryFromEnv, listTags, pushImage, pushIndex, type PushedImage, type PushedIndex } from '../fixture/images.js';
import { createImageStream, imageStream, ImageStreams } from '../fixture/imageStreams.js';
import { loadStackEnv, uniqueName, type StackEnv } from '../stackEnv.js';
import { TestBucket, TestCluster } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';
import { startSecondCluster, type SecondCluster } from './secondCluster.js';
import { prepareVeleroNamespace, startVeleroServer, veleroCli, type VeleroServer } from './velero.js';

const env = loadStackEnv();
const cluster = new TestCluster(env);
const bucket = new TestBucket(env);
const reg = fixtureRegistryFromEnv(env);
const velero = veleroCli(env);
const run = uniqueName('v');
const [nsA, nsB, nsMany, nsBad] = ['va', 'vb', 'vm', 'vx'].map((p) => `${p}-${run}`) as [string, string, string, string];
const backupName = `b-${run}`;
const root = rootFor('velero'); // the stack's BSL `default` has prefix velero
const KiB = 1024;
const TERMINAL = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'];
const veleroBackups: string[] = [];

let ctl: ControllerProcess;
/** Cluster B of the disaster-recovery test, with its Velero server. */
let clusterB: { second: SecondCluster; onB: TestCluster; envB: StackEnv; velero: VeleroServer; ready: number } | undefined;
let startingB: Promise<NonNullable<typeof clusterB>> | undefined;
let web1: PushedImage;
let web2: PushedImage;
let api: PushedImage;
let tools: PushedIndex;

const at = (day: number) => new Date(Date.UTC(2025, 0, day)).toISOString();
const ref = (repo: string, digest: string) => `${env.REGISTRY}/${repo}@${digest}`;
const byName = (a: ImageStreamEntry, b: ImageStreamEntry) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`);

async function poll<T>(what: string, get: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The fields of a Velero Backup's status read here. */
type VeleroBackupStatus = { status?: { phase?: string; completionTimestamp?: string; errors?: number } };

const veleroPhase = async (name: string, c = cluster) => (await c.veleroBackups.get(env.VELERO_NAMESPACE, name))?.status?.phase;

/** `velero backup create --wait`, with the phases of the Velero Backup and its ISB seen meanwhile. */
async function backUp(name: string, namespaces: string[]): Promise<{ ms: number; seen: Array<{ velero?: string; isb?: string; at: number }> }> {
  veleroBackups.push(name);
  const seen: Array<{ velero?: string; isb?: string; at: number }> = [];
  let waiting = true;
  const t0 = Date.now();
  const watcher = (async () => {
    while (waiting) {
      const [v, i] = await Promise.all([veleroPhase(name), cluster.isbs.get(env.VELERO_NAMESPACE, name)]);
      seen.push({ velero: v, isb: i?.status?.observedGeneration === i?.metadata?.generation ? i?.status?.phase : 'stale', at: Date.now() - t0 });
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    await velero('backup', 'create', name, '--include-namespaces', namespaces.join(','), '--wait');
  } finally {
    waiting = false;
    await watcher;
  }
  const ms = Date.now() - t0;
  // When each Velero phase was first seen: where the time of a backup goes.
  const firstSeen = seen.filter((s, i) => s.velero && s.velero !== seen[i - 1]?.velero).map((s) => `${s.velero} at ${(s.at / 1000).toFixed(1)} s`);
  console.log(`velero backup ${name}: ${firstSeen.join(', ')}; --wait returned at ${(ms / 1000).toFixed(1)} s`);
  return { ms, seen };
}

async function manifestExists(r: FixtureRegistry, repo: string, digest: string): Promise<boolean> {
  const accept = ['application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');
  return (await request(r, 'HEAD', `/v2/${repo}/manifests/${digest}`, { headers: { Accept: accept } })).status === 200;
}

/**
 * Velero syncs backups from the bucket once a minute at the soonest (its backup-sync controller
 * runs every minute, whatever --backup-sync-period says): cluster B starts first, so that this
 * minute passes while cluster A's tests run. Velero skips backups that have not ended, so it
 * starting before them changes nothing.
 */
async function startClusterB(): Promise<NonNullable<typeof clusterB>> {
  const second = await startSecondCluster(env);
  const envB: StackEnv = { ...env, KUBECONFIG: second.kubeconfig, REGISTRY: second.registry };
  const onB = new TestCluster(envB);
  await prepareVeleroNamespace(onB, env);
  const velero = await startVeleroServer(env, second.kubeconfig, path.join(second.dir, 'velero.log'));
  return { second, onB, envB, velero, ready: Date.now() };
}

beforeAll(async () => {
  startingB = startClusterB();
  startingB.catch(() => undefined); // awaited below
  await ensurePluginBuilt(); // the stack's Velero runs dist/plugin/velero-plugin-for-imagestreams afresh for each backup
  for (const ns of [nsA, nsB, nsMany, nsBad]) await cluster.createNamespace(ns);
  const base = { seed: `${run}-base`, size: 512 * KiB };
  web1 = await pushImage(reg, `${nsA}/web`, { layers: [base, { seed: `${run}-web1`, size: 256 * KiB }], label: 'web1' });
  web2 = await pushImage(reg, `${nsA}/web`, { layers: [base, { seed: `${run}-web2`, size: 256 * KiB }], label: 'web2' });
  tools = await pushIndex(reg, `${nsA}/tools`, { platforms: [
    { platform: { os: 'linux', architecture: 'amd64' }, layers: [base, { seed: `${run}-amd64`, size: 128 * KiB }] },
    { platform: { os: 'linux', architecture: 'arm64' }, layers: [{ seed: `${run}-arm64`, size: 128 * KiB }] },
  ] });
  api = await pushImage(reg, `${nsB}/api`, { format: 'docker', layers: [base, { seed: `${run}-api`, size: 200 * KiB }] });

  await createImageStream(cluster.kc, imageStream(env.REGISTRY, nsA, 'web', [
    { tag: 'latest', images: [{ digest: web2.digest, created: at(2) }, { digest: web1.digest, created: at(1) }] },
    { tag: 'v1', images: [{ digest: web1.digest, created: at(1) }] },
  ]));
  await createImageStream(cluster.kc, imageStream(env.REGISTRY, nsA, 'tools', [{ tag: 'stable', images: [{ digest: tools.digest, created: at(3) }] }]));
  await createImageStream(cluster.kc, imageStream(env.REGISTRY, nsB, 'api', [{ tag: 'latest', images: [{ digest: api.digest, created: at(4) }] }]));
  // Tagged from another namespace's stream (oc tag), and one image of another registry (skipped).
  await createImageStream(cluster.kc, imageStream(env.REGISTRY, nsB, 'mirror', [
    { tag: 'stable', images: [{ digest: tools.digest, created: at(5), repository: `${nsA}/tools` }] },
    { tag: 'upstream', images: [{ digest: `sha256:${'e'.repeat(64)}`, created: at(5), host: 'quay.io', repository: 'org/tools' }] },
  ]));

  ctl = await startController(env, { namespaces: [env.VELERO_NAMESPACE], env: { PROGRESS_INTERVAL_MS: '300', LEADER_ELECT: 'false' } });
  await ctl.waitReady();
  clusterB = await startingB;
}, 300_000);

afterAll(async () => {
  // Velero deletes its files of each backup; the ISBs go with them here.
  for (const name of veleroBackups) {
    await velero('backup', 'delete', name, '--confirm').catch(() => undefined);
    await cluster.isbs.delete(env.VELERO_NAMESPACE, name);
  }
  await ctl?.kill('SIGTERM');
  const b = clusterB ?? await startingB?.catch(() => undefined); // also when beforeAll failed half-way
  await b?.velero.stop();
  await b?.second.stop();
  bucket.close();
});

describe('velero backup create', () => {
  test('brings the images of every ImageStream in the backup, and completes only after them', async () => {
    const { ms, seen } = await backUp(backupName, [nsA, nsB]);
    const vb = (await cluster.veleroBackups.get(env.VELERO_NAMESPACE, backupName)) as VeleroBackupStatus;
    const isb = (await cluster.isbs.get(env.VELERO_NAMESPACE, backupName))!;
    console.log(`velero backup create --wait: ${(ms / 1000).toFixed(1)} s to ${vb.status?.phase} (4 image streams, 5 images, ${isb.status?.progress?.bytes?.total} bytes)`);
    expect(vb.status?.phase).toBe('Completed');
    expect(isb.status?.phase).toBe('Completed');

    expect(isb.spec?.veleroBackupReference).toEqual({ name: backupName, namespace: env.VELERO_NAMESPACE, startOnCompletion: true });
    expect([...(isb.spec?.imageStreams ?? [])].sort(byName)).toEqual([
      { namespace: nsA, name: 'tools', dockerImageReferences: [{ dockerImageReference: ref(`${nsA}/tools`, tools.digest), tags: ['stable'] }] },
      { namespace: nsA, name: 'web', dockerImageReferences: [
        { dockerImageReference: ref(`${nsA}/web`, web2.digest), tags: ['latest'] },
        { dockerImageReference: ref(`${nsA}/web`, web1.digest), tags: ['v1'] },
      ] },
      { namespace: nsB, name: 'api', dockerImageReferences: [{ dockerImageReference: ref(`${nsB}/api`, api.digest), tags: ['latest'] }] },
      { namespace: nsB, name: 'mirror', dockerImageReferences: [{ dockerImageReference: ref(`${nsA}/tools`, tools.digest), tags: ['stable'] }] },
    ].sort(byName));

    // Velero waited for the operation: its Backup was WaitingForPluginOperations while the ISB ran,
    // and never past it before the ISB was Completed.
    expect(seen.some((s) => s.velero === 'WaitingForPluginOperations' && s.isb !== 'Completed')).toBe(true);
    expect(seen.filter((s) => s.velero === 'Finalizing' || s.velero === 'Completed').every((s) => s.isb === 'Completed')).toBe(true);
    expect(Date.parse(vb.status!.completionTimestamp!)).toBeGreaterThanOrEqual(Date.parse(isb.status!.completionTimestamp!));

    const details = await velero('backup', 'describe', backupName, '--details');
    for (const stream of [`${nsA}/web`, `${nsA}/tools`, `${nsB}/api`, `${nsB}/mirror`]) {
      expect(details).toMatch(new RegExp(`Operation for imagestreams.image.openshift.io ${stream}:\\s+Backup Item Action Plugin:\\s+oadp.openshift.io/imagestream-backup\\s+`
        + `Operation ID:\\s+${env.VELERO_NAMESPACE}/${backupName}\\s+Phase:\\s+Completed\\s+Progress:\\s+${isb.status!.progress!.bytes.total} of ${isb.status!.progress!.bytes.total} complete \\(bytes\\)`));
    }

    const stored = await bucket.list(root);
    const layers = [...web1.layers, ...web2.layers, ...tools.images.flatMap((i) => i.layers), ...api.layers];
    for (const l of layers) expect(stored.get(blobKey(root, l.digest))).toBe(l.size);
    expect(stored.has(`${root}backups/${backupName}/bundle.tar`)).toBe(true);
  }, 300_000);

  test('with four item-block workers, 200 ImageStreams give exactly 200 entries', async () => {
    const pid = (await readFile(path.join(path.dirname(env.KUBECONFIG), 'run', 'velero.pid'), 'utf8')).trim();
    expect((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ')).toContain('--item-block-worker-count 4');

    const shared = await pushImage(reg, `${nsMany}/shared`, { layers: [{ seed: `${run}-many`, size: 4 * KiB }] });
    const names = Array.from({ length: 200 }, (_, i) => `s${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map((name) => createImageStream(cluster.kc, imageStream(env.REGISTRY, nsMany, name,
        [{ tag: `t-${name}`, images: [{ digest: shared.digest, created: at(6), repository: `${nsMany}/shared` }] }]))));
    }
    const name = `many-${run}`;
    await backUp(name, [nsMany]);
    expect(await veleroPhase(name)).toBe('Completed');
    const entries = (await cluster.isbs.get(env.VELERO_NAMESPACE, name))!.spec?.imageStreams ?? [];
    expect(entries).toHaveLength(200);
    expect(entries.map((e) => e.name).sort()).toEqual(names);
    for (const e of entries) {
      expect(e).toEqual({ namespace: nsMany, name: e.name, dockerImageReferences: [{ dockerImageReference: ref(`${nsMany}/shared`, shared.digest), tags: [`t-${e.name}`] }] });
    }
  }, 300_000);

  test('an image the registry does not have makes the Velero Backup PartiallyFailed, naming it', async () => {
    const good = await pushImage(reg, `${nsBad}/good`, { layers: [{ seed: `${run}-good`, size: 8 * KiB }] });
    const missing = `sha256:${'0'.repeat(63)}1`;
    await createImageStream(cluster.kc, imageStream(env.REGISTRY, nsBad, 'good', [{ tag: 'latest', images: [{ digest: good.digest, created: at(7) }] }]));
    await createImageStream(cluster.kc, imageStream(env.REGISTRY, nsBad, 'broken', [{ tag: 'latest', images: [{ digest: missing, created: at(7) }] }]));
    const name = `bad-${run}`;
    await backUp(name, [nsBad]);
    const vb = (await cluster.veleroBackups.get(env.VELERO_NAMESPACE, name)) as VeleroBackupStatus;
    expect(vb.status?.phase).toBe('PartiallyFailed');
    expect(vb.status?.errors).toBeGreaterThanOrEqual(1);
    expect((await cluster.isbs.get(env.VELERO_NAMESPACE, name))?.status?.phase).toBe('PartiallyFailed');
    const details = await velero('backup', 'describe', name, '--details');
    expect(details).toMatch(new RegExp(`Operation for imagestreams.image.openshift.io ${nsBad}/broken:[\\s\\S]*?Phase:\\s+Failed\\s+Operation Error:\\s+`
      + `ImageStreamsBackup ${env.VELERO_NAMESPACE}/${name} ended PartiallyFailed[^\\n]*failed images: ${ref(`${nsBad}/broken`, missing).replace(/\./g, '\\.')}`));
  }, 300_000);
});

describe('disaster recovery on an empty cluster', () => {
  let ctlB: ControllerProcess;

  afterAll(async () => {
    await ctlB?.kill('SIGTERM');
  });

  test('an ImageStreamsRestore first, then velero restore: every ImageStream resolves in the new registry', async () => {
    const { second, onB, envB, velero: veleroB, ready } = clusterB!;
    const t0 = Date.now();
    const steps: string[] = [`Velero B had run ${((t0 - ready) / 1000).toFixed(1)} s`];
    const step = (what: string) => steps.push(`${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // 1. Velero's own sync brings the Backup object from the bucket.
    await poll('the backup synced to cluster B', () => veleroPhase(backupName, onB), (p) => p === 'Completed', 150_000)
      .catch(async (err: Error) => { throw new Error(`${err.message}\n${(await veleroB.log()).split('\n').slice(-20).join('\n')}`); });
    step('backup synced');

    // 2. The images, by digest with their tags, before anything runs that needs them.
    ctlB = await startController(envB, { namespaces: [env.VELERO_NAMESPACE], env: { PROGRESS_INTERVAL_MS: '300', LEADER_ELECT: 'false' } });
    await ctlB.waitReady();
    const isrs = new CustomResources<ImageStreamsRestore>(onB.kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
    await isrs.create(env.VELERO_NAMESPACE, { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name: backupName },
      spec: { imageStreamsBackupReference: { name: backupName }, backupLocation: { name: 'default' } } });
    const isr = await poll('the restore', async () => (await isrs.get(env.VELERO_NAMESPACE, backupName))!, (r) => TERMINAL.includes(r.status?.phase ?? ''));
    expect(isr.status?.phase).toBe('Completed');
    step('images restored');
    const regB = fixtureRegistryFromEnv(envB);
    const images: Array<[string, PushedImage | PushedIndex, string[]]> = [
      [`${nsA}/web`, web2, ['latest']], [`${nsA}/web`, web1, ['v1']], [`${nsA}/tools`, tools, ['stable']],
      [`${nsB}/api`, api, ['latest']], [`${nsB}/mirror`, tools, ['stable']],
    ];
    for (const [repo, image, tags] of images) {
      expect(await manifestExists(regB, repo, image.digest)).toBe(true);
      expect(await listTags(regB, repo)).toEqual(expect.arrayContaining(tags));
      for (const tag of tags) expect((await request(regB, 'HEAD', `/v2/${repo}/manifests/${tag}`, { headers: { Accept: image.mediaType } })).headers['docker-content-digest']).toBe(image.digest);
    }

    // 3. The ImageStream objects (their status too: here no image API computes it from the registry).
    await veleroCli(env, second.kubeconfig)('restore', 'create', `r-${run}`, '--from-backup', backupName, '--wait',
      '--status-include-resources', 'imagestreams.image.openshift.io');
    step('velero restore done');
    console.log(`disaster recovery: ${steps.join(', ')}`);
    const streams = new CustomResources<ReturnType<typeof imageStream>>(onB.kc, ImageStreams);
    for (const [ns, name] of [[nsA, 'web'], [nsA, 'tools'], [nsB, 'api'], [nsB, 'mirror']] as const) {
      const restored = await streams.get(ns, name);
      const refs = (restored?.status?.tags ?? []).flatMap((t) => t.items ?? []).map((i) => i.dockerImageReference!)
        .filter((r) => r.startsWith(`${env.REGISTRY}/`));
      expect(refs.length).toBeGreaterThan(0);
      for (const r of refs) {
        // On OpenShift both clusters' registries have the same name; here cluster B's has another port.
        const [repo, digest] = r.slice(env.REGISTRY.length + 1).split('@') as [string, string];
        expect(await manifestExists(regB, repo, digest)).toBe(true);
      }
    }
  }, 420_000);
});

describe('Velero drives the lifetime of the ISBs its plugin made', () => {
  const ns = env.VELERO_NAMESPACE;
  const handWritten: string[] = [];
  /** How many times the controller decided `result` for an ISB (imagestream_backup_velero_backup_checks_total). */
  const checks = async (result: string) =>
    Number(new RegExp(`^imagestream_backup_velero_backup_checks_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(await ctl.metrics())?.[1] ?? 0);
  const veleroRecord = (name: string) => `velero/backups/${name}/velero-backup.json`;
  const bundle = (name: string) => `${root}backups/${name}/bundle.tar`;

  afterAll(async () => {
    for (const name of handWritten) await cluster.isbs.delete(ns, name);
  });

  test('velero backup delete deletes its ISB and its bundle.tar; hand-written ISBs that name the backup stay', async () => {
    const name = `del-${run}`;
    await backUp(name, [nsB]);
    expect((await cluster.isbs.get(ns, name))?.status?.phase).toBe('Completed');
    expect((await bucket.list(veleroRecord(name))).size).toBe(1);
    expect((await bucket.list(bundle(name))).size).toBe(1);
    // Written by hand: naming the backup by its label only, and by a reference only (an ISB that waited for it).
    const byLabel = await cluster.isbs.create(ns, { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsBackup',
      metadata: { name: `${name}-label`, labels: { 'velero.io/backup-name': name } }, spec: { startBackup: false, imageStreams: [] } });
    const byRef = await cluster.isbs.create(ns, { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsBackup',
      metadata: { name: `${name}-ref` }, spec: { veleroBackupReference: { name, namespace: ns }, imageStreams: [] } });
    handWritten.push(byLabel.metadata!.name!, byRef.metadata!.name!);
    const handWrittenChecks = await checks('HandWritten');

    await velero('backup', 'delete', name, '--confirm');
    await poll('the ISB of the deleted backup gone', () => cluster.isbs.get(ns, name), (isb) => isb === undefined, 120_000);
    expect(await cluster.veleroBackups.get(ns, name)).toBeUndefined();
    expect((await bucket.list(veleroRecord(name))).size).toBe(0);
    // The ISB's finalizer deleted its data before letting the object go.
    expect((await bucket.list(bundle(name))).size).toBe(0);
    expect((await cluster.events(ns, name)).map((e) => e.reason)).toEqual(expect.arrayContaining(['VeleroBackupDeleted', 'BundleDeleted']));
    expect(ctl.logs().split('\n').filter((l) => l.includes('Velero deleted') && l.includes(`"${ns}/${name}"`))).toHaveLength(1);

    // The deletion made the controller look at both hand-written ISBs too; both are still there.
    await poll('the hand-written ISBs checked', () => checks('HandWritten'), (n) => n >= handWrittenChecks + 2, 30_000);
    expect((await cluster.isbs.get(ns, byLabel.metadata!.name!))?.metadata?.uid).toBe(byLabel.metadata!.uid);
    expect((await cluster.isbs.get(ns, byRef.metadata!.name!))?.metadata?.uid).toBe(byRef.metadata!.uid);
  }, 300_000);

  test('deleting only the Backup object keeps the ISB, and Velero\'s sync brings the Backup back', async () => {
    const name = `obj-${run}`;
    await backUp(name, [nsB]);
    const isb = (await cluster.isbs.get(ns, name))!;
    expect(isb.status?.phase).toBe('Completed');
    const original = (await cluster.veleroBackups.get(ns, name))!.metadata!.uid;
    const kept = await checks('VeleroBackupDataRemains');

    // kubectl delete backup.velero.io <name>: the object only, Velero keeps the data.
    await cluster.veleroBackups.delete(ns, name);
    await poll('the controller to look and keep the ISB', () => checks('VeleroBackupDataRemains'), (n) => n > kept, 30_000);
    // Velero's sync runs once a minute: it brings the Backup back from velero-backup.json.
    const back = await poll('the Backup synced back', () => cluster.veleroBackups.get(ns, name), (vb) => vb !== undefined && vb.metadata?.uid !== original, 150_000);
    expect(back?.status?.phase).toBe('Completed');
    expect((await cluster.isbs.get(ns, name))?.metadata?.uid).toBe(isb.metadata!.uid);
    expect((await bucket.list(bundle(name))).size).toBe(1);
  }, 300_000);
});
