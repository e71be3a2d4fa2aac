export {
  parseBackupJson, BUNDLE_FORMAT_VERSION, ANNOTATION_PREFIX, DEFAULT_BUNDLE_LIMITS,
  type BackupIdentity, type BackupJson, type Bundle, type BundleImageStream, type BundleReference, type BundleLimits,
  type BundleReferrer, COSIGN_TAG_SUFFIXES, cosignTags,
} from './format.js';
export { packBundle, packBundleBuffer, type PackedBundle } from './pack.js';
export { unpackBundle, type UnpackOptions } from './unpack.js';
export { MetadataCache, inMemoryBlobs, type MetadataBlobs } from './metadata.js';
export { openBundle, type OpenBundleOptions } from './open.js';
export { commitBundle } from './commit.js';
export { referrersOf } from './referrers.js';
