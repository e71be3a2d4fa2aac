export { runRestore, type RunRestoreOptions, type RestoreResult } from './runRestore.js';
export { readBundle } from './readBundle.js';
export { restoreImages, type RestoreImagesOptions } from './restoreImages.js';
export { selectForRestore, type RestoreSelector, type RestoreTarget, type Selection } from './select.js';
export { pushOrder, type ManifestStep } from '../bundle/tree.js';
export { BlobPusher, type BlobSource, type PushOutcome, type LayerStore } from './pushBlob.js';
