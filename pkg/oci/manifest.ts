// Reads just enough of a manifest to walk an image: an index's children, an image's config
// and layers. The bytes themselves are never re-serialised; their digest is the identity.
import type { Descriptor, RawManifest } from '../contracts.js';
import { StalledError } from '../errors.js';
import { isDigest } from './digest.js';
import {
  DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, SCHEMA1_MEDIA_TYPES,
  isImageMediaType, isIndexMediaType,
} from './mediaTypes.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** A descriptor as it appears in a manifest, with the optional fields the walk may need. */
export interface ManifestDescriptor extends Descriptor {
  platform?: Platform;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
}

export interface ParsedIndex {
  kind: 'index';
  mediaType: string;
  manifests: ManifestDescriptor[];
  /** The descriptors this manifest points at: here, its manifests. */
  children: ManifestDescriptor[];
  subject?: ManifestDescriptor;
}

export interface ParsedImage {
  kind: 'image';
  mediaType: string;
  config: ManifestDescriptor;
  layers: ManifestDescriptor[];
  /** The descriptors this manifest points at: its config, then its layers. */
  children: ManifestDescriptor[];
  subject?: ManifestDescriptor;
}

export type ParsedManifest = ParsedIndex | ParsedImage;

const SCHEMA1_MESSAGE = 'is a Docker schema 1 manifest, which is not supported (deprecated, and its digest cannot '
  + 'be kept across registries); push the image again with a current client so it is stored as Docker schema 2 or OCI';

/**
 * Parses a manifest or index. `mediaType` (as served) wins over the JSON `mediaType` field;
 * a manifest that names neither is classified by its shape, as OCI allows.
 */
export function parseManifest(raw: Pick<RawManifest, 'bytes'> & Partial<Pick<RawManifest, 'mediaType' | 'digest'>>): ParsedManifest {
  const name = raw.digest ? `manifest ${raw.digest}` : 'manifest';
  refuseSchema1(raw.mediaType, name);
  let doc: unknown;
  try {
    doc = JSON.parse(raw.bytes.toString('utf8'));
  } catch {
    throw invalid(name, 'it is not JSON');
  }
  if (!isObject(doc)) throw invalid(name, 'it is not a JSON object');
  if (doc.schemaVersion === 1) throw new StalledError('UnsupportedManifest', `${name} ${SCHEMA1_MESSAGE}`);
  if (doc.schemaVersion !== 2) throw invalid(name, `schemaVersion is ${JSON.stringify(doc.schemaVersion)}, expected 2`);

  const mediaType = resolveMediaType(name, raw.mediaType, doc);
  const subject = doc.subject === undefined ? undefined : descriptor(name, 'subject', doc.subject);
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid(name, 'an index needs a "manifests" array');
    const manifests = doc.manifests.map((m, i) => descriptor(name, `manifests[${i}]`, m));
    return { kind: 'index', mediaType, manifests, children: manifests, ...(subject && { subject }) };
  }
  const config = descriptor(name, 'config', doc.config);
  if (!Array.isArray(doc.layers)) throw invalid(name, 'an image manifest needs a "layers" array');
  const layers = doc.layers.map((l, i) => descriptor(name, `layers[${i}]`, l));
  return { kind: 'image', mediaType, config, layers, children: [config, ...layers], ...(subject && { subject }) };
}

/** Throws the schema 1 refusal when `mediaType` is one of the schema 1 types. */
export function refuseSchema1(mediaType: string | undefined, name = 'manifest'): void {
  if (mediaType && SCHEMA1_MEDIA_TYPES.includes(mediaType)) {
    throw new StalledError('UnsupportedManifest', `${name} ${SCHEMA1_MESSAGE}`);
  }
}

function resolveMediaType(name: string, served: string | undefined, doc: Record<string, unknown>): string {
  const field = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  refuseSchema1(field, name);
  const candidate = [served, field].find((t) => t && (isIndexMediaType(t) || isImageMediaType(t)));
  if (candidate) return candidate;
  if (served && !isGenericJson(served)) throw unsupported(name, served);
  if (field) throw unsupported(name, field);
  // OCI lets the mediaType field be absent: the shape tells.
  if (Array.isArray(doc.manifests)) return OCI_INDEX;
  if (isObject(doc.config) && Array.isArray(doc.layers)) return OCI_MANIFEST;
  throw invalid(name, 'it has neither a media type nor the shape of an image manifest or index');
}

function descriptor(name: string, where: string, value: unknown): ManifestDescriptor {
  if (!isObject(value)) throw invalid(name, `${where} is not a descriptor`);
  const { digest, size, mediaType } = value;
  if (!isDigest(digest)) throw invalid(name, `${where}.digest ${JSON.stringify(digest)} is not a sha256 digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(name, `${where}.size ${JSON.stringify(size)} is not a non-negative integer`);
  }
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(name, `${where}.mediaType is missing`);
  const out: ManifestDescriptor = { digest, size, mediaType };
  if (isObject(value.platform) && typeof value.platform.architecture === 'string' && typeof value.platform.os === 'string') {
    out.platform = value.platform as unknown as Platform;
  }
  if (Array.isArray(value.urls)) out.urls = value.urls.filter((u): u is string => typeof u === 'string');
  if (isObject(value.annotations)) out.annotations = value.annotations as Record<string, string>;
  if (typeof value.artifactType === 'string') out.artifactType = value.artifactType;
  return out;
}

function isGenericJson(contentType: string): boolean {
  return contentType === 'application/json' || contentType === 'text/plain' || contentType === 'application/octet-stream';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(name: string, why: string): StalledError {
  return new StalledError('InvalidManifest', `${name} is invalid: ${why}`);
}

function unsupported(name: string, mediaType: string): StalledError {
  return new StalledError('UnsupportedManifest', `${name} has media type ${JSON.stringify(mediaType)}, which is not supported `
    + `(supported: ${[DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX].join(', ')})`);
}
