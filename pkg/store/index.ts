export { openStore, type OpenStoreOptions } from './openStore.js';
export {
  DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE, PreconditionFailedError,
  type ObjectInfo, type ObjectStore, type PutOptions, type StoreStats,
} from './objectStore.js';
export { ObjectNotFoundError, storeError } from './storeError.js';
export { LAYOUT_ROOT, blobsPrefix, digestOfBlobKey, rootFor, veleroBackupMetadataKey } from './keys.js';
export { storeSettings, type Log, type StoreSettings } from './location.js';
