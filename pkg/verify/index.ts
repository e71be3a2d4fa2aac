// Verification of a stored backup without restoring it: the ImageStreamsRestore's
// spec.verifyOnly and the `imagestream-backup verify` command both call verifyBackup.
export { verifyBackup, type VerifyOptions, type VerifyResult } from './verifyBackup.js';
export type { BlobProblem } from './problems.js';
export { BundleNotFoundError } from '../restore/readBundle.js';
