// Reads the tree of every reference: manifest, then for an index every child manifest, then
// configs; then what is attached to each of these manifests (referrers and cosign tags, see
// referrers.ts), and to those in turn, each read the same way. Manifests, indexes and configs
// are kept for the bundle; layers are only listed (with the repositories they can be read
// from) for the pool. An image that cannot be read, or whose attached manifests cannot be,
// becomes a failure of that image, not of the backup: a restore without its signature would
// not run where signatures are enforced.
import pLimit from 'p-limit';
import type { Descriptor, Registry } from '../contracts.js';
import { DigestMismatchError, StalledError, errorMessage } from '../errors.js';
import { sha256Digest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { parseReference } from '../oci/reference.js';
import { MetadataCache } from '../bundle/metadata.js';
import type { BundleReferrer } from '../bundle/format.js';
import { ReferrerFinder } from './referrers.js';
import { ByteBudget } from './budget.js';
import { readSmallBlob } from './readSmallBlob.js';
import type { ImageError, ImageStreamInput, LayerSource, ResolvedImage } from './types.js';

export interface ResolveOptions {
  registry: Registry;
  /** Where manifests, indexes and configs go (bounded in memory); a new in-memory one when absent. */
  metadata?: MetadataCache;
  imageStreams: ImageStreamInput[];
  /** Trees read at a time (uploadBlobs.ts resolveConcurrency). */
  concurrency: number;
  /** Keep referrers and cosign tags of every manifest (default true). */
  referrers?: boolean;
  signal?: AbortSignal;
}

export interface Resolution {
  images: ResolvedImage[];
  failures: ImageError[];
  /** Manifests, indexes and configs by digest, exactly as served. */
  blobs: MetadataCache;
  /** Which of them are configs (the others are manifests and indexes). */
  configs: Set<string>;
  layers: Map<string, LayerSource>;
}

interface Tree {
  mediaType: string;
  /** The manifest and, for an index, every manifest below it: what referrers may be attached to. */
  manifests: string[];
  blobs: string[];
  layers: Descriptor[];
}

/** Config bytes read at once, whatever the number of trees in flight (a config may be 16 MiB). */
export const CONFIG_BYTES_IN_FLIGHT = 32 * 1024 * 1024;

const MAX_INDEX_DEPTH = 3;
/** A signature of an attestation of an image is two levels; more is refused rather than cut. */
const MAX_REFERRER_DEPTH = 8;

export async function resolveImages(opts: ResolveOptions): Promise<Resolution> {
  const { registry, signal } = opts;
  const limit = pLimit(opts.concurrency);
  const blobs = opts.metadata ?? new MetadataCache();
  const configDigests = new Set<string>();
  const layers = new Map<string, LayerSource>();
  const trees = new Map<string, Promise<Tree>>(); // repo@digest: one read per repository and digest
  const configs = new Map<string, Promise<void>>(); // digest
  const configBytes = new ByteBudget(CONFIG_BYTES_IN_FLIGHT);

  const readConfig = async (repo: string, desc: Descriptor, what: string): Promise<void> => {
    // Many trees are read at once: what configs may hold together is bounded, not their count.
    const release = await configBytes.acquire(desc.size);
    try {
      await blobs.set(desc.digest, await readSmallBlob(await registry.getBlob(repo, desc.digest), desc, what));
    } finally {
      release();
    }
    configDigests.add(desc.digest);
  };

  const walk = (repo: string, digest: string, depth: number): Promise<Tree> => {
    const key = `${repo}@${digest}`;
    let tree = trees.get(key);
    if (!tree) {
      tree = readTree(repo, digest, depth);
      trees.set(key, tree);
    }
    return tree;
  };

  const readTree = async (repo: string, digest: string, depth: number): Promise<Tree> => {
    signal?.throwIfAborted();
    const raw = await registry.getManifest(repo, digest);
    // The digest is the identity of the backup: never trust a client's check alone.
    const actual = sha256Digest(raw.bytes);
    if (actual !== digest) throw new DigestMismatchError(digest, actual, `manifest ${repo}@${digest}`);
    const parsed = parseManifest({ bytes: raw.bytes, mediaType: raw.mediaType, digest });
    await blobs.set(digest, raw.bytes);
    if (parsed.kind === 'index') {
      if (depth >= MAX_INDEX_DEPTH) {
        throw new StalledError('UnsupportedManifest', `index ${digest} nests indexes deeper than ${MAX_INDEX_DEPTH} levels`);
      }
      const children = await Promise.all(parsed.manifests.map((m) => walk(repo, m.digest, depth + 1)));
      return {
        mediaType: parsed.mediaType,
        manifests: [digest, ...children.flatMap((c) => c.manifests)],
        blobs: [digest, ...children.flatMap((c) => c.blobs)],
        layers: children.flatMap((c) => c.layers),
      };
    }
    // Images that share a config, read at the same time, read it once.
    let config = configs.get(parsed.config.digest);
    if (!config) {
      config = readConfig(repo, parsed.config, `config of ${repo}@${digest}`);
      configs.set(parsed.config.digest, config);
    }
    await config;
    // Non-distributable layers live outside registries by definition: neither stored nor pushed.
    const own = parsed.layers.filter((l) => !/foreign|nondistributable/.test(l.mediaType));
    return {
      mediaType: parsed.mediaType,
      manifests: [digest],
      blobs: [digest, parsed.config.digest],
      layers: own.map(({ digest: d, size, mediaType }) => ({ digest: d, size, mediaType })),
    };
  };

  const finder = new ReferrerFinder(registry);
  /** Everything attached to `subjects` in `repo`, level by level, each tree read like an image's. */
  const attached = async (repo: string, subjects: string[]): Promise<{ referrers: BundleReferrer[]; blobs: string[]; layers: Descriptor[] }> => {
    const out = { referrers: [] as BundleReferrer[], blobs: [] as string[], layers: [] as Descriptor[] };
    const walked = new Set(subjects);
    let level = subjects;
    for (let depth = 0; level.length > 0; depth++) {
      if (depth >= MAX_REFERRER_DEPTH) {
        throw new StalledError('UnsupportedManifest', `${repo}@${level[0]} has referrers nested more than ${MAX_REFERRER_DEPTH} levels deep`);
      }
      const found = await Promise.all(level.map(async (subject) => ({ subject, list: await finder.find(repo, subject) })));
      const next: string[] = [];
      for (const { subject, list } of found) {
        for (const r of list) {
          out.referrers.push({ subject, digest: r.digest, mediaType: r.mediaType, tags: r.tags });
          if (walked.has(r.digest)) continue;
          walked.add(r.digest);
          next.push(r.digest);
        }
      }
      const trees = await Promise.all(next.map((d) => walk(repo, d, 0).catch((err: unknown) => { throw inContext(err, `referrer ${repo}@${d}`); })));
      for (const t of trees) {
        out.blobs.push(...t.blobs);
        out.layers.push(...t.layers);
      }
      level = next;
    }
    return out;
  };

  const images: ResolvedImage[] = [];
  const failures: ImageError[] = [];
  const tasks: Array<Promise<void>> = [];
  for (const stream of opts.imageStreams) {
    const imageStream = `${stream.namespace}/${stream.name}`;
    for (const ref of stream.references) {
      tasks.push(limit(async () => {
        try {
          const parsed = parseReference(ref.reference);
          if (normalHost(parsed.host) !== normalHost(registry.host)) {
            // The registry credentials go to the internal registry only.
            throw new StalledError('ForeignRegistry', `image reference ${ref.reference} is not on the internal registry ${registry.host}`);
          }
          const tree = await walk(parsed.repository, parsed.digest, 0);
          const extra = opts.referrers === false ? { referrers: [], blobs: [], layers: [] } : await attached(parsed.repository, tree.manifests);
          for (const l of [...tree.layers, ...extra.layers]) addLayer(layers, l, parsed.repository);
          images.push({
            imageStream: { namespace: stream.namespace, name: stream.name },
            reference: ref.reference,
            digest: parsed.digest,
            mediaType: tree.mediaType,
            tags: [...ref.tags],
            blobs: unique([...tree.blobs, ...extra.blobs]),
            layers: unique([...tree.layers, ...extra.layers].map((l) => l.digest)),
            referrers: extra.referrers,
          });
        } catch (err) {
          if (signal?.aborted) throw err;
          const digest = /@(sha256:[a-f0-9]{64})$/.exec(ref.reference)?.[1];
          failures.push({ imageStream, reference: ref.reference, message: errorMessage(err), cause: err, tags: [...ref.tags], ...(digest && { digest }) });
        }
      }));
    }
  }
  await Promise.all(tasks);
  signal?.throwIfAborted();
  return { images: inInputOrder(images, opts.imageStreams), failures, blobs, configs: configDigests, layers };
}

/** The same error, saying where it happened (the image's failure names the image, not the referrer). */
function inContext(err: unknown, where: string): unknown {
  if (err instanceof StalledError && !(err instanceof DigestMismatchError)) return new StalledError(err.reason, `${where}: ${err.message}`, { cause: err });
  return err;
}

function addLayer(layers: Map<string, LayerSource>, l: Descriptor, repo: string): void {
  const known = layers.get(l.digest);
  if (!known) {
    layers.set(l.digest, { ...l, repos: [repo] });
  } else if (!known.repos.includes(repo)) {
    known.repos.push(repo);
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function normalHost(host: string): string {
  try {
    return new URL(`https://${host}`).host;
  } catch {
    return host.toLowerCase();
  }
}

/** Completion order depends on the network; the bundle must not. */
export function inInputOrder(images: ResolvedImage[], streams: ImageStreamInput[]): ResolvedImage[] {
  const rank = new Map<string, number>();
  let i = 0;
  for (const s of streams) for (const r of s.references) rank.set(`${s.namespace}/${s.name}\n${r.reference}`, i++);
  const key = (img: ResolvedImage) => rank.get(`${img.imageStream.namespace}/${img.imageStream.name}\n${img.reference}`) ?? 0;
  return images.sort((a, b) => key(a) - key(b));
}
