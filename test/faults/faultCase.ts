// One fault case: its own namespaces, bucket prefix, images, routes (proxies) to MinIO and the
// registry, and controller process; helpers to back up and restore through the routes and to
// check the outcome with clients that go to the servers directly. Cases of one file run at once.
import { readFileSync } from 'node:fs';
import { GROUP, ISR_PLURAL, VERSION, type ImageStreamsBackup, type ImageStreamsRestore } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import type { BackupStorageLocation } from '../../pkg/k8s/velero.js';
import { startController, type ControllerProcess } from '../e2e/controller.js';
import { pushImage, type PushedImage } from '../fixture/images.js';
import { uniqueName } from '../stackEnv.js';
import { checkPool, openMultipartUploads, restoreDifferences, type PoolCheck } from './checks.js';
import { openRoute, type Route } from './route.js';
import { controllerEnv, type FAULT_SETTINGS } from './settings.js';
import { waitFor } from '../fixture/wait.js';
import type { FaultWorld } from './world.js';

const MiB = 1024 * 1024;
const TERMINAL = ['Completed', 'PartiallyFailed', 'Failed'];

export interface ImageSpec {
  stream: string;
  tag: string;
  /** Layers by seed name within the case (equal names: a shared layer) and size. */
  layers: Array<[seed: string, size: number]>;
}

/** Two small images sharing a base layer. */
export const SMALL_IMAGES: ImageSpec[] = [
  { stream: 'app', tag: 'latest', layers: [['base', 1 * MiB], ['app', 2 * MiB]] },
  { stream: 'tool', tag: 'v1', layers: [['base', 1 * MiB], ['tool', 1.5 * MiB]] },
];

export interface CaseOptions {
  /** Short, lowercase: names the namespaces and the result line. */
  id: string;
  images?: ImageSpec[];
  settings?: Partial<Record<keyof typeof FAULT_SETTINGS, number>>;
  /** The healthy object has images to copy, or none (when the registry itself is down). */
  healthy?: 'backup' | 'empty-backup';
}

export interface Pushed {
  spec: ImageSpec;
  image: PushedImage;
}

type Resource = ImageStreamsBackup | ImageStreamsRestore;

let starting: Promise<unknown> = Promise.resolve();
/**
 * Controllers of one file start one after the other: each compiles the sources (tsx) as it
 * starts, and five or six at once on two busy cores took more than startController's minute.
 */
function oneAtATime<T>(start: () => Promise<T>): Promise<T> {
  const next = starting.then(start, start);
  starting = next.catch(() => {});
  return next;
}

export class FaultCase {
  readonly ns: string;
  readonly healthyNs: string;
  /** Where restores of this case put their images (namespaceMapping ns -> target). */
  readonly targetNs: string;
  readonly prefix: string;
  readonly root: string;
  images: Pushed[] = [];
  /** Names of the backups the case created. */
  private readonly backups = new Set<string>();
  healthyImage?: PushedImage;
  controller!: ControllerProcess;
  private readonly controllers: ControllerProcess[] = [];
  /** Aborted by close: waits still running (a healthy object's, after a failure) stop polling. */
  private readonly closing = new AbortController();
  readonly isrs: CustomResources<ImageStreamsRestore>;

  private constructor(
    readonly world: FaultWorld, readonly opts: CaseOptions, readonly registry: Route, readonly s3: Route,
  ) {
    this.ns = uniqueName(`f-${opts.id}`);
    this.healthyNs = `${this.ns}-ok`;
    this.targetNs = `${this.ns}-r`;
    this.prefix = `faults/${this.ns}`;
    this.root = `${this.prefix}/plugins/imagestreams/v1/`;
    this.isrs = new CustomResources(world.cluster.kc, { group: GROUP, version: VERSION, plural: ISR_PLURAL });
  }

  /** Namespaces, locations and images; the controller is started by `start`. */
  static async open(world: FaultWorld, opts: CaseOptions): Promise<FaultCase> {
    const { env, toxiproxy } = world;
    const registry = await openRoute(toxiproxy, `${opts.id}-registry-${process.pid}`, env.REGISTRY, 'registry', env.KUBECONFIG);
    const s3 = await openRoute(toxiproxy, `${opts.id}-s3-${process.pid}`, new URL(env.S3_ENDPOINT).host, 's3', env.KUBECONFIG);
    const c = new FaultCase(world, opts, registry, s3);
    const { cluster } = world;
    for (const ns of [c.ns, c.healthyNs]) {
      await cluster.createNamespace(ns);
      await cluster.createCredentials(ns);
    }
    await c.createLocation(c.ns, 'faulty', c.prefix, `https://${s3.address}`);
    // The healthy object's location goes to MinIO directly: it must not share the fault.
    await c.createLocation(c.healthyNs, 'direct', `${c.prefix}-ok`, env.S3_ENDPOINT);
    for (const spec of opts.images ?? SMALL_IMAGES) {
      const layers = spec.layers.map(([seed, size]) => ({ seed: `${c.ns}-${seed}`, size }));
      c.images.push({ spec, image: await pushImage(world.reg, `${c.ns}/${spec.stream}`, { layers, tags: [spec.tag], label: `${c.ns}-${spec.stream}` }) });
    }
    if ((opts.healthy ?? 'backup') === 'backup') {
      c.healthyImage = await pushImage(world.reg, `${c.healthyNs}/ok`, { layers: [{ seed: `${c.healthyNs}-ok`, size: 512 * 1024 }], tags: ['ok'] });
    }
    return c;
  }

  async start(): Promise<ControllerProcess> {
    const { env } = this.world;
    const ctl = await oneAtATime(async () => {
      const started = await startController(env, {
        namespaces: [this.ns, this.healthyNs],
        env: { INTERNAL_REGISTRY: this.registry.address, ...controllerEnv(this.opts.settings) },
      });
      this.controllers.push(started);
      await started.waitReady();
      return started;
    });
    this.controller = ctl;
    return ctl;
  }

  /** Unique layer bytes of the case's images: what a backup uploads once. */
  get layerBytes(): number {
    const layers = new Map(this.images.flatMap((p) => p.image.layers.map((l) => [l.digest, l.size] as const)));
    return [...layers.values()].reduce((a, b) => a + b, 0);
  }

  /** Unique blob bytes (layers and configs) of the case's images: what a restore uploads once. */
  get blobBytes(): number {
    const blobs = new Map(this.images.flatMap((p) => [p.image.config, ...p.image.layers].map((l) => [l.digest, l.size] as const)));
    return [...blobs.values()].reduce((a, b) => a + b, 0);
  }

  /** The S3 request paths (path style) of the case's pool objects. */
  get poolPath(): RegExp {
    return new RegExp(`^/${this.world.env.S3_BUCKET}/${this.root}blobs/`);
  }

  /** The S3 request path of one pool object (PutObject, UploadPart, GetObject...). */
  objectPath(digest: string): RegExp {
    return new RegExp(`^/${this.world.env.S3_BUCKET}/${this.root}blobs/sha256/${digest.slice('sha256:'.length)}`);
  }

  /** The registry request path of one blob of a repository of the case. */
  blobPath(stream: string, digest: string, ns = this.ns): RegExp {
    return new RegExp(`^/v2/${ns}/${stream}/blobs/${digest}`);
  }

  /** The S3 request path of a backup's bundle. */
  bundlePath(backup: string): RegExp {
    return new RegExp(`^/${this.world.env.S3_BUCKET}/${this.root}backups/${backup}/bundle\\.tar`);
  }

  /** The registry request paths of manifests or blob uploads in any repository of a namespace. */
  repoPath(what: 'manifests' | 'uploads', ns = this.ns): RegExp {
    const tail = what === 'uploads' ? 'blobs/uploads/' : 'manifests/';
    return new RegExp(`^/v2/${ns}/[^/]+/${tail}`);
  }

  /** An ISB of the case's images (or of those streams only) to the faulty location. */
  async createBackup(name = 'backup', streams?: string[]): Promise<void> {
    this.backups.add(name);
    await this.world.cluster.createIsb(this.ns, name, {
      startBackup: true,
      backupLocation: { name: 'faulty' },
      imageStreams: this.images.filter(({ spec }) => !streams || streams.includes(spec.stream)).map(({ spec, image }) => ({
        name: spec.stream,
        dockerImageReferences: [{ dockerImageReference: `${this.registry.address}/${this.ns}/${spec.stream}@${image.digest}`, tags: [spec.tag] }],
      })),
    });
  }

  /** A backup without faults, for the restore cases: it must complete. */
  async backupFirst(name = 'backup'): Promise<ImageStreamsBackup> {
    await this.createBackup(name);
    const { obj } = await this.settle(() => this.getBackup(name), 120_000);
    if (obj?.status?.phase !== 'Completed') throw new Error(`the backup before the fault did not complete: ${JSON.stringify(obj?.status)}`);
    return obj;
  }

  async createRestore(name = 'restore', backup = 'backup'): Promise<void> {
    await this.isrs.create(this.ns, {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsRestore', metadata: { name, namespace: this.ns },
      spec: { imageStreamsBackupReference: { name: backup }, backupLocation: { name: 'faulty' }, namespaceMapping: { [this.ns]: this.targetNs } },
    });
  }

  getBackup(name = 'backup'): Promise<ImageStreamsBackup | undefined> {
    return this.world.cluster.isbs.get(this.ns, name);
  }

  getRestore(name = 'restore'): Promise<ImageStreamsRestore | undefined> {
    return this.isrs.get(this.ns, name);
  }

  /** Waits for a final phase of the current spec; on timeout, returns the object as it is. */
  async settle<T extends Resource>(get: () => Promise<T | undefined>, timeoutMs: number): Promise<{ obj: T; at: number }> {
    const final = (o: T | undefined) => o !== undefined && TERMINAL.includes(o.status?.phase ?? '') && o.status?.observedGeneration === o.metadata?.generation;
    try {
      const obj = (await waitFor('a final phase', get, final, timeoutMs, 250, this.closing.signal))!;
      return { obj, at: Date.now() };
    } catch {
      this.closing.signal.throwIfAborted();
      return { obj: (await get())!, at: Date.now() };
    }
  }

  /** A backup of the healthy namespace (or an empty one), to completion: the controller serves it during the fault. */
  async healthyBackup(timeoutMs: number): Promise<number | undefined> {
    const name = uniqueName('ok');
    await this.world.cluster.createIsb(this.healthyNs, name, {
      startBackup: true,
      imageStreams: this.healthyImage
        ? [{ name: 'ok', dockerImageReferences: [{ dockerImageReference: `${this.registry.address}/${this.healthyNs}/ok@${this.healthyImage.digest}`, tags: ['ok'] }] }]
        : [],
    });
    const done = await waitFor('the healthy backup', () => this.world.cluster.isbs.get(this.healthyNs, name),
      (o) => o?.status?.phase === 'Completed', timeoutMs, 250, this.closing.signal).catch(() => undefined);
    return done ? Date.now() : undefined;
  }

  async poolCheck(): Promise<PoolCheck> {
    return checkPool(this.world.env, this.root);
  }

  /** Open multipart uploads to any object the case writes: its layers in the pool, its bundles. */
  openUploads(): Promise<string[]> {
    const layers = this.images.flatMap((p) => p.image.layers.map((l) => `${this.root}blobs/sha256/${l.digest.slice('sha256:'.length)}`));
    const bundles = [...this.backups].map((b) => `${this.root}backups/${b}/bundle.tar`);
    return openMultipartUploads(this.world.env, [...new Set([...layers, ...bundles])]);
  }

  /** Differences between the source images and their restore under targetNs (empty: all match). */
  restoreDifferences(): Promise<string[]> {
    return restoreDifferences(this.world.crane, this.world.reg, this.world.env.REGISTRY,
      this.images.map(({ spec, image }) => ({ repo: `${this.targetNs}/${spec.stream}`, image, tags: [spec.tag] })));
  }

  /** The last requests through each route, for the message of a failed case. */
  traffic(last = 25): string {
    const lines = (name: string, r: Route) => r.http.requests.slice(-last)
      .map((q) => `  ${name} ${new Date(q.at).toISOString().slice(11, 23)} ${q.method} ${q.path.slice(0, 160)} -> ${q.status ?? '-'}${q.fault ? ` [${q.fault}]` : ''}`);
    return ['traffic (last requests):', ...lines('registry', this.registry), ...lines('s3', this.s3)].join('\n');
  }

  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled(this.controllers.map((c) => c.kill('SIGTERM')));
    await this.registry.close();
    await this.s3.close();
    await this.world.bucket.remove(`${this.prefix}/`);
    await this.world.bucket.remove(`${this.prefix}-ok/`);
  }

  private async createLocation(namespace: string, name: string, prefix: string, s3Url: string): Promise<void> {
    const { env, cluster } = this.world;
    await cluster.bsls.create(namespace, {
      apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation', metadata: { name, namespace },
      spec: {
        provider: 'aws', default: true,
        objectStorage: { bucket: env.S3_BUCKET, prefix, caCert: readFileSync(env.S3_CA_FILE).toString('base64') },
        config: { region: env.S3_REGION, s3Url, s3ForcePathStyle: 'true' },
        credential: { name: 'cloud-credentials', key: 'cloud' },
      },
    } as BackupStorageLocation);
  }
}
