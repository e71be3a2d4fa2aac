import { Readable } from 'node:stream';
import type { BackupJson } from '../../pkg/bundle/format.js';
import { inMemoryBlobs } from '../../pkg/bundle/metadata.js';
import { packBundleBuffer as packBundle } from '../../pkg/bundle/pack.js';
import { ReconcileError } from '../../pkg/errors.js';
import type { ObjectStore } from '../../pkg/store/objectStore.js';
import { bundleKey } from '../../pkg/store/keys.js';
import { ObjectNotFoundError } from '../../pkg/store/storeError.js';
import { findBundle } from './findBundle.js';

const ROOT = 'velero/plugins/imagestreams/v1/';

function memoryStore(objects: Map<string, Buffer>): ObjectStore {
  return {
    bucket: 'b',
    root: ROOT,
    bundleKey: (name: string) => bundleKey(ROOT, name),
    head: async (key: string) => {
      const data = objects.get(key);
      return data && { key, size: data.length, etag: '"e"' };
    },
    getRange: async (key: string, offset: number, length: number) => objects.get(key)!.subarray(offset, offset + length),
    get: async (key: string) => {
      const data = objects.get(key);
      if (!data) throw new ObjectNotFoundError(key, 'b');
      return Readable.from([data]);
    },
  } as unknown as ObjectStore;
}

const backupJson = (formatVersion = 1): BackupJson => ({
  formatVersion,
  productVersion: 'test',
  backup: { namespace: 'adp', name: 'nightly', uid: 'u1' },
  imageStreams: [{ namespace: 'shop', name: 'web', references: [] }],
  layers: [],
  totals: { imageStreams: 1, images: 0, manifests: 0, configs: 0, layers: 0, layerBytes: 0 },
  startedAt: '2024-01-01T00:00:00Z',
  completedAt: '2024-01-01T00:01:00Z',
});

describe('findBundle', () => {
  it('reads backup.json of a backup that is there', async () => {
    const key = `${ROOT}backups/nightly/bundle.tar`;
    const store = memoryStore(new Map([[key, await packBundle({ backup: backupJson(), blobs: inMemoryBlobs(new Map()) })]]));
    const found = await findBundle(store, 'nightly');
    expect(found).toMatchObject({ found: true, key, backup: { backup: { name: 'nightly', uid: 'u1' }, imageStreams: [{ name: 'web' }] } });
  });

  it('answers "not found" with the key it looked for', async () => {
    expect(await findBundle(memoryStore(new Map()), 'nightly')).toEqual({ found: false, key: `${ROOT}backups/nightly/bundle.tar`, bucket: 'b' });
  });

  it.each([
    { name: 'a bundle of a newer format', data: async () => packBundle({ backup: backupJson(9), blobs: inMemoryBlobs(new Map()) }), reason: 'UnsupportedBundleVersion' },
    { name: 'something that is not a bundle', data: async () => Buffer.from('not a tar at all'.repeat(64)), reason: 'InvalidBundle' },
  ])('refuses $name with a reason', async ({ data, reason }) => {
    const store = memoryStore(new Map([[`${ROOT}backups/nightly/bundle.tar`, await data()]]));
    const err = await findBundle(store, 'nightly').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReconcileError);
    expect(err).toMatchObject({ kind: 'Stalled', reason });
  });

  it('refuses a backup name that cannot be an object key', async () => {
    await expect(findBundle(memoryStore(new Map()), '../other')).rejects.toMatchObject({ reason: 'InvalidBackupName' });
  });
});
