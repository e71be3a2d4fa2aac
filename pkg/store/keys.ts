// Object keys of the fixed layout (shared/DESIGN.md): everything under
// <prefix>/plugins/imagestreams/v1/, so Velero keeps seeing the BSL as its own.
import { StalledError } from '../errors.js';
import { invalidLocation } from './storeError.js';
import { parseDigest } from '../oci/digest.js';

export const LAYOUT_ROOT = 'plugins/imagestreams/v1/';

/** `<prefix>/plugins/imagestreams/v1/` with no leading slash and no empty segment. */
export function rootFor(prefix: string | undefined): string {
  return `${prefixPath(prefix)}${LAYOUT_ROOT}`;
}

/** The BSL's prefix as `a/b/` (or ''), as Velero cleans it (trimmed slashes, no empty segment). */
function prefixPath(prefix: string | undefined): string {
  const segments = (prefix ?? '').split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '.' || s === '..') throw invalidLocation('InvalidPrefix', `objectStorage.prefix ${JSON.stringify(prefix)} must not contain "." or ".." segments`);
  }
  return segments.length ? `${segments.join('/')}/` : '';
}

export function blobKey(root: string, digest: string): string {
  return `${root}blobs/sha256/${parseDigest(digest).hex}`;
}

export function blobsPrefix(root: string): string {
  return `${root}blobs/sha256/`;
}

/** The digest a pool key names, or undefined for anything else found under blobs/. */
export function digestOfBlobKey(root: string, key: string): string | undefined {
  const prefix = blobsPrefix(root);
  if (!key.startsWith(prefix)) return undefined;
  const hex = key.slice(prefix.length);
  return /^[a-f0-9]{64}$/.test(hex) ? `sha256:${hex}` : undefined;
}

// A Kubernetes object name (DNS subdomain): safe as one key segment.
const BACKUP_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function bundleKey(root: string, name: string): string {
  return `${root}backups/${checkedBackupName(name)}/bundle.tar`;
}

/**
 * Velero's own record of a backup, `<prefix>/backups/<name>/velero-backup.json` (its
 * ObjectStoreLayout): outside this product's plugins/ folder. It leaves the BSL when Velero
 * deletes the backup's data, and its presence is what Velero's sync brings a Backup back from.
 */
export function veleroBackupMetadataKey(prefix: string | undefined, backupName: string): string {
  return `${prefixPath(prefix)}backups/${checkedBackupName(backupName)}/velero-backup.json`;
}

function checkedBackupName(name: string): string {
  if (!BACKUP_NAME.test(name) || name.includes('..')) {
    throw new StalledError('InvalidBackupName', `backup name ${JSON.stringify(name.slice(0, 300))} is not a valid Kubernetes object name`);
  }
  return name;
}
