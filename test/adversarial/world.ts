// What every adversarial test file shares: one controller process watching three namespaces
// (the first, its own, is the admin namespace; `tenant` and `healthy` are ordinary ones), the
// stack's bucket under a prefix of the file's own, the registry through the fixtures' client,
// and what a case needs to look at outcomes without the product's code: ImageStreamsBackups and
// ImageStreamsRestores by their API, events, a raw S3 listing, registry HEADs.
import { execFile as execFileCb } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CoreV1Event } from '@kubernetes/client-node';
import {
  GROUP, ISB_PLURAL, ISR_PLURAL, VERSION,
  type ImageStreamsBackup, type ImageStreamsBackupSpec, type ImageStreamsRestore, type ImageStreamsRestoreSpec, type VeleroLocationSpec,
} from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { rawS3 } from '../datapath-helpers.js';
import { TestBucket, TestCluster } from '../e2e/cluster.js';
import { startController, type ControllerProcess } from '../e2e/controller.js';
import { deletePrefix } from '../fixture/bucket.js';
import { request, type FixtureRegistry } from '../fixture/http.js';
import { fixtureRegistryFromEnv, pushImage, type PushedImage } from '../fixture/images.js';
import { waitFor as pollUntil } from '../fixture/wait.js';
import { loadStackEnv, uniqueName, type StackEnv } from '../stackEnv.js';

const execFile = promisify(execFileCb);

export const TERMINAL = ['Completed', 'PartiallyFailed', 'Failed'];
export const LAYOUT = 'plugins/imagestreams/v1/';

type Resource = ImageStreamsBackup | ImageStreamsRestore;
export type Kind = 'ImageStreamsBackup' | 'ImageStreamsRestore';

export interface WorldOptions {
  /** Short, unique per test file: names its namespaces and its prefix of the bucket. */
  file: string;
  /** More environment for the controller (it may point INTERNAL_REGISTRY at a proxy). */
  controllerEnv?: Record<string, string>;
}

export const readyOf = (r: Resource | undefined) => r?.status?.conditions?.find((c) => c.type === 'Ready');
export const isFinished = (r: Resource) => TERMINAL.includes(r.status?.phase ?? '')
  && r.status?.observedGeneration === r.metadata?.generation;

/** The stack's CA and serving certificate (hack/stack.sh makes them): for test servers the controller trusts. */
export const pkiDir = (env: StackEnv): string => path.dirname(env.S3_CA_FILE);

export class World {
  readonly cluster: TestCluster;
  readonly bucket: TestBucket;
  readonly s3: S3Client;
  readonly reg: FixtureRegistry;
  readonly isbs: CustomResources<ImageStreamsBackup>;
  readonly isrs: CustomResources<ImageStreamsRestore>;
  /** The bucket prefix under which this file's locations live (each case adds its own segment). */
  readonly root: string;
  readonly admin: string;
  readonly tenant: string;
  readonly healthy: string;
  controller!: ControllerProcess;
  /** The registry host references must name: the controller's INTERNAL_REGISTRY. */
  registryHost: string;

  private constructor(readonly env: StackEnv, readonly run: string, file: string) {
    this.registryHost = env.REGISTRY;
    this.cluster = new TestCluster(env);
    this.bucket = new TestBucket(env);
    this.s3 = rawS3(env);
    this.reg = fixtureRegistryFromEnv(env);
    this.isbs = new CustomResources(this.cluster.kc, { group: GROUP, version: VERSION, plural: ISB_PLURAL });
    this.isrs = new CustomResources(this.cluster.kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
    this.root = `adversarial/${file}-${run}`;
    this.admin = `adv-${file}-admin-${run}`;
    this.tenant = `adv-${file}-tenant-${run}`;
    this.healthy = `adv-${file}-ok-${run}`;
  }

  static async start(opts: WorldOptions): Promise<World> {
    const w = new World(loadStackEnv(), uniqueName('x').slice(2), opts.file);
    w.registryHost = opts.controllerEnv?.INTERNAL_REGISTRY ?? w.env.REGISTRY;
    for (const ns of [w.admin, w.tenant, w.healthy]) {
      await w.cluster.createNamespace(ns);
      await w.cluster.createCredentials(ns);
    }
    w.controller = await startController(w.env, {
      namespaces: [w.admin, w.tenant, w.healthy],
      env: {
        PROGRESS_INTERVAL_MS: '200',
        // Restores that cannot find their location or bundle end Failed soon, so "nothing was
        // pushed" is a final state, not a moment.
        RESTORE_BUNDLE_WAIT_SECONDS: '5',
        RETRY_BASE_SECONDS: '1',
        RETRY_MAX_SECONDS: '2',
        RUN_DEADLINE_SECONDS: '60',
        REQUEST_ATTEMPTS: '2',
        // Five cases run at once (jest's maxConcurrency); their runs need not queue.
        MAX_CONCURRENT_RUNS: '5',
        ...opts.controllerEnv,
      },
    });
    await w.controller.waitReady();
    return w;
  }

  /** An inline location on the stack's MinIO under `<root>/<sub>`, with the namespace's `cloud-credentials`. */
  location(sub: string, change: (l: VeleroLocationSpec) => VeleroLocationSpec = (l) => l): VeleroLocationSpec {
    return change({
      provider: 'aws',
      objectStorage: { bucket: this.env.S3_BUCKET, prefix: this.prefix(sub), caCert: readFileSync(this.env.S3_CA_FILE).toString('base64') },
      config: { region: this.env.S3_REGION, s3Url: this.env.S3_ENDPOINT, s3ForcePathStyle: 'true' },
      credential: { name: 'cloud-credentials', key: 'cloud' },
    });
  }

  prefix(sub: string): string {
    return `${this.root}/${sub}`;
  }

  /** The stack's own credentials file, as OADP writes it. */
  goodCredentials(): string {
    return `[default]\naws_access_key_id=${this.env.S3_ACCESS_KEY}\naws_secret_access_key=${this.env.S3_SECRET_KEY}\n`;
  }

  async secret(namespace: string, name: string, stringData: Record<string, string>): Promise<void> {
    await this.cluster.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData } });
  }

  /** Applies a manifest with kubectl: for objects the typed client would change (a key named __proto__). */
  async kubectlApply(manifest: object): Promise<void> {
    const child = execFile(path.join(this.env.STACK_BIN, 'kubectl'), ['--kubeconfig', this.env.KUBECONFIG, 'apply', '-f', '-']);
    child.child.stdin!.end(JSON.stringify(manifest));
    await child;
  }

  async createIsb(namespace: string, name: string, spec: ImageStreamsBackupSpec): Promise<void> {
    await this.isbs.create(namespace, { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsBackup', metadata: { name, namespace }, spec });
  }

  async createIsr(namespace: string, name: string, spec: ImageStreamsRestoreSpec): Promise<void> {
    await this.isrs.create(namespace, { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name, namespace }, spec });
  }

  waitIsb(namespace: string, name: string, done: (r: ImageStreamsBackup) => boolean, what: string, timeoutMs = 90_000): Promise<ImageStreamsBackup> {
    return waitFor(`ImageStreamsBackup ${namespace}/${name}: ${what}`, () => this.isbs.get(namespace, name), done, timeoutMs);
  }

  waitIsr(namespace: string, name: string, done: (r: ImageStreamsRestore) => boolean, what: string, timeoutMs = 90_000): Promise<ImageStreamsRestore> {
    return waitFor(`ImageStreamsRestore ${namespace}/${name}: ${what}`, () => this.isrs.get(namespace, name), done, timeoutMs);
  }

  /** Waits until the backup's Ready condition has `reason` (whatever the phase). */
  isbReason(namespace: string, name: string, reason: string): Promise<ImageStreamsBackup> {
    return this.waitIsb(namespace, name, (r) => readyOf(r)?.reason === reason, `Ready reason ${reason}`);
  }

  finishedIsb(namespace: string, name: string): Promise<ImageStreamsBackup> {
    return this.waitIsb(namespace, name, isFinished, 'a final phase');
  }

  finishedIsr(namespace: string, name: string): Promise<ImageStreamsRestore> {
    return this.waitIsr(namespace, name, (r) => TERMINAL.includes(r.status?.phase ?? ''), 'a final phase');
  }

  /** The object's events, once every reason of `expected` is among them. */
  async events(kind: Kind, namespace: string, name: string, expected: string[]): Promise<CoreV1Event[]> {
    return waitFor(`events ${expected.join(', ')} of ${kind} ${namespace}/${name}`, async () => (await this.cluster.core.listNamespacedEvent({ namespace })).items
      .filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name),
    (list) => expected.every((r) => list.some((e) => e.reason === r)), 20_000);
  }

  /** Every key under the prefix of `sub` (and so of any location on it). */
  async keys(sub: string): Promise<string[]> {
    return [...(await this.bucket.list(`${this.prefix(sub)}/`)).keys()].sort();
  }

  async putObject(key: string, body: Buffer): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.env.S3_BUCKET, Key: key, Body: body }));
  }

  async headObject(key: string) {
    return this.s3.send(new HeadObjectCommand({ Bucket: this.env.S3_BUCKET, Key: key }));
  }

  async objectTags(key: string): Promise<Record<string, string>> {
    const out = await this.s3.send(new GetObjectTaggingCommand({ Bucket: this.env.S3_BUCKET, Key: key }));
    return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key!, t.Value!]));
  }

  /** A small image of one unique layer, pushed by the fixtures' own client. */
  push(repo: string, label: string, tags: string[] = []): Promise<PushedImage> {
    return pushImage(this.reg, repo, { label, tags, layers: [{ seed: `${this.run}-${label}`, size: 48 * 1024 }] });
  }

  reference(repo: string, digest: string): string {
    return `${this.registryHost}/${repo}@${digest}`;
  }

  /** Does the registry hold this manifest (by digest or tag) or blob? Asked with the fixtures' client. */
  async hasManifest(repo: string, reference: string): Promise<boolean> {
    return (await request(this.reg, 'HEAD', `/v2/${repo}/manifests/${reference}`, { headers: { Accept: '*/*' } })).status === 200;
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    return (await request(this.reg, 'HEAD', `/v2/${repo}/blobs/${digest}`)).status === 200;
  }

  /** The digest a tag points at now, or undefined. */
  async tagDigest(repo: string, tag: string): Promise<string | undefined> {
    const r = await request(this.reg, 'HEAD', `/v2/${repo}/manifests/${tag}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json' },
    });
    return r.status === 200 ? String(r.headers['docker-content-digest']) : undefined;
  }

  /** The controller process is alive and still answers its health probe. */
  async controllerServes(): Promise<boolean> {
    const r = await fetch(`http://127.0.0.1:${this.controller.healthPort}/healthz`).then((x) => x.status, () => 0);
    return r === 200;
  }

  /**
   * A backup and a restore that must succeed beside the adversarial cases: the controller
   * keeps serving good objects (in the `healthy` namespace, an ordinary one).
   */
  async healthyRoundTrip(label: string): Promise<void> {
    const ns = this.healthy;
    const image = await this.push(`${ns}/app`, `healthy-${label}`, ['v1']);
    const location = this.location(`healthy-${label}`);
    await this.createIsb(ns, `good-${label}`, {
      startBackup: true, backupLocation: { velero: location },
      imageStreams: [{ namespace: ns, name: 'app', dockerImageReferences: [{ dockerImageReference: this.reference(`${ns}/app`, image.digest), tags: ['v1'] }] }],
    });
    const isb = await this.finishedIsb(ns, `good-${label}`);
    expect(isb.status).toMatchObject({ phase: 'Completed' });
    expect(await this.keys(`healthy-${label}`)).toContain(`${this.prefix(`healthy-${label}`)}/${LAYOUT}backups/good-${label}/bundle.tar`);
    await this.createIsr(ns, `good-${label}`, {
      imageStreamsBackupReference: { name: `good-${label}` }, backupLocation: { velero: location },
      namespaceMapping: {}, imageStreams: [{ namespace: ns, name: 'app' }],
    });
    const isr = await this.finishedIsr(ns, `good-${label}`);
    expect(isr.status).toMatchObject({ phase: 'Completed', progress: { images: { done: 1 } } });
    expect(await this.controllerServes()).toBe(true);
  }

  async close(): Promise<void> {
    await this.controller?.kill();
    await deletePrefix(this.s3, this.env.S3_BUCKET, `${this.root}/`).catch(() => undefined);
    for (const ns of [this.admin, this.tenant, this.healthy]) await this.cluster.core.deleteNamespace({ name: ns }).catch(() => undefined);
    this.s3.destroy();
    this.bucket.close();
  }
}

/** Polls until `done` holds; a poll that fails (the API server closing a connection under load) is polled again. */
export async function waitFor<T>(what: string, get: () => Promise<T>, done: (v: NonNullable<T>) => boolean, timeoutMs = 90_000): Promise<NonNullable<T>> {
  return pollUntil(what, get, (v): v is NonNullable<T> => v !== undefined && v !== null && done(v as NonNullable<T>), timeoutMs) as Promise<NonNullable<T>>;
}

/** A case waits for controller work that other cases slow down (five run at once on 2 cores). */
export const CASE_TIMEOUT_MS = 240_000;

/** One row of an area's table: the behaviour it checks names it. */
export interface Case {
  behaviour: string;
  run: (w: World) => Promise<void>;
}

/**
 * Runs an area's table concurrently against one world (one controller), with the healthy
 * round trip among the cases, so that the controller serves it while it handles the others.
 */
export function table(area: string, id: string, world: () => World, cases: Case[]): void {
  const rows: Case[] = [...cases, { behaviour: 'a healthy backup and restore in another namespace complete alongside', run: (w) => w.healthyRoundTrip(id) }];
  describe(area, () => {
    test.concurrent.each(rows.map((c) => [c.behaviour, c] as const))('%s', async (_behaviour, c) => {
      await c.run(world());
      // Whatever the case did, the controller is still up.
      expect(await world().controllerServes()).toBe(true);
    }, CASE_TIMEOUT_MS);
  });
}
