// The BackupItemAction v2 for ImageStreams: Execute appends the images of each ImageStream in a
// Velero backup to that backup's ImageStreamsBackup and returns an operation ID, so that the
// Velero Backup waits (WaitingForPluginOperations) until Progress reports the images stored.
import { status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { CANCEL_ANNOTATION } from '../pkg/api/index.js';
import { isNotFound } from '../pkg/k8s/errors.js';
import type { VeleroBackup } from '../pkg/k8s/velero.js';
import { imageStreamEntry, registryHostOf, type ImageStream } from './imageStreamEntry.js';
import { IsbAppender, type VeleroBackupRef } from './isbAppender.js';
import type { PluginLog } from './log.js';
import type { PluginConfig } from './pluginConfig.js';
import type { IsbApi } from './resources.js';
import { operationId, operationProgress, parseOperationId } from './progress.js';
import type { ExecuteRequest, ExecuteResponse, OperationProgress, OperationRequest } from './protocol.js';

export const APPLIES_TO = 'imagestreams.image.openshift.io';
export const CANCEL_REASON = 'cancelled by Velero (item operation timeout)';

export interface ActionDeps {
  /** The ImageStreamsBackup client, made at the first call that needs it. */
  kube(): IsbApi;
  readConfig(namespace: string): Promise<PluginConfig>;
  log: PluginLog;
}

export class ImageStreamBackupAction {
  private appender?: IsbAppender;

  constructor(private readonly deps: ActionDeps) {}

  async execute(req: ExecuteRequest): Promise<ExecuteResponse> {
    const t0 = Date.now();
    const unchanged: ExecuteResponse = { item: req.item, operationID: '' };
    const stream = JSON.parse(req.item.toString('utf8')) as ImageStream;
    const backup = JSON.parse(req.backup.toString('utf8')) as VeleroBackup;
    const ref = backupRef(backup);
    // Velero takes no new operation once it finalizes (it then runs actions again only for
    // post-operation items, which this action never asks for).
    if (backup.status?.phase?.startsWith('Finalizing')) return unchanged;

    const shown = `${stream.metadata?.namespace}/${stream.metadata?.name}`;
    const host = (await this.deps.readConfig(ref.namespace)).internalRegistry ?? registryHostOf(stream);
    if (!host) {
      this.deps.log.warn('ImageStream has no status.dockerImageRepository and no internalRegistry is configured: its images are not backed up',
        { imageStream: shown, backup: ref.name });
      return unchanged;
    }
    const found = imageStreamEntry(stream, host);
    if (found.otherRegistry > 0 || found.invalid > 0) {
      this.deps.log.info(`skipped ${found.otherRegistry} image(s) of other registries than ${host} and ${found.invalid} invalid reference(s) or tag(s)`,
        { imageStream: shown, backup: ref.name, otherRegistry: found.otherRegistry, invalid: found.invalid });
    }
    if (!found.entry) return unchanged;
    this.appender ??= new IsbAppender(this.deps.kube());
    await this.appender.append(ref, found.entry);
    this.deps.log.info('image stream appended to the ImageStreamsBackup',
      { imageStream: shown, images: found.entry.dockerImageReferences?.length ?? 0, imageStreamsBackup: operationId(ref), ms: Date.now() - t0 });
    return { item: req.item, operationID: operationId(ref) };
  }

  async progress(req: OperationRequest): Promise<OperationProgress> {
    const target = parseOperationId(req.operationID);
    return operationProgress(target, await this.deps.kube().get(target.namespace, target.name));
  }

  async cancel(req: OperationRequest): Promise<void> {
    const target = parseOperationId(req.operationID);
    try {
      await this.deps.kube().patch(target.namespace, target.name, { metadata: { annotations: { [CANCEL_ANNOTATION]: CANCEL_REASON } } });
      this.deps.log.info('asked the ImageStreamsBackup to stop', { imageStreamsBackup: req.operationID, reason: CANCEL_REASON });
    } catch (err) {
      if (!isNotFound(err)) throw err; // nothing left to cancel
    }
  }
}

function backupRef(backup: VeleroBackup): VeleroBackupRef {
  const { name, namespace, uid } = backup.metadata ?? {};
  if (!name || !namespace) throw new Error('the Velero Backup in the request has no name or namespace');
  const storageLocation = backup.spec?.storageLocation;
  return { name, namespace, ...(uid && { uid }), ...(storageLocation && { storageLocation }) };
}

/** The action as grpc-js handlers of v2.BackupItemAction; an error reaches Velero as its message. */
export function backupItemActionService(action: ImageStreamBackupAction, log: PluginLog): UntypedServiceImplementation {
  const unary = <Req, Res>(name: string, run: (req: Req) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, done: sendUnaryData<Res>) => {
      run(call.request).then((res) => done(null, res), (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        log.error(`${name} failed`, { error: message });
        done({ code: status.UNKNOWN, details: message });
      });
    };
  return {
    AppliesTo: unary('AppliesTo', async () => ({ ResourceSelector: { includedResources: [APPLIES_TO] } })),
    Execute: unary('Execute', (req: ExecuteRequest) => action.execute(req)),
    Progress: unary('Progress', async (req: OperationRequest) => ({ progress: await action.progress(req) })),
    Cancel: unary('Cancel', async (req: OperationRequest) => { await action.cancel(req); return {}; }),
  };
}
