// Media types of the manifests and blobs the product copies. Docker and OCI types are
// kept apart because a manifest's digest covers its bytes, mediaType field included.

export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Schema 1 manifests: refused, their signatures and digests cannot be kept. */
export const DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const DOCKER_FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYOUT_VERSION = '1.0.0';

export const INDEX_MEDIA_TYPES: readonly string[] = [DOCKER_MANIFEST_LIST, OCI_INDEX];
export const IMAGE_MEDIA_TYPES: readonly string[] = [DOCKER_MANIFEST, OCI_MANIFEST];
export const SCHEMA1_MEDIA_TYPES: readonly string[] = [DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED];

/** Every manifest media type the product reads, for an Accept header. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [...IMAGE_MEDIA_TYPES, ...INDEX_MEDIA_TYPES];

export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_MEDIA_TYPES.includes(mediaType);
}

export function isImageMediaType(mediaType: string): boolean {
  return IMAGE_MEDIA_TYPES.includes(mediaType);
}
