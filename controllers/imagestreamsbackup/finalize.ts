// What deleting an ImageStreamsBackup does to its data (spec.deletionPolicy), run by the
// finalizer once the backup's run has stopped: with Delete, its bundle.tar goes (only if it is
// this object's, by uid), and the collector frees the layers no other backup uses after the
// grace period. With Retain, or from a ReadOnly location, the data stays. A location that cannot
// be used holds the object (the bundle is deleted when it can be), except when the namespace
// itself is going: its BSL and Secret go with it, and waiting would hang the namespace's deletion
// (the bundle then stays in the bucket, for a restore elsewhere or the collector's orphan rule).
import { BUNDLE_FINALIZER, type ImageStreamsBackup } from '../../pkg/api/index.js';
import { ReconcileError, WaitingError, errorMessage } from '../../pkg/errors.js';
import { resolveLocation, type LocationDeps, type ResolvedLocation } from '../backupLocation.js';
import { EventReasons } from '../conditions.js';
import type { TransportSettings } from '../config.js';
import type { Event, Finalization, Finalizer } from '../runtime/lifecycle.js';
import type { Logger } from '../runtime/logger.js';
import { ensureDefaults } from './ensureDefaults.js';
import { STALLED_LOCATION_RETRY_MS } from './reconcile.js';
import type { BundleDeleter } from './runBackup.js';
import { deletionBlockedStatus, type BackupStatus } from './status.js';

export interface FinalizeDeps {
  locations: LocationDeps;
  deleteBundle: BundleDeleter;
  /** Is the namespace being deleted (its BSL and Secrets go with it)? */
  namespaceTerminating: (namespace: string) => Promise<boolean>;
  trusted?: (namespace: string) => boolean;
  /** A bundle was deleted from this location: its collector should pass soon. */
  onBundleDeleted?: (location: ResolvedLocation, namespace: string) => void;
  transport?: TransportSettings;
  log: Logger;
}

export function bundleFinalizer(deps: FinalizeDeps): Finalizer<ImageStreamsBackup, BackupStatus> {
  return { name: BUNDLE_FINALIZER, finalize: (key, isb, now) => finalize(deps, key, isb, now) };
}

const release = (...events: Event[]): Finalization<BackupStatus> => ({ action: 'release', events });

async function finalize(deps: FinalizeDeps, key: string, isb: ImageStreamsBackup, now: Date): Promise<Finalization<BackupStatus>> {
  const spec = ensureDefaults(isb);
  if (spec.deletionPolicy === 'Retain') {
    return isb.status?.bundle
      ? release({ type: 'Normal', reason: EventReasons.BundleRetained, message: `deletionPolicy is Retain: ${isb.status.bundle} stays in its backup location and can still be restored` })
      : release();
  }
  // Nothing was written for a backup that never started.
  if (!isb.status?.startTimestamp) return release();

  const log = deps.log.child({ isb: key });
  try {
    const location = await resolveLocation(spec.namespace, spec.backupLocation, deps.locations, { purpose: 'restore', trusted: deps.trusted?.(spec.namespace) ?? true });
    if (location.readOnly) {
      return release({ type: 'Normal', reason: EventReasons.BundleRetained, message: `backup location ${location.name} is ReadOnly: nothing is deleted from it, the bundle stays` });
    }
    const deletion = await deps.deleteBundle(location, { namespace: spec.namespace, name: spec.name, uid: spec.uid }, log, deps.transport);
    if (deletion.result === 'absent') return release();
    if (deletion.result === 'unreadable') {
      return release({ type: 'Warning', reason: EventReasons.BundleNotOwned, message: `${deletion.key} cannot be read (${deletion.why}), so whose it is is unknown: left as it is` });
    }
    if (deletion.result === 'other') {
      return release({ type: 'Warning', reason: EventReasons.BundleNotOwned,
        message: `${deletion.key} belongs to another ImageStreamsBackup (uid ${deletion.uid}), not to this one: left as it is` });
    }
    deps.onBundleDeleted?.(location, spec.namespace);
    return release({ type: 'Normal', reason: EventReasons.BundleDeleted,
      message: `deleted ${deletion.key} from backup location ${location.name}; the garbage collector frees the layers no other backup uses after its grace period` });
  } catch (err) {
    if (!(err instanceof ReconcileError)) throw err;
    return blocked(deps, isb, spec.namespace, err, now);
  }
}

async function blocked(deps: FinalizeDeps, isb: ImageStreamsBackup, namespace: string, err: ReconcileError, now: Date): Promise<Finalization<BackupStatus>> {
  if (await deps.namespaceTerminating(namespace)) {
    return release({ type: 'Warning', reason: EventReasons.BundleRetained,
      message: `namespace ${namespace} is being deleted and the backup location cannot be used (${errorMessage(err)}): the bundle stays in the bucket` });
  }
  const name = isb.metadata?.name ?? '';
  const message = `the bundle cannot be deleted yet: ${errorMessage(err)}; the object stays until it is. To let it go and keep the data: `
    + `kubectl patch imagestreamsbackup ${name} -n ${namespace} --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]'`;
  return {
    action: 'wait',
    status: deletionBlockedStatus(isb.status, isb.metadata?.generation ?? 0, { reason: err.reason, message }, now),
    events: [{ type: 'Warning', reason: EventReasons.BundleDeletionBlocked, message, once: true }],
    requeueAfterMs: err instanceof WaitingError ? err.retryAfterMs : err.kind === 'Transient' ? 10_000 : STALLED_LOCATION_RETRY_MS,
  };
}
