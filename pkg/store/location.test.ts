import type { LocationSpec } from '../contracts.js';
import { storeSettings } from './location.js';

const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const spec = (over: Partial<LocationSpec> & { config?: Record<string, string> } = {}): LocationSpec => ({
  provider: 'aws',
  objectStorage: { bucket: 'my-bucket', prefix: 'my-prefix' },
  ...over,
});

describe('storeSettings', () => {
  test('defaults follow velero-plugin-for-aws', () => {
    expect(storeSettings(spec())).toEqual({
      bucket: 'my-bucket', root: 'my-prefix/plugins/imagestreams/v1/', forcePathStyle: false,
      insecureSkipTLSVerify: false, profile: 'default', checksumAlgorithm: 'CRC32',
    });
  });

  test.each<[string, Record<string, string>, object]>([
    ['region', { region: 'eu-west-3' }, { region: 'eu-west-3' }],
    ['s3Url keeps the endpoint, without a trailing slash', { s3Url: 'https://minio.example:9000/' }, { endpoint: 'https://minio.example:9000' }],
    ['s3ForcePathStyle', { s3Url: 'https://minio.example', s3ForcePathStyle: 'true' }, { forcePathStyle: true }],
    ['path style by default for an IP endpoint', { s3Url: 'https://10.0.0.1:9000' }, { forcePathStyle: true }],
    ['s3ForcePathStyle false wins even for an IP', { s3Url: 'https://10.0.0.1:9000', s3ForcePathStyle: 'false' }, { forcePathStyle: false }],
    ['insecureSkipTLSVerify in Go spelling', { insecureSkipTLSVerify: 'True' }, { insecureSkipTLSVerify: true }],
    ['profile', { profile: 'backups' }, { profile: 'backups' }],
    ['checksumAlgorithm "" turns checksums off', { checksumAlgorithm: '' }, { checksumAlgorithm: '' }],
    ['kmsKeyId implies aws:kms', { kmsKeyId: 'k1' }, { kmsKeyId: 'k1', serverSideEncryption: 'aws:kms' }],
  ])('config %s', (_name, config, expected) => {
    expect(storeSettings(spec({ config }))).toMatchObject(expected);
  });

  test.each([
    ['base64 PEM', Buffer.from(pem).toString('base64')],
    ['plain PEM', pem],
  ])('caCert as %s gives the PEM', (_name, caCert) => {
    expect(storeSettings(spec({ objectStorage: { bucket: 'my-bucket', caCert } })).caCert).toBe(pem);
  });

  test('unknown and Velero-only keys are logged by name (never by value) and ignored', () => {
    const lines: string[] = [];
    const s = storeSettings(spec({ config: { publicUrl: 'https://secret-host', someFutureKey: 'x', region: 'r' } }), (l) => lines.push(l));
    expect(s.region).toBe('r');
    expect(lines).toEqual([
      'backup location config key "publicUrl" is not used by imagestream-backup; ignored',
      'backup location config key "someFutureKey" is unknown; ignored',
    ]);
  });

  test.each<[string, LocationSpec, string]>([
    ['another provider', spec({ provider: 'gcp' }), 'UnsupportedProvider'],
    ['an empty bucket', spec({ objectStorage: { bucket: '' } }), 'InvalidBucket'],
    ['a bucket with a slash', spec({ objectStorage: { bucket: 'a/b' } }), 'InvalidBucket'],
    ['a caCert that is no certificate', spec({ objectStorage: { bucket: 'my-bucket', caCert: Buffer.from('hello').toString('base64') } }), 'InvalidCACert'],
    ['an s3Url that is no URL', spec({ config: { s3Url: 'minio:9000' } }), 'InvalidBackupLocation'],
    ['an s3Url with credentials', spec({ config: { s3Url: 'https://user:pw@minio' } }), 'InvalidBackupLocation'],
    ['a boolean that is not one', spec({ config: { s3ForcePathStyle: 'yes' } }), 'InvalidBackupLocation'],
    ['an unknown checksum', spec({ config: { checksumAlgorithm: 'MD5' } }), 'InvalidBackupLocation'],
    ['a prefix escaping upwards', spec({ objectStorage: { bucket: 'my-bucket', prefix: '../x' } }), 'InvalidPrefix'],
  ])('refuses %s', (_name, location, reason) => {
    expect(() => storeSettings(location)).toThrow(expect.objectContaining({ reason }));
  });

  test('an s3Url with credentials does not repeat them', () => {
    expect(() => storeSettings(spec({ config: { s3Url: 'https://user:pw-123@minio' } }))).toThrow(expect.objectContaining({ message: expect.not.stringContaining('pw-123') }));
  });
});
