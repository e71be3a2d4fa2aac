// The CRDs in crds/ against the real API server of hack/stack.sh: what an admin may apply,
// what is refused and how the refusal reads, and what kubectl explain / get show.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, GROUP, ISB_KIND, ISB_PLURAL, ISR_KIND, ISR_PLURAL, VERSION } from '../pkg/api/index.js';
import type { ImageStreamsBackupStatus, ImageStreamsRestoreStatus } from '../pkg/api/index.js';
import { loadStackEnv, repoRoot, uniqueName } from './stackEnv.js';

// The original design's examples (../shared/examples), exactly as written but for the group
// in apiVersion. A copy sits in test/fixture/examples for a clone without ../shared; where
// ../shared is there, the copy must be identical.
const ORIGINAL = ['original-isb.yaml', 'original-isr.yaml'].map((f) => {
  const copy = readFileSync(path.join(repoRoot, 'test', 'fixture', 'examples', f), 'utf8');
  const shared = path.join(repoRoot, '..', 'shared', 'examples', f);
  if (existsSync(shared) && readFileSync(shared, 'utf8') !== copy) throw new Error(`test/fixture/examples/${f} differs from ${shared}: copy it again`);
  return copy;
});

// The reference examples of DESIGN.md, verbatim.
const EXAMPLES = `
apiVersion: oadp.openshift.io/v1alpha1
kind: ImageStreamsBackup
metadata: {name: my-backup, namespace: openshift-adp}
spec:
  startBackup: false
  veleroBackupReference: {name: my-backup, namespace: openshift-adp, startOnCompletion: true}
  backupLocation:
    name: default                 # a velero.io/v1 BackupStorageLocation in this namespace ...
    velero:                       # ... or an inline BSL spec (DPA style); inline wins if both
      provider: aws
      default: true
      objectStorage: {bucket: my-bucket, prefix: my-prefix}
      config: {region: us-east-1, profile: "default"}
      credential: {name: my-custom-name, key: cloud}
  imageStreams:
    - name: my-image-stream
      namespace: openshift        # optional; else taken from the reference path
      dockerImageReferences:
        - dockerImageReference: image-registry.openshift-image-registry.svc:5000/openshift/apicast-gateway@sha256:313df5722ddd866d43758af161e5932dfd4648b99a5c57acfddfc2a955669fe8
          tags: [latest, v1.0.0, v1.0.1]
---
apiVersion: oadp.openshift.io/v1alpha1
kind: ImageStreamsRestore
metadata: {name: my-restore, namespace: openshift-adp}
spec:
  imageStreamsBackupReference: {name: my-backup}   # the original design spelled it ImageStreamsBackupReference: accepted too
  backupLocation: {name: default}
  imageStreams: []      # empty or absent: everything in the backup; else only these
  namespaceMapping: {}  # optional, as in a Velero Restore: {old-namespace: new-namespace}
`;

const DIGEST = 'sha256:313df5722ddd866d43758af161e5932dfd4648b99a5c57acfddfc2a955669fe8';
const REF = `image-registry.openshift-image-registry.svc:5000/openshift/apicast-gateway@${DIGEST}`;

type Obj = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown>; status?: unknown };

const isb = (spec?: Record<string, unknown>): Obj => ({
  apiVersion: API_VERSION, kind: ISB_KIND, metadata: { name: uniqueName('isb') }, ...(spec && { spec }),
});
const isr = (spec?: Record<string, unknown>): Obj => ({
  apiVersion: API_VERSION, kind: ISR_KIND, metadata: { name: uniqueName('isr') }, ...(spec && { spec }),
});
const withRef = (ref: Record<string, unknown>) => isb({ imageStreams: [{ name: 'is', dockerImageReferences: [ref] }] });
const inline = (velero: Record<string, unknown>) => isb({ backupLocation: { velero } });

const progress = {
  images: { total: 10, done: 3, failed: 1 },
  blobs: { total: 40, done: 12, skipped: 5 },
  bytes: { total: 5_000_000_000, done: 1_048_576, skipped: 2048 },
};
const backupStatus: ImageStreamsBackupStatus = {
  phase: 'InProgress', message: 'copying images', observedGeneration: 1, startTimestamp: '2025-01-02T03:04:05Z',
  progress, backupLocation: 'default',
  failures: [{ imageStream: 'ns/is', reference: REF, message: 'manifest unknown' }],
  conditions: [{ type: 'Ready', status: 'False', reason: 'InProgress', message: '', lastTransitionTime: '2025-01-02T03:04:05Z', observedGeneration: 1 }],
};
const restoreStatus: ImageStreamsRestoreStatus = { phase: 'Completed', backupName: 'my-backup', progress };

let env: ReturnType<typeof loadStackEnv>;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let namespace: string;

beforeAll(async () => {
  env = loadStackEnv();
  const kc = new KubeConfig();
  kc.loadFromFile(env.KUBECONFIG);
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  namespace = uniqueName('crds');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  if (!namespace) return;
  // No namespace controller runs on the stack, so the objects are deleted explicitly.
  for (const plural of [ISB_PLURAL, ISR_PLURAL]) {
    await custom.deleteCollectionNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural });
  }
  await core.deleteNamespace({ name: namespace });
});

function plural(obj: Obj): string {
  return obj.kind === ISB_KIND ? ISB_PLURAL : ISR_PLURAL;
}

async function create(obj: Obj, dryRun = false): Promise<Obj> {
  return custom.createNamespacedCustomObject({
    group: GROUP, version: VERSION, namespace, plural: plural(obj), body: obj,
    fieldValidation: 'Strict', ...(dryRun && { dryRun: 'All' }),
  }) as Promise<Obj>;
}

async function get(kindPlural: string, name: string): Promise<Obj> {
  return custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: kindPlural, name }) as Promise<Obj>;
}

async function writeStatus(obj: Obj, status: unknown): Promise<Obj> {
  const current = await get(plural(obj), obj.metadata.name);
  return custom.replaceNamespacedCustomObjectStatus({
    group: GROUP, version: VERSION, namespace, plural: plural(obj), name: obj.metadata.name, body: { ...current, status },
  }) as Promise<Obj>;
}

/** The API server's message when it refuses `action`, and its HTTP status. */
async function refusal(action: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await action;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return { code: err.code, message: (body as { message?: string }).message ?? String(err.body) };
  }
  throw new Error('the API server accepted it');
}

function kubectl(args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(path.join(env.STACK_BIN, 'kubectl'), ['--kubeconfig', env.KUBECONFIG, ...args],
      (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
    child.stdin?.end(input);
  });
}

/** Retries `fn` until it resolves: the API server publishes new schemas a moment after a CRD changes. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** kubectl's table output as rows of cells; columns are at least three spaces apart. */
function table(text: string): string[][] {
  return text.trim().split('\n').map((line) => line.trim().split(/\s{2,}/));
}

describe('the reference examples', () => {
  it('apply unchanged with kubectl (strict field validation) and keep every field', async () => {
    const docs = yaml.loadAll(EXAMPLES) as Obj[];
    const text = EXAMPLES.replaceAll('namespace: openshift-adp}', `namespace: ${namespace}}`);
    const out = await kubectl(['apply', '-f', '-'], text);
    expect(out).toMatch(/imagestreamsbackup.oadp.openshift.io\/my-backup (created|unchanged|configured)/);
    expect(out).toMatch(/imagestreamsrestore.oadp.openshift.io\/my-restore (created|unchanged|configured)/);
    const [backup, restore] = await Promise.all([get(ISB_PLURAL, 'my-backup'), get(ISR_PLURAL, 'my-restore')]);
    // Every field as written, and the one default the CRD adds (what deleting the object does).
    expect(backup.spec).toEqual({ ...docs[0]!.spec, deletionPolicy: 'Delete' });
    expect(restore.spec).toEqual(docs[1]!.spec);
  });
});

describe('the original design\'s examples', () => {
  it.each([['ImageStreamsBackup', 0], ['ImageStreamsRestore', 1]] as const)('%s applies unchanged (the group added to apiVersion) and keeps every field', async (kind, i) => {
    const text = ORIGINAL[i]!.replace(/^apiVersion: v1alpha1$/m, 'apiVersion: oadp.openshift.io/v1alpha1');
    expect(text).not.toBe(ORIGINAL[i]);
    const out = await kubectl(['apply', '-n', namespace, '-f', '-'], text);
    expect(out).toMatch(new RegExp(`${kind.toLowerCase()}.oadp.openshift.io/my-(backup|restore) (created|unchanged|configured)`));
    const doc = yaml.load(text) as Obj;
    const stored = await get(kind === 'ImageStreamsBackup' ? ISB_PLURAL : ISR_PLURAL, doc.metadata.name);
    // The API server adds defaults (startOnCompletion); every field the example has is kept as written.
    expect(stored.spec).toMatchObject(doc.spec!);
  });
});

describe('valid objects', () => {
  it.each<[string, Obj, Record<string, unknown>]>([
    ['an ImageStreamsBackup without spec is held by default', isb(), { startBackup: false }],
    ['startOnCompletion defaults to false',
      isb({ veleroBackupReference: { name: 'b' } }), { veleroBackupReference: { name: 'b', startOnCompletion: false } }],
    ['an inline location needs no name and keeps any config key',
      inline({ provider: 'aws', objectStorage: { bucket: 'b' }, config: { s3Url: 'https://s3:9000', anyKey: 'x' } }),
      { backupLocation: { velero: { provider: 'aws', objectStorage: { bucket: 'b' }, config: { s3Url: 'https://s3:9000', anyKey: 'x' } } } }],
    ['a tag written next to the digest is allowed (the digest wins)',
      withRef({ dockerImageReference: `quay.io/ns/app:v1@${DIGEST}`, tags: ['_x', 'V1.0-rc_1'] }), {}],
    ['an ImageStreamsRestore accepts the original spelling alone',
      isr({ ImageStreamsBackupReference: { name: 'my-backup' } }), { ImageStreamsBackupReference: { name: 'my-backup' } }],
    ['an ImageStreamsRestore accepts both spellings naming one backup',
      isr({ imageStreamsBackupReference: { name: 'b' }, ImageStreamsBackupReference: { name: 'b' } }), {}],
    ['an ImageStreamsRestore selects whole namespaces and maps them',
      isr({ imageStreamsBackupReference: { name: 'b' }, imageStreams: [{ namespace: 'app' }, { namespace: 'ci', name: 'tools' }], namespaceMapping: { app: 'app-restored' } }), {}],
    ['an ImageStreamsRestore selects an image stream by name alone, in every namespace',
      isr({ imageStreamsBackupReference: { name: 'b' }, imageStreams: [{ name: 'tools' }] }), {}],
    ['an ImageStreamsRestore restores images by digest with exactly the tags listed',
      isr({ imageStreamsBackupReference: { name: 'b' }, imageStreams: [{ name: 'is', dockerImageReferences: [{ dockerImageReference: REF, tags: ['latest', 'v1.0.0'] }] }] }),
      { imageStreams: [{ name: 'is', dockerImageReferences: [{ dockerImageReference: REF, tags: ['latest', 'v1.0.0'] }] }] }],
    ['an ImageStreamsRestore that only verifies the backup',
      isr({ imageStreamsBackupReference: { name: 'b' }, imageStreams: [{ namespace: 'app' }], verifyOnly: true }), { verifyOnly: true }],
  ])('%s', async (_name, obj, expectedSpec) => {
    const created = await create(obj, true);
    expect(created.spec).toMatchObject(expectedSpec);
  });
});

describe('invalid objects are refused with a message that names the field', () => {
  const entry = 'spec.imageStreams[0].dockerImageReferences[0]';
  it.each<[string, Obj, string, RegExp]>([
    ['a tag reference', withRef({ dockerImageReference: 'image-registry.openshift-image-registry.svc:5000/openshift/app:latest' }),
      `${entry}.dockerImageReference`, /should match '\^\[\^@\\s\]\+@sha256:\[a-f0-9\]\{64\}\$'/],
    ['a short digest', withRef({ dockerImageReference: REF.slice(0, -10) }), `${entry}.dockerImageReference`, /should match/],
    ['an upper-case digest', withRef({ dockerImageReference: REF.toUpperCase() }), `${entry}.dockerImageReference`, /should match/],
    ['a sha512 digest', withRef({ dockerImageReference: `quay.io/a/b@sha512:${'a'.repeat(128)}` }), `${entry}.dockerImageReference`, /should match/],
    ['a reference entry without reference', withRef({ tags: ['latest'] }), `${entry}.dockerImageReference`, /Required value/],
    ['a tag starting with a dot', withRef({ dockerImageReference: REF, tags: ['latest', '.hidden'] }), `${entry}.tags[1]`, /should match/],
    ['a tag of 129 characters', withRef({ dockerImageReference: REF, tags: ['t'.repeat(129)] }), `${entry}.tags[0]`, /should match/],
    ['an image stream without name', isb({ imageStreams: [{ namespace: 'ns' }] }), 'spec.imageStreams[0].name', /Required value/],
    ['an image stream namespace that is not a DNS label', isb({ imageStreams: [{ name: 'is', namespace: 'My_NS' }] }),
      'spec.imageStreams[0].namespace', /should match/],
    ['an empty location', isb({ backupLocation: {} }), 'spec.backupLocation',
      /needs name \(a BackupStorageLocation in this namespace\) or velero/],
    ['an empty location name', isb({ backupLocation: { name: '' } }), 'spec.backupLocation.name', /at least 1 chars long/],
    ['a missing bucket', inline({ provider: 'aws', objectStorage: { prefix: 'p' } }), 'spec.backupLocation.velero.objectStorage.bucket', /Required value/],
    ['an empty bucket', inline({ provider: 'aws', objectStorage: { bucket: '' } }), 'spec.backupLocation.velero.objectStorage.bucket', /at least 1 chars long/],
    ['a missing provider', inline({ objectStorage: { bucket: 'b' } }), 'spec.backupLocation.velero.provider', /Required value/],
    ['a missing objectStorage', inline({ provider: 'aws' }), 'spec.backupLocation.velero.objectStorage', /Required value/],
    ['a credential without key', inline({ provider: 'aws', objectStorage: { bucket: 'b' }, credential: { name: 's' } }),
      'spec.backupLocation.velero.credential.key', /Required value/],
    ['an unknown access mode', inline({ provider: 'aws', objectStorage: { bucket: 'b' }, accessMode: 'WriteOnly' }),
      'spec.backupLocation.velero.accessMode', /Unsupported value: "WriteOnly"/],
    ['a non-string config value', inline({ provider: 'aws', objectStorage: { bucket: 'b' }, config: { s3ForcePathStyle: true } }),
      'spec.backupLocation.velero.config.s3ForcePathStyle', /must be of type string/],
    ['a Velero backup reference without name', isb({ veleroBackupReference: { namespace: 'openshift-adp' } }),
      'spec.veleroBackupReference.name', /Required value/],
    ['startBackup as a string', isb({ startBackup: 'yes' }), 'spec.startBackup', /must be of type boolean/],
    ['a restore without spec', isr(), 'spec', /Required value/],
    ['a restore without backup reference', isr({ backupLocation: { name: 'default' } }), 'spec.imageStreamsBackupReference',
      /Required value: is required, to name the ImageStreamsBackup to restore/],
    ['a restore whose two spellings name different backups',
      isr({ imageStreamsBackupReference: { name: 'a' }, ImageStreamsBackupReference: { name: 'b' } }),
      'spec.ImageStreamsBackupReference', /names another backup than imageStreamsBackupReference/],
    ['a restore reference without name', isr({ imageStreamsBackupReference: {} }), 'spec.imageStreamsBackupReference.name', /Required value/],
    ['a restore entry with neither name, namespace nor references', isr({ imageStreamsBackupReference: { name: 'b' }, imageStreams: [{ name: 'is' }, {}] }),
      'spec.imageStreams[1]', /needs a name, a namespace or dockerImageReferences/],
    ['a restore reference by tag', isr({ imageStreamsBackupReference: { name: 'b' }, imageStreams: [{ name: 'is', dockerImageReferences: [{ dockerImageReference: 'quay.io/a/b:latest' }] }] }),
      'spec.imageStreams[0].dockerImageReferences[0].dockerImageReference', /should match/],
    ['a restore tag with unicode in it', isr({ imageStreamsBackupReference: { name: 'b' }, imageStreams: [{ name: 'is', dockerImageReferences: [{ dockerImageReference: REF, tags: ['lätest'] }] }] }),
      'spec.imageStreams[0].dockerImageReferences[0].tags[0]', /should match/],
    ['a restore selector with an invalid name', isr({ imageStreamsBackupReference: { name: 'b' }, imageStreams: [{ namespace: 'ns', name: 'Not/A-Name' }] }),
      'spec.imageStreams[0].name', /should match/],
    ['a namespace mapping onto an invalid namespace', isr({ imageStreamsBackupReference: { name: 'b' }, namespaceMapping: { app: 'Not_A_Namespace' } }),
      'spec.namespaceMapping.app', /should match/],
    ['an empty restore location', isr({ imageStreamsBackupReference: { name: 'b' }, backupLocation: {} }), 'spec.backupLocation', /needs name/],
  ])('%s', async (_name, obj, field, reason) => {
    const { code, message } = await refusal(create(obj, true));
    expect(code).toBe(422);
    expect(message).toContain(`${field}:`);
    expect(message).toMatch(reason);
  });

  it('a restore whose verifyOnly changes after its creation (its other fields may change)', async () => {
    const replace = async (obj: Obj, spec: Record<string, unknown>) => {
      const current = await get(ISR_PLURAL, obj.metadata.name);
      return custom.replaceNamespacedCustomObject({
        group: GROUP, version: VERSION, namespace, plural: ISR_PLURAL, name: obj.metadata.name, body: { ...current, spec: { ...current.spec, ...spec } },
      });
    };
    const verifies = await create(isr({ imageStreamsBackupReference: { name: 'b' }, verifyOnly: true }));
    const restores = await create(isr({ imageStreamsBackupReference: { name: 'b' } }));
    for (const [obj, spec] of [[verifies, { verifyOnly: false }], [restores, { verifyOnly: true }]] as const) {
      const { code, message } = await refusal(replace(obj, spec));
      expect(code).toBe(422);
      expect(message).toContain('spec.verifyOnly:');
      expect(message).toMatch(/cannot be changed; create another ImageStreamsRestore to restore or to verify/);
    }
    await expect(replace(verifies, { imageStreams: [{ namespace: 'app' }] })).resolves.toBeDefined();
    await expect(replace(restores, { verifyOnly: false })).resolves.toBeDefined();
  });

  it('an unknown field, under strict field validation', async () => {
    const { code, message } = await refusal(create(isb({ startbackup: true }), true));
    expect(code).toBe(400);
    expect(message).toContain('unknown field "spec.startbackup"');
  });
});

describe('status', () => {
  it('is a subresource: creating an object with a status drops it', async () => {
    const obj = { ...isb(), status: backupStatus };
    const created = await create(obj, true);
    expect(created.status).toBeUndefined();
  });

  it.each<[string, unknown, string, RegExp]>([
    ['an unknown phase', { phase: 'Running' }, 'status.phase', /Unsupported value: "Running"/],
    ['more than 50 failures', { failures: Array.from({ length: 51 }, () => ({ imageStream: 'a/b', reference: REF, message: 'x' })) },
      'status.failures', /must have at most 50 items/],
    ['a condition status other than True/False/Unknown', { conditions: [{ ...backupStatus.conditions![0], status: 'Yes' }] },
      'status.conditions[0].status', /Unsupported value: "Yes"/],
    ['progress without bytes', { progress: { images: progress.images, blobs: progress.blobs } }, 'status.progress.bytes', /Required value/],
  ])('refuses %s', async (_name, status, field, reason) => {
    const obj = await create(isb());
    const { code, message } = await refusal(writeStatus(obj, status));
    expect(code).toBe(422);
    expect(message).toContain(`${field}:`);
    expect(message).toMatch(reason);
  });

  it('keeps an ImageStreamsBackup status as written', async () => {
    const obj = await create(isb());
    const written = await writeStatus(obj, backupStatus);
    expect(written.status).toEqual(backupStatus);
  });
});

describe('kubectl', () => {
  it.each([
    ['imagestreamsbackups.spec.imageStreams', ['The image streams to back up, each with the image digests to keep',
      'dockerImageReferences <[]Object>', 'name <string> -required-', 'Namespace of the ImageStream']],
    ['imagestreamsbackups.spec.imageStreams.dockerImageReferences.dockerImageReference',
      ['<registry>/<namespace>/<name>@sha256:<64 lowercase hex>. A tag reference is refused']],
    ['imagestreamsbackups.spec.backupLocation.velero.objectStorage',
      ['bucket <string> -required-', 'A PEM bundle of CA certificates, base64-encoded']],
    ['imagestreamsbackups.status.phase', ['WaitingForStart: held, because startBackup is false', 'ENUM: New WaitingForStart InProgress Completed PartiallyFailed Failed']],
    ['imagestreamsrestores.spec', ['ImageStreamsBackupReference <Object>', 'The spelling of imageStreamsBackupReference in the original design',
      'namespaceMapping <map[string]string>']],
    ['imagestreamsrestores.spec.imageStreams', ['{namespace, name} selects one image stream, {namespace} every image stream of that namespace, {name} that image stream in every namespace of the backup',
      'with dockerImageReferences, exactly those images are restored, looked up by digest anywhere in the backup',
      'dockerImageReferences <[]Object>', 'name <string>', 'namespace <string>']],
  ])('explain %s prints the descriptions', async (field, texts) => {
    const out = await eventually(() => kubectl(['explain', field]));
    const flat = out.replace(/\s+/g, ' ');
    for (const text of texts) expect(flat).toContain(text);
  });

  it('get imagestreamsbackups shows phase and progress columns, more with -o wide', async () => {
    const obj = await create(isb());
    await writeStatus(obj, backupStatus);
    const row = (rows: string[][]) => rows.find((r) => r[0] === obj.metadata.name);

    const plain = table(await kubectl(['get', 'imagestreamsbackups', '-n', namespace]));
    expect(plain[0]).toEqual(['NAME', 'PHASE', 'IMAGES DONE', 'IMAGES TOTAL', 'UPLOADED', 'SKIPPED', 'AGE']);
    expect(row(plain)?.slice(0, 6)).toEqual([obj.metadata.name, 'InProgress', '3', '10', '1048576', '2048']);

    const wide = table(await kubectl(['get', 'isb', '-o', 'wide', '-n', namespace]));
    expect(wide[0]).toEqual(['NAME', 'PHASE', 'IMAGES DONE', 'IMAGES TOTAL', 'UPLOADED', 'SKIPPED', 'FAILED', 'LOCATION', 'MESSAGE', 'AGE']);
    expect(row(wide)?.slice(6, 9)).toEqual(['1', 'default', 'copying images']);
  });

  it('get imagestreamsrestores shows phase, backup and progress columns; -o wide whether it only verifies, and what it found damaged', async () => {
    const obj = await create(isr({ imageStreamsBackupReference: { name: 'my-backup' }, verifyOnly: true }));
    await writeStatus(obj, { ...restoreStatus, message: 'backup is damaged', badBlobs: 2 });
    const rows = table(await kubectl(['get', 'isr', '-n', namespace]));
    const row = (t: string[][]) => t.find((r) => r[0] === obj.metadata.name);
    expect(rows[0]).toEqual(['NAME', 'PHASE', 'BACKUP', 'IMAGES DONE', 'IMAGES TOTAL', 'BYTES', 'BLOBS', 'AGE']);
    expect(row(rows)?.slice(0, 7)).toEqual([obj.metadata.name, 'Completed', 'my-backup', '3', '10', '1048576', '12']);

    const wide = table(await kubectl(['get', 'isr', '-o', 'wide', '-n', namespace]));
    expect(wide[0]).toEqual(['NAME', 'PHASE', 'BACKUP', 'IMAGES DONE', 'IMAGES TOTAL', 'BYTES', 'BLOBS', 'VERIFY ONLY', 'BAD BLOBS', 'FAILED', 'MESSAGE', 'AGE']);
    expect(row(wide)?.slice(7, 11)).toEqual(['true', '2', '1', 'backup is damaged']);
  });
});
