// The one place the controllers open the object store of a resolved location: its credentials
// (web identity only for trusted objects), and the one retry policy and timeouts of the
// transport settings.
import { openStore, type ObjectStore } from '../pkg/store/index.js';
import type { ResolvedLocation } from './backupLocation.js';
import type { TransportSettings } from './config.js';
import type { Logger } from './runtime/logger.js';

export function openLocationStore(location: ResolvedLocation, log: Logger, transport?: TransportSettings): Promise<ObjectStore> {
  return openStore({
    location: location.location,
    ...(location.credentials !== undefined && { credentials: location.credentials }),
    trusted: location.trusted === true,
    log: (message) => log.info(message),
    ...(transport && { retry: transport.retry, idleTimeoutMs: transport.idleTimeoutMs }),
    ...(transport?.webIdentityTokenFiles && { allowedTokenFiles: transport.webIdentityTokenFiles }),
  });
}
