import { blobKey, bundleKey, digestOfBlobKey, rootFor, veleroBackupMetadataKey } from './keys.js';

const hex = 'ab'.repeat(32);

describe('rootFor', () => {
  test.each([
    [undefined, 'plugins/imagestreams/v1/'],
    ['', 'plugins/imagestreams/v1/'],
    ['/', 'plugins/imagestreams/v1/'],
    ['velero', 'velero/plugins/imagestreams/v1/'],
    ['/velero/', 'velero/plugins/imagestreams/v1/'],
    ['a//b///c', 'a/b/c/plugins/imagestreams/v1/'],
  ])('prefix %j gives %j', (prefix, root) => {
    expect(rootFor(prefix)).toBe(root);
  });

  test.each(['..', 'a/../b', './x'])('refuses the path escape %j', (prefix) => {
    expect(() => rootFor(prefix)).toThrow(expect.objectContaining({ reason: 'InvalidPrefix' }));
  });
});

describe('keys', () => {
  test('a blob is stored under its digest', () => {
    expect(blobKey('p/plugins/imagestreams/v1/', `sha256:${hex}`)).toBe(`p/plugins/imagestreams/v1/blobs/sha256/${hex}`);
    expect(digestOfBlobKey('r/', `r/blobs/sha256/${hex}`)).toBe(`sha256:${hex}`);
    expect(digestOfBlobKey('r/', 'r/blobs/sha256/not-a-digest')).toBeUndefined();
  });

  test.each(['sha512:abc', `sha256:${hex.toUpperCase()}`, `sha256:${hex}/../x`])('refuses the digest %j', (d) => {
    expect(() => blobKey('r/', d)).toThrow(expect.objectContaining({ reason: 'InvalidDigest' }));
  });

  test('a bundle is stored under its backup name', () => {
    expect(bundleKey('r/', 'nightly-1.2')).toBe('r/backups/nightly-1.2/bundle.tar');
  });

  test.each(['', '../x', 'a/b', 'UPPER', 'a..b', '-lead'])('refuses the backup name %j', (name) => {
    expect(() => bundleKey('r/', name)).toThrow(expect.objectContaining({ reason: 'InvalidBackupName' }));
    expect(() => veleroBackupMetadataKey('velero', name)).toThrow(expect.objectContaining({ reason: 'InvalidBackupName' }));
  });

  // Velero's ObjectStoreLayout: path.Join(strings.Trim(prefix, "/"), "backups", name, "velero-backup.json").
  test.each([
    [undefined, 'backups/b-1/velero-backup.json'],
    ['', 'backups/b-1/velero-backup.json'],
    ['velero', 'velero/backups/b-1/velero-backup.json'],
    ['/a//b/', 'a/b/backups/b-1/velero-backup.json'],
  ])('Velero keeps the record of a backup under prefix %j at %j, outside plugins/', (prefix, key) => {
    expect(veleroBackupMetadataKey(prefix, 'b-1')).toBe(key);
  });
});
