export {
  packBundle, unpackBundle, parseBackupJson, BUNDLE_FORMAT_VERSION, ANNOTATION_PREFIX, DEFAULT_BUNDLE_LIMITS,
  type BackupIdentity, type BackupJson, type Bundle, type BundleImageStream, type BundleReference, type BundleLimits,
} from './format.js';
export { openBundle, type OpenBundleOptions } from './open.js';
export { commitBundle } from './commit.js';
