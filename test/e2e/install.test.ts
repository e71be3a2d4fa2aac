// The install (config/) against the stack's API server, which enforces RBAC: the manifests
// apply, and the controller, holding nothing but its ServiceAccount's token, backs up and
// restores to Completed, and deletes the ISB of a Velero backup Velero deleted. A verb missing
// from config/rbac fails this test. The controller also runs with a read-only TMPDIR: it writes
// nothing to disk (credentials included).
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsRestore } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { Crane } from '../datapath-helpers.js';
import { fixtureRegistryFromEnv, pushImage } from '../fixture/images.js';
import { waitFor } from '../fixture/wait.js';
import { loadStackEnv, repoRoot, uniqueName } from '../stackEnv.js';
import { TestBucket, TestCluster, phaseIs } from './cluster.js';
import { startController, type ControllerProcess } from './controller.js';
import { readOnlyDir, type ReadOnlyDir } from './readOnlyDir.js';

const run = promisify(execFile);
const env = loadStackEnv();
const cluster = new TestCluster(env);
const bucket = new TestBucket(env);
const reg = fixtureRegistryFromEnv(env);
const kubectl = (...args: string[]) => run(path.join(env.STACK_BIN, 'kubectl'), ['--kubeconfig', env.KUBECONFIG, ...args], { maxBuffer: 16 << 20 });
const ns = uniqueName('install');
const prefix = uniqueName('install-prefix');
const work = mkdtempSync(path.join(tmpdir(), 'isb-install-'));

let ctl: ControllerProcess | undefined;
let ro: ReadOnlyDir | undefined;

afterAll(async () => {
  await ctl?.kill('SIGTERM');
  await ro?.release();
  await bucket.remove(`${prefix}/`);
  bucket.close();
});

describe('config/', () => {
  it('applies as written: kubectl apply -k config/default --dry-run=server', async () => {
    await kubectl('create', 'namespace', 'openshift-adp').catch(() => undefined);
    const { stdout } = await kubectl('apply', '-k', path.join(repoRoot, 'config', 'default'), '--dry-run=server', '--server-side', '--force-conflicts');
    for (const kind of ['customresourcedefinition', 'serviceaccount', 'role', 'rolebinding', 'clusterrole', 'clusterrolebinding', 'service', 'deployment']) {
      expect(stdout).toMatch(new RegExp(`^${kind}(\\.[^ /]+)?/[a-z.-]+ serverside-applied \\(server dry run\\)$`, 'm'));
    }
  });

  it('is enough: with only its ServiceAccount\'s token and a read-only TMPDIR, the controller backs up and restores to Completed', async () => {
    // The install into a namespace of this test's own: an overlay over config/default (kustomize
    // takes a base by a relative path only).
    const overlay = path.join(repoRoot, '.stack', `overlay-${ns}`);
    mkdirSync(overlay, { recursive: true });
    writeFileSync(path.join(overlay, 'kustomization.yaml'),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${ns}\nresources:\n- ${path.relative(overlay, path.join(repoRoot, 'config', 'default'))}\n`);
    await cluster.createNamespace(ns);
    await kubectl('apply', '--server-side', '--force-conflicts', '-k', overlay);
    const { stdout: token } = await kubectl('create', 'token', 'imagestream-backup', '-n', ns, '--duration', '1h');
    const server = (await kubectl('config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}')).stdout;
    const kubeconfig = path.join(work, 'sa.kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config',
      `clusters: [{name: c, cluster: {server: "${server}", certificate-authority: "${env.S3_CA_FILE}"}}]`,
      `users: [{name: sa, user: {token: "${token.trim()}"}}]`,
      `contexts: [{name: sa, context: {cluster: c, user: sa, namespace: ${ns}}}]`,
      'current-context: sa', '',
    ].join('\n'), { mode: 0o600 });

    // What an admin sets up: the BSL, its Secret, the images.
    await cluster.createCredentials(ns);
    await cluster.createLocation(ns, 'default', prefix, { default: true });
    const img = await pushImage(reg, `${ns}/app`, { layers: [{ seed: `${ns}-a`, size: 300_000 }, { seed: `${ns}-b`, size: 100_000 }], tags: ['v1'] });

    ro = await readOnlyDir(path.join(work, 'ro'));
    ctl = await startController(env, {
      namespaces: [], built: true,
      env: { KUBECONFIG: kubeconfig, POD_NAMESPACE: ns, WATCH_NAMESPACES: '', TMPDIR: ro.path },
    });
    await ctl.waitReady();
    await cluster.createIsb(ns, 'b', {
      startBackup: true,
      imageStreams: [{ name: 'app', dockerImageReferences: [{ dockerImageReference: `${env.REGISTRY}/${ns}/app@${img.digest}`, tags: ['v1'] }] }],
    });
    const done = await cluster.waitForIsb(ns, 'b', phaseIs('Completed', 'PartiallyFailed', 'Failed'), 'the end of the backup');
    expect(done.status).toMatchObject({ phase: 'Completed' });

    const target = `${ns}-restored`;
    const isrs = new CustomResources<ImageStreamsRestore>(cluster.kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
    await isrs.create(ns, {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name: 'r', namespace: ns },
      spec: { imageStreamsBackupReference: { name: 'b' }, namespaceMapping: { [ns]: target } },
    });
    let restored: ImageStreamsRestore | undefined;
    for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
      restored = await isrs.get(ns, 'r');
      if (['Completed', 'PartiallyFailed', 'Failed'].includes(restored?.status?.phase ?? '')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(restored?.status).toMatchObject({ phase: 'Completed' });
    const crane = await Crane.login(env);
    try {
      expect(await crane.digest(`${env.REGISTRY}/${target}/app:v1`)).toBe(img.digest);
    } finally {
      await crane.close();
    }
    // The ISB of a Velero backup that Velero deleted (no Backup object, no velero-backup.json in the
    // BSL) is deleted: Backups and DeleteBackupRequests watched (get, list, watch), the ISB deleted (delete).
    const gone = await cluster.isbs.create(ns, {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsBackup',
      metadata: { name: 'velero-gone', labels: { 'velero.io/backup-name': 'velero-gone' } },
      spec: { veleroBackupReference: { name: 'velero-gone', namespace: ns, startOnCompletion: true }, backupLocation: { name: 'default' } },
    });
    expect(gone.metadata?.uid).toBeDefined();
    await waitFor('the ISB of the deleted Velero backup to be deleted', () => cluster.isbs.get(ns, 'velero-gone'), (isb) => isb === undefined, 30_000);
    // Events were recorded (create, patch) and the Lease was taken (get, create, update).
    expect((await cluster.events(ns, 'b')).map((e) => e.reason)).toEqual(expect.arrayContaining(['BackupStarted', 'BackupCompleted']));
    expect((await kubectl('get', 'lease', 'imagestream-backup', '-n', ns, '-o', 'jsonpath={.spec.holderIdentity}')).stdout).not.toBe('');
    // Deleting the backup deletes its bundle (the finalizer: patch), and the cluster's identity was read (namespaces: get).
    await cluster.isbs.delete(ns, 'b');
    for (const deadline = Date.now() + 60_000; (await cluster.isbs.get(ns, 'b')) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 250));
    expect(await cluster.isbs.get(ns, 'b')).toBeUndefined();
    expect(await bucket.list(`${prefix}/plugins/imagestreams/v1/backups/b/`)).toEqual(new Map());
    expect(ctl.logs()).toMatch(/"cluster identity".*"cluster":"[0-9a-f-]{36}"/);
    // Nothing the controller logged says it was refused something.
    expect(ctl.logs()).not.toMatch(/forbidden|HTTP 403/i);
  });
});
