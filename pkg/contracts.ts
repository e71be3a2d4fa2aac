// The contracts between the data path (pkg/) and the controllers. Each folder of pkg/
// implements one of these; the controllers depend on nothing else of pkg/.
import type { Readable } from 'node:stream';

/** A content-addressed blob, as OCI descriptors name it. */
export interface Descriptor {
  digest: string; // sha256:<64 hex>
  size: number;
  mediaType: string;
}

/** A manifest that refers to another (OCI 1.1 `subject`), as a referrers list describes it. */
export interface ReferrerDescriptor extends Descriptor {
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** A manifest exactly as the registry served it; `digest` is the sha256 of `bytes`. */
export interface RawManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** How the controller reaches the internal registry. Credentials go to `host` only. */
export interface RegistryOptions {
  host: string; // host:port, no scheme
  caFile?: string;
  ca?: string | Buffer;
  insecureSkipTLSVerify?: boolean;
  username?: string;
  password?: string; // Basic password, or the token offered in the Bearer flow
  plainHttp?: boolean; // tests only
}

/** The registry operations the data path needs (OCI distribution spec v2). */
export interface Registry {
  readonly host: string;
  getManifest(repo: string, digest: string): Promise<RawManifest>;
  getBlob(repo: string, digest: string): Promise<Readable>;
  hasBlob(repo: string, digest: string): Promise<boolean>;
  /** Cross-repository mount; false when the registry did not mount (caller uploads). */
  mountBlob(repo: string, digest: string, fromRepo: string): Promise<boolean>;
  /** Streams the body up; DigestMismatchError, and nothing committed, when it is not the descriptor's size and digest. */
  pushBlob(repo: string, desc: Descriptor, body: Readable): Promise<void>;
  /** PUTs the exact bytes under a digest or a tag; DigestMismatchError, nothing sent, when a digest reference is not the bytes' digest. */
  putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string>;
  listTags(repo: string): Promise<string[]>;
  /** A manifest by tag, exactly as stored (its digest is that of its bytes); undefined when the tag does not exist. */
  getTaggedManifest(repo: string, tag: string): Promise<RawManifest | undefined>;
  /** The manifests whose subject is `digest` (OCI 1.1 referrers API); undefined when the registry does not serve that API. */
  listReferrers(repo: string, digest: string): Promise<ReferrerDescriptor[] | undefined>;
}

/** The subset of a velero.io/v1 BackupStorageLocation spec that the product reads. */
export interface LocationSpec {
  provider: string;
  objectStorage: { bucket: string; prefix?: string; caCert?: string };
  /** (caCertRef is resolved by the controller into caCert.) */
  config?: Record<string, string>;
  credential?: { name: string; key: string };
}

/** Progress counters, reported while a backup or restore runs. */
export interface Progress {
  images: { total: number; done: number; failed: number };
  blobs: { total: number; done: number; skipped: number };
  bytes: { total: number; done: number; skipped: number };
  /** Referrers (signatures, attestations, SBOMs: manifests attached to an image) stored by a backup or pushed by a restore. */
  referrers?: number;
}

export interface ImageFailure {
  imageStream: string; // namespace/name
  reference: string;
  message: string;
}
