export { runBackup, type RunBackupOptions, type BackupResult, type NothingBackedUpError } from './runBackup.js';
export { resolveImages, type Resolution, type ResolveOptions } from './resolveImages.js';
export { uploadOne, partSizeFor, memoryFor, type UploadOneOptions, type UploadOutcome } from './uploadOne.js';
export { uploadBlobs, DEFAULT_CONCURRENCY, type Concurrency, type FailedBlobs } from './uploadBlobs.js';
export {
  packBundle, unpackBundle, parseBackupJson, BUNDLE_FORMAT_VERSION, ANNOTATION_PREFIX, DEFAULT_BUNDLE_LIMITS,
  type BackupJson, type Bundle, type BundleImageStream, type BundleReference, type BundleLimits,
} from './bundle.js';
export { commitBundle } from './commitBundle.js';
export { ProgressTracker, emptyProgress, copyProgress } from './progress.js';
export { ByteBudget } from './budget.js';
export { productVersion } from './productVersion.js';
export type { BackupIdentity, ImageStreamInput, LayerSource, ResolvedImage, ImageError } from './types.js';
