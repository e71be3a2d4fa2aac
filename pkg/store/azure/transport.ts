// How the Azure SDK's requests travel: through the agents of this store (the BSL's caCert,
// the cluster-wide proxy and NO_PROXY), and failed when the storage sends or takes nothing for
// the idle timeout, as every other request of the product. @azure/storage-blob has no option
// for either: the policy goes into the core pipeline its clients share (one per Pipeline
// object, made by the first client), after the SDK's own proxy policy.
import type http from 'node:http';
import type { Pipeline } from '@azure/storage-blob';
import { sliced, WRITE_SLICE } from '../../slicedWrite.js';

export type AgentFor = (url: URL) => http.Agent;

/** The shape of a core-rest-pipeline request, as far as this policy touches it. */
interface CoreRequest {
  url: string;
  agent?: unknown;
  abortSignal?: AbortSignal;
  body?: unknown;
  onUploadProgress?: (progress: { loadedBytes: number }) => void;
}

interface CorePipeline {
  addPolicy(policy: { name: string; sendRequest(request: CoreRequest, next: (request: CoreRequest) => Promise<unknown>): Promise<unknown> }): void;
}

/** A socket-level error code the store's error mapping reads as "the storage did not answer". */
function stalled(ms: number): Error {
  return Object.assign(new Error(`no progress for ${Math.round(ms / 1000)}s`), { code: 'ETIMEDOUT' });
}

/** Adds the transport policy to the core pipeline behind `pipeline`, which a BlobServiceClient made from it has built. */
export function useTransport(pipeline: Pipeline, agentFor: AgentFor, idleTimeoutMs: number): void {
  const core = (pipeline as unknown as { _corePipeline?: CorePipeline })._corePipeline;
  if (!core) throw new Error('@azure/storage-blob built no core pipeline: the transport (CA, proxy, timeouts) cannot be set');
  core.addPolicy({
    name: 'imagestreamBackupTransport',
    async sendRequest(request, next) {
      request.agent = agentFor(new URL(request.url));
      // A staged block goes to the socket in slices (../../slicedWrite.ts); a function body is
      // called again for each try.
      const body = request.body;
      if (body instanceof Uint8Array && body.byteLength > WRITE_SLICE) request.body = () => sliced(body);
      const outer = request.abortSignal;
      const stop = new AbortController();
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      // Each byte sent earns another idle period; then the answer's headers must come within one.
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          stop.abort();
        }, idleTimeoutMs);
      };
      const onOuterAbort = () => stop.abort();
      if (outer?.aborted) stop.abort();
      else outer?.addEventListener('abort', onOuterAbort);
      const progress = request.onUploadProgress;
      request.onUploadProgress = (p) => {
        arm();
        progress?.(p);
      };
      request.abortSignal = stop.signal;
      arm();
      try {
        // A streamed answer's body is watched by its reader (pkg/resumable.ts), not here.
        return await next(request);
      } catch (err) {
        if (timedOut) throw stalled(idleTimeoutMs);
        throw err;
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onOuterAbort);
      }
    },
  });
}
