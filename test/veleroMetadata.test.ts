// Velero's record of a backup (`<prefix>/backups/<name>/velero-backup.json`) read from the
// stack's MinIO with a BSL's settings, as the check of plugin-made ISBs reads it: "absent" only
// when the store answered so, never from an error.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ResolvedLocation } from '../controllers/backupLocation.js';
import type { TransportSettings } from '../controllers/config.js';
import { silentLogger } from '../controllers/runtime/logger.js';
import { veleroMetadataExists } from '../controllers/veleroBackups/veleroMetadata.js';
import { openStore } from '../pkg/store/index.js';
import { credentialsFile, rawS3, stackLocation } from './datapath-helpers.js';
import { deletePrefix } from './fixture/bucket.js';
import { loadStackEnv, uniqueName } from './stackEnv.js';

const env = loadStackEnv();
const prefix = uniqueName('velero-meta');
/** One try per request: an unreachable store fails at once. */
const transport: TransportSettings = { retry: { attempts: 1, baseMs: 10, maxMs: 10 }, requestTimeoutMs: 5_000, idleTimeoutMs: 5_000 };
let s3: S3Client;

const location = (overrides: Parameters<typeof stackLocation>[2] = {}): ResolvedLocation =>
  ({ name: 'default', location: stackLocation(env, prefix, overrides), credentials: credentialsFile(env) });
const exists = (name: string, where = location()) => veleroMetadataExists(where, name, silentLogger, transport);

beforeAll(async () => {
  s3 = rawS3(env);
  const put = (key: string) => s3.send(new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: `${prefix}/${key}`, Body: '{}' }));
  await put('backups/kept/velero-backup.json');
  await put('backups/kept/kept.tar.gz');
  // Neither is the record of backup "half": a longer key, and another backup whose name starts alike.
  await put('backups/half/velero-backup.json.tmp');
  await put('backups/half-2/velero-backup.json');
});

afterAll(async () => {
  await deletePrefix(s3, env.S3_BUCKET, `${prefix}/`);
  s3.destroy();
});

test('finds the record of a backup Velero keeps, under the BSL prefix (outside plugins/)', async () => {
  expect(await exists('kept')).toBe(true);
});

test('answers "absent" for a backup whose record is not there, whatever keys are near it', async () => {
  expect(await exists('gone')).toBe(false);
  expect(await exists('half')).toBe(false);
});

test('a bucket that does not exist is an error, not "absent" (a HEAD could not tell them apart)', async () => {
  const noBucket = location({ bucket: uniqueName('no-bucket') });
  await expect(exists('kept', noBucket)).rejects.toMatchObject({ reason: 'BucketNotFound' });
  // Why the record is listed: a HEAD in the missing bucket answers the same bodiless 404 as a missing key.
  const store = await openStore({ location: noBucket.location, credentials: credentialsFile(env) });
  try {
    expect(await store.has(`${prefix}/backups/kept/velero-backup.json`)).toBe(false);
  } finally {
    await store.close();
  }
});

test('unreachable storage and refused credentials are errors, not "absent"', async () => {
  const closed = location({ config: { s3Url: 'https://127.0.0.1:1' } });
  // Transient (StorageUnreachable; under Jest's module realms the SDK hides the socket code: StorageError).
  await expect(exists('gone', closed)).rejects.toMatchObject({ kind: 'Transient', message: expect.stringContaining('127.0.0.1:1') });
  const refused: ResolvedLocation = { ...location(), credentials: credentialsFile(env, 'default', 'not-the-secret-1234') };
  await expect(exists('gone', refused)).rejects.toMatchObject({ reason: 'InvalidCredentials' });
});
