// The one place the controllers build a client of the internal registry (adapter over
// pkg/registry). A new client per run reads the CA file and the token file again, so a rotated
// service account token or a renewed service CA is picked up without a restart.
import type { Registry } from '../pkg/contracts.js';
import { createRegistryClient } from '../pkg/registry/index.js';
import { readRegistryPassword, type Config } from './config.js';

export interface RegistryHandle {
  registry: Registry;
  close(): void;
}

/** A client for one run: `signal` (the run's) ends every request it makes. */
export type RegistryFactory = (signal?: AbortSignal) => RegistryHandle;

export function internalRegistryFactory(cfg: Config): RegistryFactory {
  return (signal) => {
    const password = readRegistryPassword(cfg);
    const client = createRegistryClient({
      host: cfg.internalRegistry,
      ...(cfg.registryCaFile && { caFile: cfg.registryCaFile }),
      ...(password !== undefined && { username: cfg.registryUser, password }),
      retry: cfg.transport.retry,
      requestTimeoutMs: cfg.transport.requestTimeoutMs,
      idleTimeoutMs: cfg.transport.idleTimeoutMs,
      ...(signal && { signal }),
    });
    return { registry: client, close: () => client.close() };
  };
}
