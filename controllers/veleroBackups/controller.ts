// Velero drives the lifetime of the ImageStreamsBackups its plugin made: when Velero has deleted
// a backup (checkVeleroBackup.ts says how that is told apart from a Backup object deleted
// alone), its ISB is deleted, which frees its data (the ISB's finalizer and the collector).
// What makes it look: a Velero Backup deleted, a DeleteBackupRequest processed or removed (both
// only hints: the check decides), an ISB seen for the first time, a first pass once the ISBs are
// listed (what Velero deleted while the controller was down, a TTL expiry among them), and a
// pass every VELERO_SYNC_CHECK_SECONDS for a missed event or a Velero Backup in a namespace
// nobody watches.
import { GROUP, ISB_PLURAL, VERSION, type ImageStreamsBackup } from '../../pkg/api/index.js';
import { CustomResources } from '../../pkg/k8s/customResources.js';
import { isConflict } from '../../pkg/k8s/errors.js';
import { Secrets } from '../../pkg/k8s/secrets.js';
import {
  VeleroBackupStorageLocations, VeleroBackups, VeleroDeleteBackupRequests,
  type BackupStorageLocation, type DeleteBackupRequest, type VeleroBackup,
} from '../../pkg/k8s/velero.js';
import { LABEL_BACKUP_NAME, validLabelValue } from '../../pkg/k8s/veleroLabels.js';
import { EventReasons } from '../conditions.js';
import type { ControllerContext, RunningController } from '../context.js';
import { STALLED_LOCATION_RETRY_MS } from '../imagestreamsbackup/reconcile.js';
import { splitKey, keyOf, type ReconcileResult } from '../runtime/workQueue.js';
import { isAdminNamespace, locationsFrom, reconcileQueue, startWatching } from '../wiring.js';
import { checkVeleroBackup, type CheckDeps } from './checkVeleroBackup.js';
import { veleroMetadataExists } from './veleroMetadata.js';

export const CONTROLLER = 'velerobackups';

export async function startVeleroBackupsController(ctx: ControllerContext): Promise<RunningController> {
  const { kubeConfig: kc, config, metrics } = ctx;
  const log = ctx.log.child({ controller: CONTROLLER });
  const isbs = new CustomResources<ImageStreamsBackup>(kc, { group: GROUP, version: VERSION, plural: ISB_PLURAL });
  const veleroBackups = new CustomResources<VeleroBackup>(kc, VeleroBackups);
  const bsls = new CustomResources<BackupStorageLocation>(kc, VeleroBackupStorageLocations);
  const requests = new CustomResources<DeleteBackupRequest>(kc, VeleroDeleteBackupRequests);

  const informer = ctx.informers.of.bind(ctx.informers);
  const byNamespace = <T>(make: (ns: string) => T) => new Map(config.watchNamespaces.map((ns) => [ns, make(ns)] as const));
  const isbInformers = byNamespace((ns) => informer('imagestreamsbackups', isbs, ns));
  const backupInformers = byNamespace((ns) => informer('velero-backups', veleroBackups, ns));
  const bslInformers = byNamespace((ns) => informer('backupstoragelocations', bsls, ns));
  const requestInformers = byNamespace((ns) => informer('deletebackuprequests', requests, ns));

  const deps: CheckDeps = {
    // The cache may say "present" (a delete event follows if it is stale); only the API server may say "gone".
    veleroBackupExists: async (ns, name) => backupInformers.get(ns)?.get(name, ns) !== undefined || (await veleroBackups.get(ns, name)) !== undefined,
    locations: locationsFrom(bslInformers, bsls, new Secrets(kc)),
    trusted: (ns) => isAdminNamespace(config, ns),
    veleroMetadataExists: (location, name) => veleroMetadataExists(location, name, log, config.transport),
  };

  const check = async (key: string): Promise<ReconcileResult | void> => {
    const { namespace, name } = splitKey(key);
    let isb = isbInformers.get(namespace)?.get(name, namespace);
    if (!isb) return;
    let result = await checkVeleroBackup(isb, deps);
    if (result.action === 'delete') {
      // The cache may lag behind (this ISB deleted a moment ago, its labels changed): a deletion is
      // decided again on the object as the API server has it.
      isb = await isbs.get(namespace, name);
      if (!isb) return;
      result = await checkVeleroBackup(isb, deps);
    }
    if (result.action === 'keep') {
      metrics.veleroBackupChecks.inc({ result: result.reason });
      log.debug('ImageStreamsBackup kept', { isb: key, reason: result.reason, message: result.message });
      return result.unsure ? { requeueAfterMs: STALLED_LOCATION_RETRY_MS } : undefined;
    }
    const uid = isb.metadata?.uid ?? '';
    log.info('deleting the ImageStreamsBackup of a Velero backup that Velero deleted', {
      isb: key, uid, veleroBackup: `${result.backup.namespace}/${result.backup.name}`, location: result.location,
    });
    await ctx.recorder.record(isb, 'Normal', EventReasons.VeleroBackupDeleted, result.message);
    try {
      // Only this ISB: one created since under the same name (a new backup of that name) is not it.
      await isbs.delete(namespace, name, { uid });
    } catch (err) {
      if (!isConflict(err)) throw err;
      log.info('the ImageStreamsBackup was replaced by another of the same name: nothing deleted', { isb: key, uid });
      return;
    }
    metrics.veleroBackupChecks.inc({ result: 'Deleted' });
  };
  const queue = reconcileQueue(CONTROLLER, ctx, log, check);

  const allIsbs = () => [...isbInformers.values()].flatMap((i) => i.list());
  /** ISBs that name this Velero backup, by reference or by label: the check tells the plugin's from hand-written ones. */
  const enqueueFor = (namespace: string | undefined, name: string | undefined) => {
    if (!namespace || !name) return;
    for (const isb of allIsbs()) {
      const ref = isb.spec?.veleroBackupReference;
      const byRef = ref?.name === name && (ref.namespace || isb.metadata?.namespace) === namespace;
      const byLabel = isb.metadata?.namespace === namespace && isb.metadata?.labels?.[LABEL_BACKUP_NAME] === validLabelValue(name);
      if (byRef || byLabel) queue.add(keyOf(isb));
    }
  };
  const candidate = (isb: ImageStreamsBackup) => isb.spec?.veleroBackupReference !== undefined || isb.metadata?.labels?.[LABEL_BACKUP_NAME] !== undefined;
  const enqueueAll = () => {
    for (const isb of allIsbs()) if (candidate(isb)) queue.add(keyOf(isb));
  };

  // An ISB seen for the first time may belong to a backup Velero deleted already.
  for (const inf of isbInformers.values()) {
    inf.on((event, isb) => { if (event === 'add' && candidate(isb)) queue.add(keyOf(isb)); });
  }

  for (const inf of backupInformers.values()) {
    inf.on((event, vb) => { if (event === 'delete') enqueueFor(vb.metadata?.namespace, vb.metadata?.name); });
  }
  // Velero deletes a processed request right away when the deletion succeeded, and keeps it with errors when not.
  for (const inf of requestInformers.values()) {
    inf.on((event, dbr) => {
      if (event === 'delete' || dbr.status?.phase === 'Processed') enqueueFor(dbr.metadata?.namespace, dbr.spec?.backupName);
    });
  }

  const periodic = setInterval(enqueueAll, config.veleroSyncCheckMs);
  periodic.unref();
  const running = await startWatching(CONTROLLER, [...backupInformers.values(), ...bslInformers.values(), ...requestInformers.values()],
    [...isbInformers.values()], queue, { shutdown: async () => clearInterval(periodic) });
  // The first pass needs the ISBs listed; a first list that failed is retried by the informer.
  void Promise.all([...isbInformers.values()].map((i) => i.waitForSync())).then(enqueueAll);
  log.info('controller started', { namespaces: config.watchNamespaces, checkEverySeconds: config.veleroSyncCheckMs / 1000 });
  return running;
}
