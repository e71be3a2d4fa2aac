// Image references as ImageStreams hold them: `host[:port]/namespace/name@sha256:<hex>`.
// Only digest references are accepted: a tag may move, and a backup must name exact bytes.
import { StalledError } from '../errors.js';
import { isDigest } from './digest.js';

export interface ImageReference {
  host: string; // host[:port], as written
  repository: string; // path without the host
  digest: string;
  /** A tag written next to the digest (`name:tag@sha256:...`); informative, the digest wins. */
  tag?: string;
}

// The distribution spec's grammar for repository names and tags.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;
const DIGEST_HINT = 'must be a digest reference (...@sha256:<64 hex>)';

export function isRepositoryName(value: string): boolean {
  return value.length <= 255 && REPOSITORY.test(value);
}

export function isTag(value: string): boolean {
  return TAG.test(value);
}

export function parseReference(ref: string): ImageReference {
  const shown = JSON.stringify(ref.length > 300 ? `${ref.slice(0, 300)}...` : ref);
  const at = ref.indexOf('@');
  let name = ref;
  let digest: string | undefined;
  if (at >= 0) {
    name = ref.slice(0, at);
    digest = ref.slice(at + 1);
    const shownDigest = JSON.stringify(digest.slice(0, 100));
    if (!isDigest(digest)) throw invalid(`image reference ${shown} ${DIGEST_HINT}, got digest ${shownDigest}`);
  }

  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  if (digest === undefined) {
    throw invalid(tag === undefined
      ? `image reference ${shown} ${DIGEST_HINT}, got a name without a digest`
      : `image reference ${shown} ${DIGEST_HINT}, got a tag`);
  }
  if (tag !== undefined && !isTag(tag)) throw invalid(`image reference ${shown} has an invalid tag`);

  const slash = name.indexOf('/');
  const host = slash > 0 ? name.slice(0, slash) : '';
  if (!looksLikeHost(host)) {
    throw invalid(`image reference ${shown} must start with the registry host (host[:port]/namespace/name@sha256:<64 hex>)`);
  }
  const repository = name.slice(slash + 1);
  if (!isRepositoryName(repository)) {
    throw invalid(`image reference ${shown} has an invalid repository name ${JSON.stringify(repository)} `
      + '(lowercase letters, digits and separators . _ - /)');
  }
  return { host, repository, digest, ...(tag !== undefined && { tag }) };
}

/** Docker's rule: the first path component is a registry host when it has a dot, a port, or is localhost. */
function looksLikeHost(value: string): boolean {
  if (!HOST.test(value)) return false;
  return value.includes('.') || value.includes(':') || value.startsWith('[') || value === 'localhost';
}

function invalid(message: string): StalledError {
  return new StalledError('InvalidReference', message);
}
