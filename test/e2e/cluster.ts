// What the end-to-end tests do to the local stack's API server and MinIO, without the product's
// code in the way: create namespaces, Secrets, BSLs, Velero Backups and ISBs, wait for a status,
// and read the bucket with a plain S3 client.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CoreV1Api, KubeConfig, type CoreV1Event } from '@kubernetes/client-node';
import tar from 'tar-stream';
import { GROUP, ISB_PLURAL, VERSION, type ImageStreamsBackup, type ImageStreamsBackupSpec } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { isConflict } from '../../pkg/k8s/errors.js';
import { VeleroBackups, VeleroBackupStorageLocations, type BackupStorageLocation, type VeleroBackup } from '../../pkg/k8s/velero.js';
import { rawS3 } from '../datapath-helpers.js';
import { deletePrefix, listPages } from '../fixture/bucket.js';
import type { StackEnv } from '../stackEnv.js';

export class TestCluster {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly isbs: CustomResources<ImageStreamsBackup>;
  readonly veleroBackups: CustomResources<VeleroBackup>;
  readonly bsls: CustomResources<BackupStorageLocation>;

  constructor(readonly env: StackEnv) {
    this.kc = new KubeConfig();
    this.kc.loadFromFile(env.KUBECONFIG);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.isbs = new CustomResources(this.kc, { group: GROUP, version: VERSION, plural: ISB_PLURAL });
    this.veleroBackups = new CustomResources(this.kc, VeleroBackups);
    this.bsls = new CustomResources(this.kc, VeleroBackupStorageLocations);
  }

  async createNamespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name } } });
  }

  /** The BSL's credential Secret: an AWS shared-credentials file, as OADP stores it. */
  async createCredentials(namespace: string, name = 'cloud-credentials'): Promise<void> {
    const cloud = `[default]\naws_access_key_id=${this.env.S3_ACCESS_KEY}\naws_secret_access_key=${this.env.S3_SECRET_KEY}\n`;
    await this.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: { cloud } } });
  }

  /** A velero.io/v1 BackupStorageLocation on the stack's MinIO, trusting its CA through caCert. */
  locationSpec(prefix: string, bucket = this.env.S3_BUCKET) {
    return {
      provider: 'aws',
      objectStorage: { bucket, prefix, caCert: readFileSync(this.env.S3_CA_FILE).toString('base64') },
      config: { region: this.env.S3_REGION, s3Url: this.env.S3_ENDPOINT, s3ForcePathStyle: 'true' },
      credential: { name: 'cloud-credentials', key: 'cloud' },
    };
  }

  async createLocation(namespace: string, name: string, prefix: string, opts: { bucket?: string; default?: boolean } = {}): Promise<void> {
    await this.bsls.create(namespace, {
      apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation', metadata: { name, namespace },
      spec: { ...this.locationSpec(prefix, opts.bucket), ...(opts.default && { default: true }) },
    } as BackupStorageLocation);
  }

  async createIsb(namespace: string, name: string, spec: ImageStreamsBackupSpec): Promise<ImageStreamsBackup> {
    return this.isbs.create(namespace, {
      apiVersion: `${GROUP}/${VERSION}`, kind: 'ImageStreamsBackup', metadata: { name, namespace }, spec,
    });
  }

  /**
   * Changes the spec as a client that cares about concurrent writers does (the Velero plugin
   * appending entries): read, change, write with the read resourceVersion, again on 409.
   */
  async updateIsbSpec(namespace: string, name: string, change: (spec: ImageStreamsBackupSpec) => ImageStreamsBackupSpec): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.isbs.get(namespace, name);
      if (!cur) throw new Error(`ImageStreamsBackup ${namespace}/${name} not found`);
      try {
        await this.isbs.patch(namespace, name, { metadata: { resourceVersion: cur.metadata!.resourceVersion }, spec: change(cur.spec ?? {}) });
        return;
      } catch (err) {
        if (!isConflict(err) || attempt >= 10) throw err;
      }
    }
  }

  /** A Velero Backup as Velero would write it: its CRD has no status subresource, so status goes in a plain patch. */
  async createVeleroBackup(namespace: string, name: string, phase?: string): Promise<void> {
    await this.veleroBackups.create(namespace, {
      apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name, namespace }, spec: {},
      ...(phase && { status: { phase } }),
    } as VeleroBackup);
  }

  async setVeleroPhase(namespace: string, name: string, phase: string): Promise<void> {
    await this.veleroBackups.patch(namespace, name, { status: { phase } });
  }

  /** Polls the ISB until `done` holds; on timeout, fails with its last status to say why. */
  async waitForIsb(
    namespace: string, name: string, done: (isb: ImageStreamsBackup) => boolean, what: string, timeoutMs = 90_000,
  ): Promise<ImageStreamsBackup> {
    const deadline = Date.now() + timeoutMs;
    let last: ImageStreamsBackup | undefined;
    for (;;) {
      last = await this.isbs.get(namespace, name);
      if (last && done(last)) return last;
      if (Date.now() > deadline) {
        throw new Error(`ImageStreamsBackup ${namespace}/${name}: timed out waiting for ${what}; status: ${JSON.stringify(last?.status, null, 1)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async events(namespace: string, name: string): Promise<CoreV1Event[]> {
    const list = await this.core.listNamespacedEvent({ namespace });
    return list.items.filter((e) => e.involvedObject.name === name && e.involvedObject.kind === 'ImageStreamsBackup');
  }

  /** The reasons of the ISB's events, once all of `expected` are among them (events follow the status write). */
  async eventReasons(namespace: string, name: string, expected: string[], timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reasons = (await this.events(namespace, name)).map((e) => e.reason ?? '');
      if (expected.every((r) => reasons.includes(r)) || Date.now() > deadline) return reasons;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export const readyReason = (isb: ImageStreamsBackup): string | undefined =>
  isb.status?.conditions?.find((c) => c.type === 'Ready')?.reason;

export const phaseIs = (...phases: string[]) => (isb: ImageStreamsBackup): boolean =>
  phases.includes(isb.status?.phase ?? '') && isb.status?.observedGeneration === isb.metadata?.generation;

/** A plain S3 client on the stack's MinIO, to check what the product stored. */
export class TestBucket {
  private readonly s3: S3Client;

  constructor(readonly env: StackEnv) {
    this.s3 = rawS3(env);
  }

  async list(prefix: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for await (const page of listPages(this.s3, this.env.S3_BUCKET, prefix)) for (const o of page) out.set(o.Key!, o.Size ?? 0);
    return out;
  }

  async get(key: string): Promise<Buffer> {
    const r = await this.s3.send(new GetObjectCommand({ Bucket: this.env.S3_BUCKET, Key: key }));
    const chunks: Buffer[] = [];
    for await (const c of r.Body as Readable) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** The files of a bundle.tar, by name. */
  async bundleFiles(key: string): Promise<Map<string, Buffer>> {
    const files = new Map<string, Buffer>();
    const extract = tar.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on('entry', (header, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: unknown) => { chunks.push(c as Buffer); });
        stream.on('end', () => { files.set(header.name, Buffer.concat(chunks)); next(); });
        stream.resume();
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
    });
    Readable.from([await this.get(key)]).pipe(extract);
    await done;
    return files;
  }

  /** Deletes every object under the prefix (a test's own). */
  remove(prefix: string): Promise<void> {
    return deletePrefix(this.s3, this.env.S3_BUCKET, prefix);
  }

  close(): void {
    this.s3.destroy();
  }
}

/** backup.json as the tests read it (only the fields they check). */
export interface BackupJsonView {
  backup: { namespace: string; name: string; uid: string };
  imageStreams: Array<{ namespace: string; name: string; references: Array<{ digest: string; tags: string[] }> }>;
  layers: Array<{ digest: string; size: number }>;
}
