// The decision table of "has Velero deleted this ISB's backup?", with small fakes for the
// Velero Backup lookup, the BSLs and Velero's record in the bucket.
import type { ImageStreamsBackup } from '../../pkg/api/index.js';
import { TransientError } from '../../pkg/errors.js';
import type { BackupStorageLocation } from '../../pkg/k8s/velero.js';
import { LABEL_BACKUP_NAME, validLabelValue } from '../../pkg/k8s/veleroLabels.js';
import type { LocationDeps, ResolvedLocation } from '../backupLocation.js';
import { checkVeleroBackup, veleroBackupOf, type CheckDeps } from './checkVeleroBackup.js';

type Json = 'present' | 'absent' | 'unreadable';
interface World {
  backup: 'present' | 'absent';
  json: Json;
  accessMode?: 'ReadOnly' | 'ReadWrite';
  /** BSLs of namespace velero by name; default: `default`, on bucket b, prefix velero. */
  bsls?: Record<string, BackupStorageLocation>;
}

const bsl = (accessMode: World['accessMode'] = 'ReadWrite', prefix = 'velero'): BackupStorageLocation => ({
  metadata: { name: 'default', namespace: 'velero' },
  spec: { provider: 'aws', default: true, accessMode, objectStorage: { bucket: 'b', prefix }, credential: { name: 'cloud', key: 'cloud' } },
});

function fakes(world: World) {
  const calls = { backup: [] as string[], json: [] as Array<{ location: ResolvedLocation; name: string }> };
  const bsls = world.bsls ?? { default: bsl(world.accessMode) };
  const locations: LocationDeps = {
    getLocation: async (_ns, name) => bsls[name],
    listLocations: async () => Object.values(bsls),
    readSecretKey: async () => ({ found: true, value: '[default]\naws_access_key_id=a\naws_secret_access_key=b\n' }),
  };
  const deps: CheckDeps = {
    veleroBackupExists: async (ns, name) => {
      calls.backup.push(`${ns}/${name}`);
      return world.backup === 'present';
    },
    locations,
    trusted: () => true,
    veleroMetadataExists: async (location, name) => {
      calls.json.push({ location, name });
      if (world.json === 'unreadable') throw new TransientError('StorageUnreachable', 'cannot reach https://s3.example (ECONNREFUSED)', { scope: 'location' });
      return world.json === 'present';
    },
  };
  return { deps, calls };
}

/** An ISB as the plugin makes it for Velero backup `name` (or, hand-written, without its label). */
function isb(name: string, opts: { pluginMade?: boolean; label?: string; deleting?: boolean; location?: string } = {}): ImageStreamsBackup {
  const pluginMade = opts.pluginMade ?? true;
  return {
    apiVersion: 'oadp.openshift.io/v1alpha1', kind: 'ImageStreamsBackup',
    metadata: {
      name, namespace: 'velero', uid: `uid-${name}`,
      ...(pluginMade && { labels: { [LABEL_BACKUP_NAME]: opts.label ?? validLabelValue(name), 'velero.io/exclude-from-backup': 'true' } }),
      ...(opts.deleting && { deletionTimestamp: new Date('2026-01-01T00:00:00Z') }),
    },
    spec: { veleroBackupReference: { name, namespace: 'velero', startOnCompletion: true }, backupLocation: { name: opts.location ?? 'default' } },
  };
}

describe('checkVeleroBackup: the decision table', () => {
  it.each([
    { backup: 'absent', json: 'absent', pluginMade: true, accessMode: 'ReadWrite', want: 'delete' },
    { backup: 'present', json: 'present', pluginMade: true, accessMode: 'ReadWrite', want: 'VeleroBackupExists' },
    // velero backup delete is under way: the files are gone, the object not yet.
    { backup: 'present', json: 'absent', pluginMade: true, accessMode: 'ReadWrite', want: 'VeleroBackupExists' },
    // kubectl delete backup: Velero's sync brings it back.
    { backup: 'absent', json: 'present', pluginMade: true, accessMode: 'ReadWrite', want: 'VeleroBackupDataRemains' },
    { backup: 'absent', json: 'unreadable', pluginMade: true, accessMode: 'ReadWrite', want: 'BackupStorageUnreadable' },
    { backup: 'absent', json: 'absent', pluginMade: true, accessMode: 'ReadOnly', want: 'LocationReadOnly' },
    { backup: 'absent', json: 'absent', pluginMade: false, accessMode: 'ReadWrite', want: 'HandWritten' },
    { backup: 'absent', json: 'unreadable', pluginMade: false, accessMode: 'ReadOnly', want: 'HandWritten' },
    { backup: 'present', json: 'absent', pluginMade: false, accessMode: 'ReadWrite', want: 'HandWritten' },
  ] as const)('Backup $backup, velero-backup.json $json, plugin-made $pluginMade, $accessMode: $want', async (row) => {
    const { deps } = fakes(row);
    const check = await checkVeleroBackup(isb('nightly', { pluginMade: row.pluginMade }), deps);
    expect(check.action === 'delete' ? 'delete' : check.reason).toBe(row.want);
  });

  it('deletes in exactly one of the 24 combinations: plugin-made, Backup gone, velero-backup.json gone, location ReadWrite', async () => {
    const deleting: string[] = [];
    for (const backup of ['present', 'absent'] as const) {
      for (const json of ['present', 'absent', 'unreadable'] as const) {
        for (const pluginMade of [true, false]) {
          for (const accessMode of ['ReadOnly', 'ReadWrite'] as const) {
            const check = await checkVeleroBackup(isb('nightly', { pluginMade }), fakes({ backup, json, accessMode }).deps);
            if (check.action === 'delete') deleting.push(`${backup} ${json} ${pluginMade} ${accessMode}`);
          }
        }
      }
    }
    expect(deleting).toEqual(['absent absent true ReadWrite']);
  });

  it('reads velero-backup.json of the ISB\'s own location, under the name of its Velero backup, and says why it deletes', async () => {
    const { deps, calls } = fakes({ backup: 'absent', json: 'absent', bsls: { default: bsl(), other: { ...bsl('ReadWrite', 'elsewhere'), metadata: { name: 'other' } } } });
    const check = await checkVeleroBackup(isb('nightly', { location: 'other' }), deps);
    expect(calls.backup).toEqual(['velero/nightly']);
    expect(calls.json).toHaveLength(1);
    expect(calls.json[0]!.name).toBe('nightly');
    expect(calls.json[0]!.location).toMatchObject({ name: 'other', location: { objectStorage: { prefix: 'elsewhere' } } });
    expect(check).toEqual({
      action: 'delete', backup: { namespace: 'velero', name: 'nightly' }, location: 'other',
      message: expect.stringMatching(/^Velero deleted backup velero\/nightly .*velero-backup\.json is no longer in backup location other/),
    });
  });

  it('asks nothing of the bucket while the Backup exists, and nothing at all for a hand-written ISB', async () => {
    const present = fakes({ backup: 'present', json: 'absent' });
    await checkVeleroBackup(isb('nightly'), present.deps);
    expect(present.calls.json).toEqual([]);
    const handWritten = fakes({ backup: 'absent', json: 'absent' });
    await checkVeleroBackup(isb('nightly', { pluginMade: false }), handWritten.deps);
    expect(handWritten.calls).toEqual({ backup: [], json: [] });
  });

  it('keeps, and looks again soon, when the location is missing or cannot be read', async () => {
    const missing = await checkVeleroBackup(isb('nightly', { location: 'gone' }), fakes({ backup: 'absent', json: 'absent' }).deps);
    expect(missing).toMatchObject({ action: 'keep', reason: 'LocationUnavailable', unsure: true, message: expect.stringContaining('BackupStorageLocation "gone" not found') });
    const unreadable = await checkVeleroBackup(isb('nightly'), fakes({ backup: 'absent', json: 'unreadable' }).deps);
    expect(unreadable).toMatchObject({ action: 'keep', reason: 'BackupStorageUnreadable', unsure: true, message: expect.stringContaining('ECONNREFUSED') });
    const readOnly = await checkVeleroBackup(isb('nightly'), fakes({ backup: 'absent', json: 'absent', accessMode: 'ReadOnly' }).deps);
    expect(readOnly).toMatchObject({ action: 'keep', reason: 'LocationReadOnly' });
    expect(readOnly).not.toHaveProperty('unsure');
  });

  it('keeps an ISB that is being deleted already', async () => {
    const check = await checkVeleroBackup(isb('nightly', { deleting: true }), fakes({ backup: 'absent', json: 'absent' }).deps);
    expect(check).toMatchObject({ action: 'keep', reason: 'BeingDeleted' });
  });

  it('lets an API error through (the queue retries it), rather than reading it as "gone"', async () => {
    const { deps } = fakes({ backup: 'absent', json: 'absent' });
    deps.veleroBackupExists = async () => { throw Object.assign(new Error('HTTP-Code: 503'), { code: 503 }); };
    await expect(checkVeleroBackup(isb('nightly'), deps)).rejects.toThrow('503');
  });
});

describe('veleroBackupOf: which ISBs the plugin made', () => {
  const long = `nightly-${'x'.repeat(70)}`;
  it.each([
    { name: 'the plugin\'s label and reference', obj: isb('nightly'), want: { namespace: 'velero', name: 'nightly' } },
    { name: 'a name longer than a label value, labelled as Velero does', obj: isb(long), want: { namespace: 'velero', name: long } },
    { name: 'a reference without the label (a hand-written ISB waiting for a Velero backup)', obj: isb('nightly', { pluginMade: false }), want: undefined },
    { name: 'a label naming another backup than the reference', obj: isb('nightly', { label: 'weekly' }), want: undefined },
    {
      name: 'the label without a reference', want: undefined,
      obj: { ...isb('nightly'), spec: { startBackup: true, imageStreams: [] } } as ImageStreamsBackup,
    },
  ])('$name', ({ obj, want }) => {
    expect(veleroBackupOf(obj)).toEqual(want);
  });
});
