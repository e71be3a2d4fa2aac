// bundle.tar, the backup itself (the format both backup and restore use): an OCI image layout
// holding the manifests, indexes and configs, plus backup.json, the authoritative list of image
// streams, tags and layers. Layers are not in it; they are in the pool. backup.json comes
// first so that ownership can be read without reading the rest. Written by pack.ts, read (as
// untrusted input) by unpack.ts.
import type { Descriptor } from '../contracts.js';
import { StalledError } from '../errors.js';
import { isDigest } from '../oci/digest.js';
import type { MetadataBlobs } from './metadata.js';

export const BUNDLE_FORMAT_VERSION = 1;

/** The ImageStreamsBackup a bundle belongs to: only the same uid may replace it. */
export interface BackupIdentity {
  namespace: string;
  name: string;
  uid: string;
  /** The uid of the writing cluster's kube-system namespace: only that cluster's collector may find the bundle orphaned. */
  cluster?: string;
  /** The ISB's spec.deletionPolicy when written: a Retain bundle is never found orphaned. */
  deletionPolicy?: 'Delete' | 'Retain';
}
export const ANNOTATION_PREFIX = 'imagestreams.oadp.openshift.io/';

export interface BundleReference {
  digest: string;
  mediaType: string;
  tags: string[];
  /** The reference as the backup named it (informative: restore goes by digest). */
  source?: string;
}

export interface BundleImageStream {
  namespace: string;
  name: string;
  references: BundleReference[];
}

/**
 * A manifest attached to another (a signature, an attestation, an SBOM): found through the
 * referrers API or its fallback tag (its `subject` names the other), or through a cosign-style
 * tag of the other's digest. Restored after its subject, by digest, with its tags.
 */
export interface BundleReferrer {
  /** The manifest it belongs to: an image, a platform of an index, or another referrer. */
  subject: string;
  digest: string;
  mediaType: string;
  /** Cosign-style tags that name it: `sha256-<subject hex>.sig`, `.att` or `.sbom`. */
  tags: string[];
}

/** The suffixes of cosign's tags (`sha256-<hex>.<suffix>`); only these are recreated. */
export const COSIGN_TAG_SUFFIXES = ['sig', 'att', 'sbom'] as const;

/** The tag of the referrers tag schema (OCI 1.1's fallback) for `subject`: `sha256-<hex>`. */
export function fallbackTag(subject: string): string {
  return subject.replace(':', '-');
}

export function cosignTags(subject: string): string[] {
  return COSIGN_TAG_SUFFIXES.map((suffix) => `${fallbackTag(subject)}.${suffix}`);
}

export interface BackupJson {
  formatVersion: number;
  productVersion: string;
  backup: BackupIdentity;
  imageStreams: BundleImageStream[];
  layers: Descriptor[];
  /** Absent in bundles written before referrers were kept, or with BACKUP_REFERRERS=false. */
  referrers?: BundleReferrer[];
  totals: { imageStreams: number; images: number; manifests: number; configs: number; layers: number; layerBytes: number; referrers?: number };
  startedAt: string;
  completedAt: string;
}

export interface Bundle {
  backup: BackupJson;
  /** Manifests, indexes and configs by digest. */
  blobs: MetadataBlobs;
}

export interface BundleLimits {
  /** One entry (a manifest, index or config). */
  entryBytes: number;
  backupJsonBytes: number;
  /** The whole tar. */
  totalBytes: number;
  /** One PAX or GNU extension header: other tools write small ones. */
  extensionBytes: number;
}

/** Generous, since nothing is held whole (metadata.ts): they refuse what no backup makes. */
export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {
  entryBytes: 16 * 1024 * 1024,
  backupJsonBytes: 256 * 1024 * 1024,
  totalBytes: 16 * 1024 * 1024 * 1024,
  extensionBytes: 64 * 1024,
};

export const BLOB_ENTRY = /^blobs\/sha256\/([a-f0-9]{64})$/;
export const DIRECTORIES = new Set(['blobs/', 'blobs', 'blobs/sha256/', 'blobs/sha256']);

/** An entry that must be JSON: its value, or InvalidBundle. */
export function parseJson(data: Buffer, name: string, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw invalid(what, `${name} is not JSON`);
  }
}

/** Checks the shape of backup.json; a newer format version is refused with a clear reason. */
export function parseBackupJson(data: Buffer, what = 'bundle'): BackupJson {
  const doc = parseJson(data, 'backup.json', what) as Record<string, unknown>;
  if (!isObject(doc)) throw invalid(what, 'backup.json is not an object');
  if (typeof doc.formatVersion !== 'number') throw invalid(what, 'backup.json has no formatVersion');
  if (doc.formatVersion > BUNDLE_FORMAT_VERSION || doc.formatVersion < 1) {
    throw new StalledError('UnsupportedBundleVersion', `${what} has format version ${doc.formatVersion}; this imagestream-backup `
      + `reads version ${BUNDLE_FORMAT_VERSION}: restore with the version that wrote it, or a newer one`);
  }
  const backup = doc.backup as Record<string, unknown>;
  if (!isObject(backup) || !isString(backup.namespace) || !isString(backup.name) || !isString(backup.uid)) {
    throw invalid(what, 'backup.json lacks backup.namespace, backup.name or backup.uid');
  }
  if (!Array.isArray(doc.imageStreams)) throw invalid(what, 'backup.json has no imageStreams list');
  doc.imageStreams.forEach((s: unknown, i) => {
    const at = `imageStreams[${i}]`;
    if (!isObject(s) || !isString(s.namespace) || !isString(s.name) || !Array.isArray(s.references)) throw invalid(what, `backup.json ${at} is malformed`);
    s.references.forEach((r: unknown, j) => {
      if (!isObject(r) || !isDigest(r.digest) || !isString(r.mediaType) || !Array.isArray(r.tags) || !r.tags.every(isString)) {
        throw invalid(what, `backup.json ${at}.references[${j}] is malformed`);
      }
    });
  });
  if (doc.referrers !== undefined) checkReferrers(doc.referrers, what);
  if (!Array.isArray(doc.layers)) throw invalid(what, 'backup.json has no layers list');
  doc.layers.forEach((l: unknown, i) => {
    if (!isObject(l) || !isDigest(l.digest) || !Number.isSafeInteger(l.size) || (l.size as number) < 0 || !isString(l.mediaType)) {
      throw invalid(what, `backup.json layers[${i}] is malformed`);
    }
  });
  return doc as unknown as BackupJson;
}

/** A bundle is untrusted: a referrer's tags may only be the cosign tags of its own subject. */
function checkReferrers(referrers: unknown, what: string): void {
  if (!Array.isArray(referrers)) throw invalid(what, 'backup.json referrers is not a list');
  referrers.forEach((r: unknown, i) => {
    if (!isObject(r) || !isDigest(r.subject) || !isDigest(r.digest) || !isString(r.mediaType) || !Array.isArray(r.tags)) {
      throw invalid(what, `backup.json referrers[${i}] is malformed`);
    }
    const allowed = cosignTags(r.subject);
    if (!r.tags.every((t) => isString(t) && allowed.includes(t))) {
      throw invalid(what, `backup.json referrers[${i}] has a tag other than ${allowed.join(', ')}`);
    }
  });
}

export function invalid(what: string, why: string, cause?: unknown): StalledError {
  return new StalledError('InvalidBundle', `${what} is not a valid imagestream-backup bundle: ${why}`, cause === undefined ? undefined : { cause });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}
