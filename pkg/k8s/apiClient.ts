// API clients with a deadline on every call: client-node's own makeApiClient has none, so a
// hung GET or PATCH would hold a work queue worker for good (and a hung LIST an informer).
// The deadline covers the whole exchange, body included; it fails the call with a
// TimeoutError, which the work queue retries with backoff like any other API error.
import { ServerConfiguration, createConfiguration, type Configuration, type KubeConfig } from '@kubernetes/client-node';

export const DEFAULT_API_TIMEOUT_MS = 30_000;

const timeouts = new WeakMap<KubeConfig, number>();

/** Sets the deadline of the calls of every client made from `kc` from now on. */
export function setApiTimeout(kc: KubeConfig, ms: number): void {
  timeouts.set(kc, ms);
}

export function apiTimeout(kc: KubeConfig): number {
  return timeouts.get(kc) ?? DEFAULT_API_TIMEOUT_MS;
}

export function makeApiClient<T>(kc: KubeConfig, type: new (config: Configuration) => T): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no Kubernetes cluster configured');
  const ms = apiTimeout(kc);
  return new type(createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [{
      pre: async (ctx) => {
        ctx.setSignal(AbortSignal.timeout(ms));
        ctx.setHeaderParam('User-Agent', 'imagestream-backup');
        return ctx;
      },
      post: async (ctx) => ctx,
    }],
  }));
}
