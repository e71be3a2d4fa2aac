// Finds what is attached to a manifest in a repository: its OCI 1.1 referrers (the referrers
// API; where the registry does not serve it, or a client wrote the fallback anyway, the index
// tagged `sha256-<hex>`) and cosign's tags of its digest (`sha256-<hex>.sig`, `.att`,
// `.sbom`). The repository's tags are listed once per backup: a fallback or cosign tag that
// is not in the list is not asked for.
import type { Registry } from '../contracts.js';
import { StalledError } from '../errors.js';
import { parseManifest } from '../oci/manifest.js';
import { cosignTags, fallbackTag } from '../bundle/format.js';

/** One manifest attached to a subject, with the cosign tags that name it. */
export interface FoundReferrer {
  digest: string;
  mediaType: string;
  tags: string[];
}

export class ReferrerFinder {
  private readonly tags = new Map<string, Promise<Set<string>>>(); // repo
  private readonly found = new Map<string, Promise<FoundReferrer[]>>(); // repo@subject

  constructor(private readonly registry: Registry) {}

  /** Images that share a manifest in one repository ask once. */
  find(repo: string, subject: string): Promise<FoundReferrer[]> {
    const key = `${repo}@${subject}`;
    let p = this.found.get(key);
    if (!p) {
      p = this.lookUp(repo, subject);
      this.found.set(key, p);
      // A failure that may pass is asked again by the next image that needs it.
      p.catch(() => this.found.delete(key));
    }
    return p;
  }

  private async lookUp(repo: string, subject: string): Promise<FoundReferrer[]> {
    const out = new Map<string, FoundReferrer>();
    const add = (digest: string, mediaType: string, tag?: string) => {
      const known = out.get(digest) ?? { digest, mediaType, tags: [] };
      if (tag && !known.tags.includes(tag)) known.tags.push(tag);
      out.set(digest, known);
    };
    const [listed, tags] = await Promise.all([this.registry.listReferrers(repo, subject), this.tagsOf(repo)]);
    for (const d of listed ?? []) add(d.digest, d.mediaType);
    const fallback = fallbackTag(subject);
    if (tags.has(fallback)) {
      const index = await this.registry.getTaggedManifest(repo, fallback);
      if (index) {
        const parsed = parseManifest(index);
        if (parsed.kind !== 'index') {
          throw new StalledError('InvalidManifest', `tag ${repo}:${fallback} (the referrers fallback tag of ${subject}) is not an image index`);
        }
        for (const m of parsed.manifests) add(m.digest, m.mediaType);
      }
    }
    for (const tag of cosignTags(subject)) {
      if (!tags.has(tag)) continue;
      const manifest = await this.registry.getTaggedManifest(repo, tag);
      // Deleted between the listing and now: nothing to keep.
      if (manifest) add(manifest.digest, manifest.mediaType, tag);
    }
    return [...out.values()];
  }

  private tagsOf(repo: string): Promise<Set<string>> {
    let p = this.tags.get(repo);
    if (!p) {
      p = this.registry.listTags(repo).then((list) => new Set(list));
      this.tags.set(repo, p);
      p.catch(() => this.tags.delete(repo));
    }
    return p;
  }
}
