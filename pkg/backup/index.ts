export { runBackup, type RunBackupOptions, type BackupResult, type NothingBackedUpError } from './runBackup.js';
export { resolveImages, type Resolution, type ResolveOptions } from './resolveImages.js';
export { uploadOne, partSizeFor, memoryFor, type UploadOneOptions, type UploadOutcome } from './uploadOne.js';
export { uploadBlobs, DEFAULT_CONCURRENCY, type Concurrency, type FailedBlobs } from './uploadBlobs.js';
export { ProgressTracker, emptyProgress, copyProgress } from './progress.js';
export { ByteBudget } from './budget.js';
export { productVersion } from './productVersion.js';
export type { BackupIdentity, ImageStreamInput, LayerSource, ResolvedImage, ImageError } from './types.js';
