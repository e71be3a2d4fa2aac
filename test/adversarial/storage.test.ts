// S3 settings users set for Velero, each proved on the wire or in the bucket: checksumAlgorithm
// "" sends no flexible checksum and no aws-chunked body (a recording proxy in front of MinIO
// sees every header), a policy that demands SSE-KMS is met, tagging tags every object, SSE-C
// encrypts with the admin's key, insecureSkipTLSVerify warns, caCertRef is read from a Secret,
// and publicUrl is never called.
import { execFile as execFileCb } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { VeleroLocationSpec } from '../../pkg/api/index.js';
import { loadStackEnv } from '../stackEnv.js';
import { LAYOUT, World, pkiDir, readyOf, table, type Case } from './world.js';
import { TamperingProxy, type Recorded } from './tamperingProxy.js';
import { hexOf } from './bundleBuilder.js';

const execFile = promisify(execFileCb);

let world: World;
/** Between the controller and MinIO, for the locations that name it in s3Url. */
let s3Proxy: TamperingProxy;
/** A host nobody may call (publicUrl). */
let nobody: TamperingProxy;

beforeAll(async () => {
  const env = loadStackEnv();
  s3Proxy = await TamperingProxy.start(pkiDir(env), new URL(env.S3_ENDPOINT).host);
  nobody = await TamperingProxy.start(pkiDir(env));
  world = await World.start({ file: 'storage' });
}, 120_000);
afterAll(async () => {
  await world?.close();
  await s3Proxy?.close();
  await nobody?.close();
});

/** MinIO's built-in KMS key (hack/stack.sh: MINIO_KMS_SECRET_KEY). */
const KMS_KEY = 'stack-kms-key';

/** Backs up one fresh image of the admin namespace through `change(location)`; returns the final status and the image. */
async function backUp(w: World, id: string, change: (l: VeleroLocationSpec) => VeleroLocationSpec, ns = w.admin) {
  const image = await w.push(`${ns}/app`, id);
  await w.createIsb(ns, id, {
    startBackup: true, backupLocation: { velero: w.location(id, change) },
    imageStreams: [{ namespace: ns, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${ns}/app`, image.digest), tags: ['v1'] }] }],
  });
  return { isb: await w.finishedIsb(ns, id), image };
}

const viaProxy = (l: VeleroLocationSpec): VeleroLocationSpec => ({ ...l, config: { ...l.config, s3Url: `https://${s3Proxy.address}` } });
/** Requests the proxy saw for one location (path style: /<bucket>/<prefix>/...). */
const requestsFor = (w: World, id: string): Recorded[] => s3Proxy.received((r) => r.url.startsWith(`/${w.env.S3_BUCKET}/${w.prefix(id)}/`));
const checksumHeaders = (r: Recorded): string[] => Object.keys(r.headers).filter((h) => h.startsWith('x-amz-checksum-') || h === 'x-amz-sdk-checksum-algorithm' || h === 'x-amz-trailer');

/**
 * Temporary credentials of the stack's MinIO, restricted by a session policy: the closest
 * MinIO has to a bucket policy that binds an authenticated user (its bucket policies bind only
 * anonymous requests). The policy denies every PutObject without SSE-KMS.
 */
async function kmsOnlyCredentials(w: World): Promise<string> {
  const bucket = `arn:aws:s3:::${w.env.S3_BUCKET}`;
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:*'], Resource: [bucket, `${bucket}/*`] },
      { Effect: 'Deny', Action: ['s3:PutObject'], Resource: [`${bucket}/*`], Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } } },
    ],
  });
  const { stdout } = await execFile('curl', ['-sS', '--fail', '--cacert', w.env.S3_CA_FILE, '--aws-sigv4', `aws:amz:${w.env.S3_REGION}:sts`,
    '--user', `${w.env.S3_ACCESS_KEY}:${w.env.S3_SECRET_KEY}`, '-X', 'POST', `${w.env.S3_ENDPOINT}/`,
    '--data-urlencode', 'Action=AssumeRole', '--data-urlencode', 'Version=2011-06-15', '--data-urlencode', 'DurationSeconds=3600',
    '--data-urlencode', `Policy=${policy}`]);
  const field = (name: string) => new RegExp(`<${name}>([^<]+)</${name}>`).exec(stdout)?.[1];
  const [id, secret, token] = [field('AccessKeyId'), field('SecretAccessKey'), field('SessionToken')];
  if (!id || !secret || !token) throw new Error(`AssumeRole gave no credentials: ${stdout.slice(0, 300)}`);
  return `[default]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\naws_session_token = ${token}\n`;
}

/** SSE-C with the admin's key file: a backup, the raw object unreadable without the key, a restore. */
async function sseCRoundTrip(w: World, keyFile: string): Promise<void> {
  const ssec = (l: VeleroLocationSpec): VeleroLocationSpec => ({ ...l, config: { ...l.config, customerKeyEncryptionFile: keyFile } });
  const { isb, image } = await backUp(w, 'ssec', ssec);
  expect(isb.status?.phase).toBe('Completed');
  const layerKey = `${w.prefix('ssec')}/${LAYOUT}blobs/sha256/${hexOf(image.layers[0]!.digest)}`;
  // Without the customer's key the object cannot be read: it is encrypted with it.
  await expect(w.s3.send(new GetObjectCommand({ Bucket: w.env.S3_BUCKET, Key: layerKey }))).rejects.toThrow();
  const target = `ssec-${w.run}`;
  await w.createIsr(w.admin, 'ssec', { imageStreamsBackupReference: { name: 'ssec' }, backupLocation: { velero: w.location('ssec', ssec) }, namespaceMapping: { [w.admin]: target } });
  expect((await w.finishedIsr(w.admin, 'ssec')).status?.phase).toBe('Completed');
  expect(await w.tagDigest(`${target}/app`, 'v1')).toBe(image.digest);
}

const cases: Case[] = [
  {
    behaviour: 'checksumAlgorithm "" sends no flexible checksum and no aws-chunked body (seen on the wire)',
    run: async (w) => {
      const { isb } = await backUp(w, 'nochecksum', (l) => viaProxy({ ...l, config: { ...l.config, checksumAlgorithm: '' } }));
      expect(isb.status?.phase).toBe('Completed');
      await w.createIsr(w.admin, 'nochecksum', {
        imageStreamsBackupReference: { name: 'nochecksum' }, namespaceMapping: { [w.admin]: `nochecksum-${w.run}` },
        backupLocation: { velero: w.location('nochecksum', (l) => viaProxy({ ...l, config: { ...l.config, checksumAlgorithm: '' } })) },
      });
      expect((await w.finishedIsr(w.admin, 'nochecksum')).status?.phase).toBe('Completed');
      const seen = requestsFor(w, 'nochecksum');
      const puts = seen.filter((r) => r.method === 'PUT');
      expect(puts.length).toBeGreaterThanOrEqual(2); // the layer and the bundle (configs are in the bundle)
      expect(seen.filter((r) => r.method === 'GET').length).toBeGreaterThan(0);
      for (const r of seen) {
        expect(checksumHeaders(r)).toEqual([]);
        expect(r.headers['content-encoding'] ?? '').not.toMatch(/aws-chunked/);
        expect(r.headers['x-amz-content-sha256'] ?? '').not.toMatch(/^STREAMING-/);
        expect(r.headers['x-amz-checksum-mode']).toBeUndefined();
      }
    },
  },
  {
    behaviour: 'the default checksumAlgorithm does send checksums (the capture sees them)',
    run: async (w) => {
      const { isb } = await backUp(w, 'checksum', viaProxy);
      expect(isb.status?.phase).toBe('Completed');
      const puts = requestsFor(w, 'checksum').filter((r) => r.method === 'PUT');
      expect(puts.some((r) => checksumHeaders(r).length > 0)).toBe(true);
    },
  },
  {
    behaviour: 'a policy that demands SSE-KMS is met: every object is stored with aws:kms',
    run: async (w) => {
      await w.secret(w.admin, 'kms-only', { cloud: await kmsOnlyCredentials(w) });
      const { isb, image } = await backUp(w, 'kms', (l) => ({
        ...l, credential: { name: 'kms-only', key: 'cloud' }, config: { ...l.config, serverSideEncryption: 'aws:kms', kmsKeyId: KMS_KEY },
      }));
      expect(isb.status?.phase).toBe('Completed');
      const root = `${w.prefix('kms')}/${LAYOUT}`;
      for (const key of [`${root}backups/kms/bundle.tar`, `${root}blobs/sha256/${hexOf(image.layers[0]!.digest)}`]) {
        const head = await w.headObject(key);
        expect(head.ServerSideEncryption).toBe('aws:kms');
        expect(head.SSEKMSKeyId).toContain(KMS_KEY);
      }
    },
  },
  {
    behaviour: 'under that policy a location without SSE-KMS stores nothing and says access was denied',
    run: async (w) => {
      await w.secret(w.admin, 'kms-only-2', { cloud: await kmsOnlyCredentials(w) });
      const image = await w.push(`${w.admin}/app`, 'nokms');
      await w.createIsb(w.admin, 'nokms', {
        startBackup: true, backupLocation: { velero: w.location('nokms', (l) => ({ ...l, credential: { name: 'kms-only-2', key: 'cloud' } })) },
        imageStreams: [{ namespace: w.admin, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${w.admin}/app`, image.digest) }] }],
      });
      const isb = await w.waitIsb(w.admin, 'nokms', (r) => /AccessDenied|denied access/.test(JSON.stringify(r.status ?? {})), 'access denied');
      expect(JSON.stringify(isb.status)).toMatch(/denied access to the backup location's credentials/);
      expect(await w.keys('nokms')).toEqual([]);
    },
  },
  {
    behaviour: 'tagging puts the tags on every object written',
    run: async (w) => {
      const { isb, image } = await backUp(w, 'tagging', (l) => ({ ...l, config: { ...l.config, tagging: `team=platform&run=${w.run}` } }));
      expect(isb.status?.phase).toBe('Completed');
      const root = `${w.prefix('tagging')}/${LAYOUT}`;
      for (const key of [`${root}backups/tagging/bundle.tar`, `${root}blobs/sha256/${hexOf(image.layers[0]!.digest)}`]) {
        expect(await w.objectTags(key)).toEqual({ team: 'platform', run: w.run });
      }
    },
  },
  {
    behaviour: 'SSE-C in the admin namespace encrypts with the key file, and the restore reads it back',
    run: async (w) => {
      const keyDir = await mkdtemp(path.join(tmpdir(), 'adv-ssec-'));
      const keyFile = path.join(keyDir, 'customer.key');
      await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
      try {
        await sseCRoundTrip(w, keyFile);
      } finally {
        await rm(keyDir, { recursive: true, force: true });
      }
    },
  },
  {
    behaviour: 'insecureSkipTLSVerify works with a warning event that says what it costs',
    run: async (w) => {
      const { isb } = await backUp(w, 'insecure', (l) => ({
        ...l, objectStorage: { bucket: l.objectStorage.bucket, prefix: l.objectStorage.prefix }, config: { ...l.config, insecureSkipTLSVerify: 'true' },
      }));
      expect(isb.status?.phase).toBe('Completed');
      const events = await w.events('ImageStreamsBackup', w.admin, 'insecure', ['InsecureBackupLocation']);
      expect(events.find((e) => e.reason === 'InsecureBackupLocation')).toMatchObject({
        type: 'Warning', message: expect.stringContaining('insecureSkipTLSVerify: the object storage\'s TLS certificate is not verified'),
      });
    },
  },
  {
    behaviour: 'caCertRef is read from a Secret',
    run: async (w) => {
      await w.secret(w.admin, 'minio-ca', { 'ca.crt': readFileSync(w.env.S3_CA_FILE, 'utf8') });
      const { isb } = await backUp(w, 'cacertref', (l) => ({
        ...l, objectStorage: { bucket: l.objectStorage.bucket, prefix: l.objectStorage.prefix, caCertRef: { name: 'minio-ca', key: 'ca.crt' } },
      }));
      expect(isb.status?.phase).toBe('Completed');
    },
  },
  {
    behaviour: 'a caCertRef holding another CA fails TLS verification, storing nothing',
    run: async (w) => {
      const other = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8'))![0];
      await w.secret(w.admin, 'other-ca', { 'ca.crt': other });
      const image = await w.push(`${w.admin}/app`, 'wrongca');
      await w.createIsb(w.admin, 'wrongca', {
        startBackup: true,
        backupLocation: { velero: w.location('wrongca', (l) => ({ ...l, objectStorage: { bucket: l.objectStorage.bucket, prefix: l.objectStorage.prefix, caCertRef: { name: 'other-ca', key: 'ca.crt' } } })) },
        imageStreams: [{ namespace: w.admin, name: 'app', dockerImageReferences: [{ dockerImageReference: w.reference(`${w.admin}/app`, image.digest) }] }],
      });
      const isb = await w.isbReason(w.admin, 'wrongca', 'TLSVerificationFailed');
      expect(readyOf(isb)?.message).toMatch(/the TLS certificate of .* cannot be verified/);
      expect(await w.keys('wrongca')).toEqual([]);
    },
  },
  {
    behaviour: 'publicUrl is accepted and never called',
    run: async (w) => {
      const { isb } = await backUp(w, 'publicurl', (l) => ({ ...l, config: { ...l.config, publicUrl: `https://${nobody.address}` } }));
      expect(isb.status?.phase).toBe('Completed');
      expect(nobody.received()).toEqual([]);
    },
  },
];

table('object storage settings', 'storage', () => world, cases);
