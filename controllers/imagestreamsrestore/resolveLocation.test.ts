import type { BackupLocation, VeleroLocationSpec } from '../../pkg/api/index.js';
import { ReconcileError } from '../../pkg/errors.js';
import type { BackupStorageLocation } from '../../pkg/k8s/velero.js';
import { resolveLocation, type LocationDeps } from './resolveLocation.js';

const velero = (bucket: string, extra: Partial<VeleroLocationSpec> = {}): VeleroLocationSpec => ({
  provider: 'aws', objectStorage: { bucket }, credential: { name: 'creds', key: 'cloud' }, ...extra,
});
const bsl = (name: string, spec: VeleroLocationSpec): BackupStorageLocation => ({ metadata: { name, namespace: 'adp' }, spec });

const deps = (bsls: BackupStorageLocation[], secret = true): LocationDeps => ({
  getLocation: async (_ns, name) => bsls.find((b) => b.metadata?.name === name),
  listLocations: async () => bsls,
  readSecretKey: async () => (secret ? { found: true, value: '[default]\naws_access_key_id=a\naws_secret_access_key=b\n' } : { found: false, missing: 'secret' }),
});

describe('resolveLocation (restore)', () => {
  it.each([
    { name: 'reads from a ReadOnly BSL named by the spec', spec: { name: 'ro' }, bsls: [bsl('ro', velero('b1', { accessMode: 'ReadOnly' }))], bucket: 'b1', as: 'ro' },
    { name: 'reads from a ReadOnly default BSL', spec: undefined, bsls: [bsl('ro', velero('b2', { accessMode: 'ReadOnly', default: true }))], bucket: 'b2', as: 'ro' },
    { name: 'reads from a ReadOnly inline location', spec: { velero: velero('b3', { accessMode: 'ReadOnly' }) }, bsls: [], bucket: 'b3', as: 'inline' },
    { name: 'reads from a ReadWrite BSL', spec: { name: 'rw' }, bsls: [bsl('rw', velero('b4', { accessMode: 'ReadWrite' }))], bucket: 'b4', as: 'rw' },
  ])('$name', async ({ spec, bsls, bucket, as }) => {
    const r = await resolveLocation('adp', spec as BackupLocation | undefined, deps(bsls));
    expect(r).toMatchObject({ name: as, location: { objectStorage: { bucket } } });
    expect(r.credentials).toContain('aws_access_key_id=a');
  });

  it.each([
    { name: 'a BSL that does not exist (yet)', spec: { name: 'later' }, bsls: [], secret: true, reason: 'BackupLocationNotFound' },
    { name: 'a credential Secret that does not exist (yet)', spec: { name: 'ro' }, bsls: [bsl('ro', velero('b'))], secret: false, reason: 'CredentialSecretNotFound' },
  ])('waits for $name, as a backup does', async ({ spec, bsls, secret, reason }) => {
    const err = await resolveLocation('adp', spec, deps(bsls, secret)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReconcileError);
    expect(err).toMatchObject({ kind: 'Waiting', reason });
  });
});
