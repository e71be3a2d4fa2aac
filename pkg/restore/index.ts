export { runRestore, type RunRestoreOptions, type RestoreResult } from './runRestore.js';
export { readBundle } from './readBundle.js';
export { restoreImages, type RestoreImagesOptions } from './restoreImages.js';
export { planRestore, type PlannedStream, type RestorePlan, type StreamSelector } from './plan.js';
export { pushOrder, type ManifestStep } from '../bundle/tree.js';
export { BlobPusher, type BlobSource, type PushOutcome } from './pushBlob.js';
