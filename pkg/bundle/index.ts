export {
  parseBackupJson, BUNDLE_FORMAT_VERSION, ANNOTATION_PREFIX, DEFAULT_BUNDLE_LIMITS,
  type BackupIdentity, type BackupJson, type Bundle, type BundleImageStream, type BundleReference, type BundleLimits,
} from './format.js';
export { packBundle, packBundleBuffer, type PackedBundle } from './pack.js';
export { unpackBundle, type UnpackOptions } from './unpack.js';
export { MetadataCache, inMemoryBlobs, type MetadataBlobs } from './metadata.js';
export { openBundle, type OpenBundleOptions } from './open.js';
export { commitBundle } from './commit.js';
