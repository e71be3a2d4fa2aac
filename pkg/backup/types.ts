import type { Descriptor } from '../contracts.js';
import type { BundleReferrer } from '../bundle/format.js';

/** One image stream of an ImageStreamsBackup, as the controller hands it over. */
export interface ImageStreamInput {
  namespace: string;
  name: string;
  references: Array<{ reference: string; tags: string[] }>;
}

export type { BackupIdentity } from '../bundle/format.js';

/** A layer to put in the pool, with every repository it may be read from. */
export interface LayerSource extends Descriptor {
  repos: string[];
}

/** One (image stream, reference) whose whole tree was read. */
export interface ResolvedImage {
  imageStream: { namespace: string; name: string };
  reference: string;
  digest: string;
  mediaType: string;
  tags: string[];
  /** Manifests, indexes and configs of the tree: they go in the bundle. */
  blobs: string[];
  /** Layers of the tree: they go in the pool. */
  layers: string[];
  /** What is attached to the tree's manifests (their blobs and layers are in the two lists above). */
  referrers: BundleReferrer[];
}

/** A failure with its cause kept, so the caller can tell a passing failure from a lasting one. */
export interface ImageError {
  imageStream: string;
  reference: string;
  message: string;
  cause: unknown;
  /** The image's digest, when the reference could be read (for the carry-forward). */
  digest?: string;
  /** The tags the spec gives the image. */
  tags: string[];
}
