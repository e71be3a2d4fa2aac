import type { BackupLocation, VeleroLocationSpec } from '../pkg/api/index.js';
import { ReconcileError } from '../pkg/errors.js';
import type { BackupStorageLocation } from '../pkg/k8s/velero.js';
import { resolveLocation, type LocationDeps, type LocationPurpose } from './backupLocation.js';

const velero = (bucket: string, extra: Partial<VeleroLocationSpec> = {}): VeleroLocationSpec => ({
  provider: 'aws', objectStorage: { bucket, prefix: 'p' }, config: { region: 'r' }, credential: { name: 'creds', key: 'cloud' }, ...extra,
});
const bsl = (name: string, spec: VeleroLocationSpec): BackupStorageLocation => ({ metadata: { name, namespace: 'adp' }, spec });

function deps(bsls: BackupStorageLocation[], secrets: Record<string, Record<string, string> | undefined>): LocationDeps {
  return {
    getLocation: async (_ns, name) => bsls.find((b) => b.metadata?.name === name),
    listLocations: async () => bsls,
    readSecretKey: async (_ns, name, key) => {
      const s = secrets[name];
      if (!s) return { found: false, missing: 'secret' };
      const v = s[key];
      return v === undefined ? { found: false, missing: 'key' } : { found: true, value: v };
    },
  };
}

const creds = { creds: { cloud: '[default]\naws_access_key_id=a\naws_secret_access_key=b\n' } };
const readOnly = { accessMode: 'ReadOnly' } as const;

describe('resolveLocation', () => {
  it.each<{ name: string; purpose: LocationPurpose; spec?: BackupLocation; bsls: BackupStorageLocation[]; bucket: string; as: string }>([
    { name: 'uses the BSL named by the spec', purpose: 'backup', spec: { name: 'second' }, bsls: [bsl('main', velero('m', { default: true })), bsl('second', velero('s'))], bucket: 's', as: 'second' },
    { name: 'prefers the inline spec over the name', purpose: 'backup', spec: { name: 'main', velero: velero('inline-bucket') }, bsls: [bsl('main', velero('m'))], bucket: 'inline-bucket', as: 'inline' },
    { name: 'uses the default BSL when the spec names none', purpose: 'backup', bsls: [bsl('other', velero('o')), bsl('main', velero('m', { default: true }))], bucket: 'm', as: 'main' },
    { name: 'reads from a ReadOnly BSL named by the spec, for a restore', purpose: 'restore', spec: { name: 'ro' }, bsls: [bsl('ro', velero('b1', readOnly))], bucket: 'b1', as: 'ro' },
    { name: 'reads from a ReadOnly default BSL, for a restore', purpose: 'restore', bsls: [bsl('ro', velero('b2', { ...readOnly, default: true }))], bucket: 'b2', as: 'ro' },
    { name: 'reads from a ReadOnly inline location, for a restore', purpose: 'restore', spec: { velero: velero('b3', readOnly) }, bsls: [], bucket: 'b3', as: 'inline' },
    { name: 'reads from a ReadWrite BSL, for a restore', purpose: 'restore', spec: { name: 'rw' }, bsls: [bsl('rw', velero('b4', { accessMode: 'ReadWrite' }))], bucket: 'b4', as: 'rw' },
  ])('$name', async ({ purpose, spec, bsls, bucket, as }) => {
    const r = await resolveLocation('adp', spec, deps(bsls, creds), { purpose });
    expect(r.name).toBe(as);
    expect(r.location.objectStorage.bucket).toBe(bucket);
    expect(r.credentials).toContain('aws_access_key_id=a');
  });

  it('uses the controller credentials when the location names no Secret', async () => {
    const r = await resolveLocation('adp', { velero: velero('b', { credential: undefined }) }, deps([], {}), { purpose: 'backup' });
    expect(r.credentials).toBeUndefined();
    expect(r.location.credential).toBeUndefined();
  });

  it.each<{ name: string; purpose: LocationPurpose; spec?: BackupLocation; bsls: BackupStorageLocation[]; secrets: Record<string, Record<string, string>>; kind: string; reason: string; message: RegExp }>([
    { name: 'a BSL that does not exist', purpose: 'backup', spec: { name: 'nope' }, bsls: [], secrets: creds, kind: 'Waiting', reason: 'BackupLocationNotFound', message: /"nope" not found in namespace adp/ },
    { name: 'a BSL that does not exist (yet), for a restore', purpose: 'restore', spec: { name: 'later' }, bsls: [], secrets: creds, kind: 'Waiting', reason: 'BackupLocationNotFound', message: /"later" not found in namespace adp/ },
    { name: 'no default BSL', purpose: 'backup', bsls: [bsl('a', velero('a'))], secrets: creds, kind: 'Waiting', reason: 'NoDefaultBackupLocation', message: /marked default/ },
    { name: 'two default BSLs', purpose: 'backup', bsls: [bsl('b', velero('b', { default: true })), bsl('a', velero('a', { default: true }))], secrets: creds, kind: 'Waiting', reason: 'MultipleDefaultBackupLocations', message: /a, b/ },
    { name: 'a missing Secret', purpose: 'backup', spec: { name: 'a' }, bsls: [bsl('a', velero('a'))], secrets: {}, kind: 'Waiting', reason: 'CredentialSecretNotFound', message: /Secret "creds" .*not found in namespace adp/ },
    { name: 'a Secret that does not exist (yet), for a restore', purpose: 'restore', spec: { name: 'ro' }, bsls: [bsl('ro', velero('b', readOnly))], secrets: {}, kind: 'Waiting', reason: 'CredentialSecretNotFound', message: /Secret "creds" .*not found in namespace adp/ },
    { name: 'a Secret without the key', purpose: 'backup', spec: { name: 'a' }, bsls: [bsl('a', velero('a'))], secrets: { creds: { other: 'x' } }, kind: 'Waiting', reason: 'CredentialKeyNotFound', message: /has no key "cloud"/ },
    { name: 'a ReadOnly location, for a backup', purpose: 'backup', spec: { name: 'a' }, bsls: [bsl('a', velero('a', readOnly))], secrets: creds, kind: 'Stalled', reason: 'BackupLocationReadOnly', message: /ReadOnly/ },
  ])('refuses $name with a reason that says which', async ({ purpose, spec, bsls, secrets, kind, reason, message }) => {
    const err = await resolveLocation('adp', spec, deps(bsls, secrets), { purpose }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReconcileError);
    expect(err).toMatchObject({ kind, reason });
    expect((err as Error).message).toMatch(message);
  });
});

describe('resolveLocation outside an admin namespace', () => {
  it('refuses a location without a credential: it would be the controller\'s own identity', async () => {
    const { credential: _none, ...noCredential } = velero('b');
    const err = await resolveLocation('team', { velero: noCredential }, deps([], {}), { purpose: 'restore', trusted: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'CredentialRequired', message: expect.stringMatching(/would use the controller's own identity/) });
  });

  it('marks a location with a credential as untrusted (no web identity from it)', async () => {
    const r = await resolveLocation('team', { velero: velero('b') }, deps([], creds), { purpose: 'backup', trusted: false });
    expect(r.trusted).toBe(false);
  });
});
