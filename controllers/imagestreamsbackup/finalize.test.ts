// What deleting an ImageStreamsBackup does to its data, decision by decision, with the location
// lookup and the store replaced by fakes (test/e2e/lifecycle.test.ts runs it against the stack).
import type { ImageStreamsBackup } from '../../pkg/api/index.js';
import { TransientError } from '../../pkg/errors.js';
import type { BundleDeletion } from '../../pkg/gc/deleteBundle.js';
import type { BackupStorageLocation } from '../../pkg/k8s/velero.js';
import type { Finalization } from '../runtime/lifecycle.js';
import { silentLogger } from '../runtime/logger.js';
import { bundleFinalizer } from './finalize.js';
import type { BackupStatus } from './status.js';

const started = { phase: 'Completed', startTimestamp: '2026-01-01T00:00:00Z', bundle: 'p/plugins/imagestreams/v1/backups/b/bundle.tar' } as const;

interface Case {
  name: string;
  isb?: Partial<ImageStreamsBackup>;
  bsl?: BackupStorageLocation['spec'] | 'missing';
  deletion?: BundleDeletion | Error;
  terminating?: boolean;
  action: Finalization<BackupStatus>['action'];
  deletes: boolean;
  event?: string;
  reason?: string;
}

const bsl = { provider: 'aws', objectStorage: { bucket: 'b' }, credential: { name: 'c', key: 'cloud' } };

async function finalize(c: Case) {
  const deleted: string[] = [];
  const soon: string[] = [];
  const finalizer = bundleFinalizer({
    locations: {
      getLocation: async () => (c.bsl === 'missing' ? undefined : { spec: c.bsl ?? bsl }),
      listLocations: async () => [],
      readSecretKey: async () => ({ found: true, value: 'creds' }),
    },
    deleteBundle: async (_location, backup) => {
      deleted.push(backup.uid);
      if (c.deletion instanceof Error) throw c.deletion;
      return c.deletion ?? { result: 'deleted', key: started.bundle };
    },
    namespaceTerminating: async () => c.terminating ?? false,
    onBundleDeleted: (location) => soon.push(location.name),
    log: silentLogger,
  });
  const isb: ImageStreamsBackup = {
    metadata: { namespace: 'ns', name: 'b', uid: 'u1', generation: 1, deletionTimestamp: new Date() },
    spec: { backupLocation: { name: 'default' }, ...c.isb?.spec },
    status: c.isb && 'status' in c.isb ? c.isb.status! : { ...started },
  };
  return { end: await finalizer.finalize('ns/b', isb, new Date('2026-01-02T00:00:00Z')), deleted, soon };
}

describe('deleting an ImageStreamsBackup', () => {
  test.each<Case>([
    { name: 'deletes its own bundle (Delete, the default) and asks the collector for a pass', action: 'release', deletes: true, event: 'BundleDeleted' },
    { name: 'keeps the bundle with deletionPolicy Retain', isb: { spec: { deletionPolicy: 'Retain' } }, action: 'release', deletes: false, event: 'BundleRetained' },
    { name: 'deletes nothing for a backup that never started', isb: { status: { phase: 'WaitingForStart' } }, action: 'release', deletes: false },
    { name: 'deletes nothing from a ReadOnly location', bsl: { ...bsl, accessMode: 'ReadOnly' }, action: 'release', deletes: false, event: 'BundleRetained' },
    { name: 'leaves a bundle of another uid alone', deletion: { result: 'other', key: started.bundle, uid: 'u2' }, action: 'release', deletes: true, event: 'BundleNotOwned' },
    { name: 'leaves a bundle it cannot read alone', deletion: { result: 'unreadable', key: started.bundle, why: 'not a tar' }, action: 'release', deletes: true, event: 'BundleNotOwned' },
    { name: 'lets go when there is no bundle', deletion: { result: 'absent' }, action: 'release', deletes: true },
    { name: 'waits while its location is missing, saying how to let go', bsl: 'missing', action: 'wait', deletes: false, event: 'BundleDeletionBlocked', reason: 'DeletionBlocked' },
    { name: 'waits while the store fails', deletion: new TransientError('StoreUnavailable', 'object storage answered 503'), action: 'wait', deletes: true, event: 'BundleDeletionBlocked', reason: 'DeletionBlocked' },
    { name: 'lets go, keeping the data, when its namespace goes with its location', bsl: 'missing', terminating: true, action: 'release', deletes: false, event: 'BundleRetained' },
  ])('$name', async (c) => {
    const { end, deleted, soon } = await finalize(c);
    expect(end.action).toBe(c.action);
    expect(deleted).toEqual(c.deletes ? ['u1'] : []);
    expect(end.events?.map((e) => e.reason) ?? []).toEqual(c.event ? [c.event] : []);
    expect(soon).toEqual(c.event === 'BundleDeleted' ? ['default'] : []);
    if (end.action === 'wait') {
      const ready = end.status.conditions?.find((x) => x.type === 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason: c.reason });
      expect(ready?.message).toContain('"op":"remove","path":"/metadata/finalizers"');
      // The phase the backup had stays: it is not a failure of the backup.
      expect(end.status.phase).toBe('Completed');
    }
  });

  test('looks again after 10 s while the location is missing or the store fails', async () => {
    const missing = await finalize({ name: '', bsl: 'missing', action: 'wait', deletes: false });
    const failing = await finalize({ name: '', deletion: new TransientError('StoreUnavailable', '503'), action: 'wait', deletes: true });
    expect(missing.end).toMatchObject({ requeueAfterMs: 10_000 });
    expect(failing.end).toMatchObject({ requeueAfterMs: 10_000 });
  });
});
