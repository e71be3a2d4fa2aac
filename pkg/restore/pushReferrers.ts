// Pushes what is attached to a restored image (signatures, attestations, SBOMs) into the same
// repository, after their subject: blobs, then the manifest by digest with its exact bytes,
// then its cosign tags. A registry that serves the referrers API indexes a manifest with a
// `subject` by itself; on one that does not (OpenShift's internal registry among them), the
// fallback index tagged `sha256-<subject hex>` is what clients read, so it is written here,
// merged with what the tag already lists.
import pLimit from 'p-limit';
import type { ReferrerDescriptor, Registry } from '../contracts.js';
import { errorMessage } from '../errors.js';
import { fallbackTag, type BundleReferrer, type Bundle } from '../bundle/format.js';
import type { ManifestStep } from '../bundle/tree.js';
import { parseManifest } from '../oci/manifest.js';
import { OCI_INDEX } from '../oci/mediaTypes.js';
import type { RestoreFailure } from './restoreImages.js';

export interface ReferrerPushDeps {
  registry: Registry;
  bundle: Bundle;
  /** Push orders by digest, computed before the run (every referrer of the selection is there). */
  orders: ReadonlyMap<string, ManifestStep[]>;
  /** Makes one blob of a step present in the repository (counts it). */
  ensureBlob: (repo: string, blob: ManifestStep['blobs'][number]) => Promise<void>;
  hasManifest: (repo: string, digest: string) => Promise<boolean>;
  /** Counts a blob of a manifest the registry holds already (a restarted restore). */
  blobPresent: (repo: string, blob: ManifestStep['blobs'][number]) => void;
  /** Called once per repository and referrer that is in the registry at the end. */
  onPushed: (repo: string, digest: string) => void;
  blobsPerImage: number;
  signal?: AbortSignal;
}

export class ReferrerPusher {
  /** repo@subject: fallback index updates of one tag, one at a time. */
  private readonly fallbackWrites = new Map<string, Promise<void>>();

  constructor(private readonly deps: ReferrerPushDeps) {}

  /** Pushes `referrers` (each after its subject) into `repo`; returns what failed, the rest is pushed. */
  async push(repo: string, imageStream: string, referrers: BundleReferrer[]): Promise<RestoreFailure[]> {
    const failures: RestoreFailure[] = [];
    const failed = new Set<string>();
    const indexed = new Map<string, ReferrerDescriptor[]>(); // subject -> manifests that name it
    const done = new Set<string>();
    for (const r of referrers) {
      this.deps.signal?.throwIfAborted();
      const shown = `referrer ${r.digest}${r.tags.length ? ` (${r.tags.join(', ')})` : ''} of ${repo}@${r.subject}`;
      if (failed.has(r.subject)) {
        failures.push({ imageStream, reference: r.digest, message: `${shown} was not restored: its subject was not restored` });
        failed.add(r.digest);
        continue;
      }
      try {
        const bytes = done.has(r.digest) ? undefined : await this.pushManifests(repo, r);
        done.add(r.digest);
        const manifest = bytes ?? await this.deps.bundle.blobs.get(r.digest);
        for (const tag of r.tags) await this.deps.registry.putManifest(repo, tag, manifest, r.mediaType);
        const descriptor = describe(r, manifest);
        if (descriptor) indexed.set(r.subject, [...(indexed.get(r.subject) ?? []), descriptor]);
        this.deps.onPushed(repo, r.digest);
      } catch (err) {
        if (this.deps.signal?.aborted) throw err;
        failed.add(r.digest);
        failures.push({ imageStream, reference: r.digest, message: `${shown} was not restored: ${errorMessage(err)}`, cause: err });
      }
    }
    for (const [subject, descriptors] of indexed) {
      try {
        await this.serialized(`${repo}@${subject}`, () => this.writeFallback(repo, subject, descriptors));
      } catch (err) {
        if (this.deps.signal?.aborted) throw err;
        failures.push({ imageStream, reference: subject, message: `the referrers index ${repo}:${fallbackTag(subject)} was not written: ${errorMessage(err)}`, cause: err });
      }
    }
    return failures;
  }

  /** Blobs first, then the manifests (an index's children before it); returns the referrer's own bytes. */
  private async pushManifests(repo: string, r: BundleReferrer): Promise<Buffer> {
    const steps = this.deps.orders.get(r.digest);
    if (!steps) throw new Error(`internal: no push order for referrer ${r.digest}`);
    const missing: ManifestStep[] = [];
    for (const step of steps) {
      if (await this.deps.hasManifest(repo, step.digest)) for (const b of step.blobs) this.deps.blobPresent(repo, b);
      else missing.push(step);
    }
    const limit = pLimit(this.deps.blobsPerImage);
    const blobs = new Map(missing.flatMap((st) => st.blobs).map((b) => [b.digest, b]));
    await Promise.all([...blobs.values()].map((b) => limit(() => this.deps.ensureBlob(repo, b))));
    for (const step of missing) await this.deps.registry.putManifest(repo, step.digest, step.bytes, step.mediaType);
    return steps.at(-1)!.bytes;
  }

  /** Adds `descriptors` to the fallback index of `subject`, unless the registry lists referrers itself. */
  private async writeFallback(repo: string, subject: string, descriptors: ReferrerDescriptor[]): Promise<void> {
    if ((await this.deps.registry.listReferrers(repo, subject)) !== undefined) return;
    const tag = fallbackTag(subject);
    const current = await this.deps.registry.getTaggedManifest(repo, tag);
    const listed: unknown[] = [];
    const have = new Set<string>();
    if (current) {
      const parsed = parseManifest(current);
      if (parsed.kind === 'index') {
        // Kept as written: other clients' entries may carry fields this product does not read.
        const doc = JSON.parse(current.bytes.toString('utf8')) as { manifests: unknown[] };
        listed.push(...doc.manifests);
        for (const m of parsed.manifests) have.add(m.digest);
      }
    }
    const added = descriptors.filter((d) => !have.has(d.digest));
    if (current && added.length === 0) return;
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...listed, ...added] };
    await this.deps.registry.putManifest(repo, tag, Buffer.from(JSON.stringify(index)), OCI_INDEX);
  }

  private serialized(key: string, work: () => Promise<void>): Promise<void> {
    const before = this.fallbackWrites.get(key) ?? Promise.resolve();
    const next = before.catch(() => {}).then(work);
    this.fallbackWrites.set(key, next);
    return next;
  }
}

/** The referrers-list entry of a manifest whose `subject` is `r.subject`; undefined for one that names no subject (a cosign tag only). */
function describe(r: BundleReferrer, bytes: Buffer): ReferrerDescriptor | undefined {
  const parsed = parseManifest({ bytes, mediaType: r.mediaType, digest: r.digest });
  if (parsed.subject?.digest !== r.subject) return undefined;
  const doc = JSON.parse(bytes.toString('utf8')) as { artifactType?: unknown; annotations?: unknown };
  // The spec's rule: the manifest's artifactType, else its config's media type.
  const artifactType = typeof doc.artifactType === 'string' ? doc.artifactType : parsed.kind === 'image' ? parsed.config.mediaType : undefined;
  const annotations = typeof doc.annotations === 'object' && doc.annotations !== null ? doc.annotations as Record<string, string> : undefined;
  return { mediaType: r.mediaType, digest: r.digest, size: bytes.length, ...(artifactType && { artifactType }), ...(annotations && { annotations }) };
}
