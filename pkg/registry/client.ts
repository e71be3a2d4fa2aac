// The registry client the data path uses (OCI distribution API v2). One instance per registry
// and run: it keeps sockets and tokens; close() releases the sockets.
import { readFileSync } from 'node:fs';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Descriptor, RawManifest, ReferrerDescriptor, Registry, RegistryOptions } from '../contracts.js';
import { DigestMismatchError, StalledError } from '../errors.js';
import { isDigest, parseDigest, sha256Digest } from '../oci/digest.js';
import { parseManifest, refuseSchema1 } from '../oci/manifest.js';
import { MANIFEST_MEDIA_TYPES, OCI_INDEX } from '../oci/mediaTypes.js';
import { isRepositoryName, isTag } from '../oci/reference.js';
import { verifyingStream } from '../oci/verifyingStream.js';
import { resumable, type Opened } from '../resumable.js';
import type { RetryPolicy } from '../retry.js';
import { Authenticator, repositoryScope } from './auth.js';
import { registryBaseUrl } from './origin.js';
import { Session } from './session.js';
import { drain, HttpTransport, mapNetworkError, readBody } from './transport.js';
import { mountBlob, pushBlob } from './upload.js';

export interface RegistryClientOptions extends RegistryOptions {
  /** Blobs up to this size are uploaded in one buffered PUT; larger ones are streamed. */
  monolithicMaxBytes?: number;
  maxSockets?: number;
  /** Time to the response headers, once a request is sent. */
  requestTimeoutMs?: number;
  /** A socket (a body included) with no byte for this long fails. */
  idleTimeoutMs?: number;
  retry?: RetryPolicy;
  /** Ends every request of this client: a client serves one run. */
  signal?: AbortSignal;
  userAgent?: string;
  /** Tags asked per page of tags/list (the `n` parameter). */
  tagsPageSize?: number;
  /** Told of every request sent, each try and token request included (the benchmark counts them). */
  onRequest?: (method: string, url: URL) => void;
}

export interface GetBlobOptions {
  /** When given, the stream fails at its end with DigestMismatchError unless the content matches. */
  verify?: Pick<Descriptor, 'digest' | 'size'>;
}

export const MANIFEST_LIMIT = 4 * 1024 * 1024;
const TAGS_PAGE_LIMIT = 8 * 1024 * 1024;
const TAGS_PAGE_SIZE = 1000;
/** A blob up to this size is read whole (and checked) before one PUT; a larger one streams in chunks. */
export const DEFAULT_MONOLITHIC_MAX = 8 * 1024 * 1024;

export class RegistryClient implements Registry {
  readonly host: string;
  private readonly transport: HttpTransport;
  private readonly session: Session;
  private readonly monolithicMax: number;
  private readonly tagsPageSize: number;
  private readonly idleTimeoutMs: number | undefined;

  constructor(opts: RegistryClientOptions) {
    const base = registryBaseUrl(opts.host, opts.plainHttp);
    this.host = base.host;
    this.monolithicMax = opts.monolithicMaxBytes ?? DEFAULT_MONOLITHIC_MAX;
    this.tagsPageSize = opts.tagsPageSize ?? TAGS_PAGE_SIZE;
    const ca = opts.ca ?? (opts.caFile ? readCaFile(opts.caFile) : undefined);
    this.transport = new HttpTransport({
      ...(ca && { ca }),
      ...(opts.insecureSkipTLSVerify && { insecureSkipTLSVerify: true }),
      ...(opts.maxSockets && { maxSockets: opts.maxSockets }),
      ...(opts.requestTimeoutMs && { requestTimeoutMs: opts.requestTimeoutMs }),
      ...(opts.idleTimeoutMs && { idleTimeoutMs: opts.idleTimeoutMs }),
      ...(opts.retry && { retry: opts.retry }),
      ...(opts.signal && { signal: opts.signal }),
      ...(opts.onRequest && { onRequest: opts.onRequest }),
    });
    this.idleTimeoutMs = opts.idleTimeoutMs;
    const userAgent = opts.userAgent ?? 'imagestream-backup';
    const auth = new Authenticator({
      registry: base, transport: this.transport, userAgent,
      ...(opts.username !== undefined && { username: opts.username }),
      ...(opts.password !== undefined && { password: opts.password }),
    });
    this.session = new Session(base, this.transport, auth, userAgent);
  }

  /** Fetches a manifest or index by digest, exactly as stored; schema 1 is refused. */
  async getManifest(repo: string, digest: string): Promise<RawManifest> {
    checkRepo(repo);
    parseDigest(digest);
    const what = `getting manifest ${repo}@${digest}`;
    const res = await this.session.request({
      method: 'GET', what, url: `/v2/${repo}/manifests/${digest}`, scopes: [repositoryScope(repo, 'pull')],
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') }, followRedirects: true,
    });
    if (res.statusCode !== 200) throw await this.session.fail(res, what);
    const served = contentType(res);
    const bytes = await readBody(res, MANIFEST_LIMIT, what, this.host);
    const name = `manifest ${repo}@${digest}`;
    // Schema 1 first: its registry digest is not the digest of its bytes, and the real
    // problem is the format.
    refuseSchema1(served, name);
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new DigestMismatchError(digest, actual, name);
    const announced = res.headers['docker-content-digest'];
    if (typeof announced === 'string' && isDigest(announced) && announced !== digest) {
      throw new DigestMismatchError(digest, `${announced} (Docker-Content-Digest)`, name);
    }
    const parsed = parseManifest({ bytes, digest, ...(served && { mediaType: served }) });
    return { bytes, mediaType: parsed.mediaType, digest };
  }

  /**
   * Streams a blob, following redirects (credentials never leave the registry host). A body that
   * breaks is picked up where it stopped (a Range request), under the retry policy. Not
   * verified unless `opts.verify` is given; the caller must consume or destroy the stream.
   */
  async getBlob(repo: string, digest: string, opts: GetBlobOptions = {}): Promise<Readable> {
    checkRepo(repo);
    parseDigest(digest);
    const what = `getting blob ${digest} from ${repo}`;
    const open = async (offset: number): Promise<Opened> => {
      const res = await this.session.request({
        method: 'GET', what, url: `/v2/${repo}/blobs/${digest}`, scopes: [repositoryScope(repo, 'pull')], followRedirects: true,
        ...(offset > 0 && { headers: { range: `bytes=${offset}-` } }),
      });
      // 206: the range was honoured; 200: the whole blob again (the reader skips what it has).
      if (res.statusCode === 206) return { stream: guardBody(res, this.host), offset };
      if (res.statusCode !== 200) throw await this.session.fail(res, what);
      return { stream: guardBody(res, this.host), offset: 0 };
    };
    const body = resumable((await open(0)).stream, open, {
      what: `blob ${digest} from ${this.host}/${repo}`, policy: this.transport.retry,
      ...(this.idleTimeoutMs && { idleTimeoutMs: this.idleTimeoutMs }),
      ...(this.transport.signal && { signal: this.transport.signal }),
    });
    if (!opts.verify) return body;
    const verified = verifyingStream(opts.verify, `blob ${digest} from ${repo}`);
    return pipeline(body, verified, () => {});
  }

  /** Requests sent so far (each try counts). */
  get requests(): number {
    return this.transport.requests;
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    checkRepo(repo);
    parseDigest(digest);
    const what = `checking blob ${digest} in ${repo}`;
    const res = await this.session.request({
      method: 'HEAD', what, url: `/v2/${repo}/blobs/${digest}`, scopes: [repositoryScope(repo, 'pull')],
    });
    const status = res.statusCode ?? 0;
    // A redirect means the registry found the blob and points at its storage; following it
    // would not help (a pre-signed GET URL refuses HEAD).
    const found = status === 200 || (status >= 300 && status < 400) ? true : status === 404 ? false : undefined;
    if (found === undefined) throw await this.session.fail(res, what);
    drain(res);
    return found;
  }

  async mountBlob(repo: string, digest: string, fromRepo: string): Promise<boolean> {
    checkRepo(repo);
    checkRepo(fromRepo);
    parseDigest(digest);
    return mountBlob(this.session, repo, digest, fromRepo);
  }

  /**
   * Uploads a blob; the caller checks hasBlob/mountBlob first. Fails with DigestMismatchError
   * (and cancels the upload) when the body does not match `desc`.
   */
  async pushBlob(repo: string, desc: Descriptor, body: Readable): Promise<void> {
    checkRepo(repo);
    parseDigest(desc.digest);
    return pushBlob(this.session, repo, desc, body, this.monolithicMax);
  }

  /** PUTs the exact bytes under a digest or a tag; returns the manifest's digest. */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    checkRepo(repo);
    const digest = sha256Digest(bytes);
    const shown = JSON.stringify(reference.slice(0, 200));
    if (isDigest(reference)) {
      if (reference !== digest) throw new DigestMismatchError(reference, digest, `manifest for ${repo}`);
    } else if (!isTag(reference)) {
      throw new StalledError('InvalidReference', `${shown} is neither a digest nor a valid tag`);
    }
    const what = `putting manifest ${repo}:${reference}`;
    const res = await this.session.request({
      method: 'PUT', what, url: `/v2/${repo}/manifests/${reference}`, scopes: [repositoryScope(repo, 'pull,push')],
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) }, body: bytes,
    });
    if (res.statusCode !== 201 && res.statusCode !== 200) throw await this.session.fail(res, what);
    drain(res);
    const stored = res.headers['docker-content-digest'];
    if (typeof stored === 'string' && isDigest(stored) && stored !== digest) {
      throw new DigestMismatchError(digest, `${stored} (stored by the registry)`, `manifest ${repo}:${reference}`);
    }
    return digest;
  }

  /** All tags of a repository, across pages; [] when the repository does not exist. */
  async listTags(repo: string): Promise<string[]> {
    checkRepo(repo);
    const what = `listing tags of ${repo}`;
    const tags: string[] = [];
    const seen = new Set<string>();
    let url: URL | undefined = this.session.url(`/v2/${repo}/tags/list`, { n: String(this.tagsPageSize) });
    while (url && !seen.has(url.href)) {
      seen.add(url.href);
      const res = await this.session.request({ method: 'GET', what, url, scopes: [repositoryScope(repo, 'pull')], followRedirects: true });
      if (res.statusCode === 404) {
        drain(res);
        return tags;
      }
      if (res.statusCode !== 200) throw await this.session.fail(res, what);
      const next = nextLink(res.headers.link, url);
      const body = await readBody(res, TAGS_PAGE_LIMIT, what, this.host);
      const doc = parseJson(body, what, this.host) as { tags?: unknown };
      if (Array.isArray(doc.tags)) tags.push(...doc.tags.filter((t): t is string => typeof t === 'string'));
      url = next;
    }
    return tags;
  }

  /** A manifest by tag, exactly as stored; undefined when the tag (or the repository) does not exist. Schema 1 is refused. */
  async getTaggedManifest(repo: string, tag: string): Promise<RawManifest | undefined> {
    checkRepo(repo);
    if (!isTag(tag)) throw new StalledError('InvalidReference', `${JSON.stringify(tag.slice(0, 200))} is not a valid tag`);
    const what = `getting manifest ${repo}:${tag}`;
    const res = await this.session.request({
      method: 'GET', what, url: `/v2/${repo}/manifests/${tag}`, scopes: [repositoryScope(repo, 'pull')],
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') }, followRedirects: true,
    });
    if (res.statusCode === 404) {
      drain(res);
      return undefined;
    }
    if (res.statusCode !== 200) throw await this.session.fail(res, what);
    const served = contentType(res);
    const bytes = await readBody(res, MANIFEST_LIMIT, what, this.host);
    const name = `manifest ${repo}:${tag}`;
    refuseSchema1(served, name);
    // A tag names whatever bytes it points at now: their digest is the identity kept.
    const digest = sha256Digest(bytes);
    const announced = res.headers['docker-content-digest'];
    if (typeof announced === 'string' && isDigest(announced) && announced !== digest) {
      throw new DigestMismatchError(announced, digest, name);
    }
    const parsed = parseManifest({ bytes, digest, ...(served && { mediaType: served }) });
    return { bytes, mediaType: parsed.mediaType, digest };
  }

  /**
   * The referrers of `digest` (GET /v2/<repo>/referrers/<digest>, across pages), or undefined
   * when the registry does not serve the referrers API (it answers 404, 400, 405 or 501 there,
   * or refuses the route; a registry that serves it answers 200, an empty list when there is none).
   */
  async listReferrers(repo: string, digest: string): Promise<ReferrerDescriptor[] | undefined> {
    checkRepo(repo);
    parseDigest(digest);
    const what = `listing referrers of ${repo}@${digest}`;
    const out: ReferrerDescriptor[] = [];
    const seen = new Set<string>();
    let url: URL | undefined = this.session.url(`/v2/${repo}/referrers/${digest}`);
    while (url && !seen.has(url.href)) {
      seen.add(url.href);
      let res;
      try {
        res = await this.session.request({
          method: 'GET', what, url, scopes: [repositoryScope(repo, 'pull')], headers: { accept: OCI_INDEX }, followRedirects: true,
        });
      } catch (err) {
        // The image was just read with the same scope: a refusal here is of the route, not of the credentials.
        if (seen.size === 1 && err instanceof StalledError && err.reason === 'RegistryUnauthorized') return undefined;
        throw err;
      }
      if (seen.size === 1 && [400, 401, 403, 404, 405, 501].includes(res.statusCode ?? 0)) {
        drain(res);
        return undefined;
      }
      if (res.statusCode !== 200) throw await this.session.fail(res, what);
      const next = nextLink(res.headers.link, url);
      const body = await readBody(res, MANIFEST_LIMIT, what, this.host);
      const list = parseManifest({ bytes: body, mediaType: OCI_INDEX, digest: `referrers of ${digest}` });
      if (list.kind !== 'index') throw new StalledError('RegistryRejected', `registry ${this.host} answered ${what} with something that is not an image index`);
      for (const m of list.manifests) {
        out.push({
          digest: m.digest, size: m.size, mediaType: m.mediaType,
          ...(m.artifactType && { artifactType: m.artifactType }), ...(m.annotations && { annotations: m.annotations }),
        });
      }
      url = next;
    }
    return out;
  }

  /** Closes idle keep-alive sockets; the client is unusable afterwards. */
  close(): void {
    this.transport.destroy();
  }
}

export function createRegistryClient(opts: RegistryClientOptions): RegistryClient {
  return new RegistryClient(opts);
}

function readCaFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new StalledError('RegistryTLS', `cannot read the registry CA file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

function checkRepo(repo: string): void {
  if (!isRepositoryName(repo)) {
    throw new StalledError('InvalidReference', `invalid repository name ${JSON.stringify(repo.slice(0, 300))}`);
  }
}

function contentType(res: IncomingMessage): string | undefined {
  const value = res.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return value || undefined;
}

/** `Link: </v2/x/tags/list?last=a&n=1000>; rel="next"`, resolved against the page's URL. */
export function nextLink(header: string | string[] | undefined, current: URL): URL | undefined {
  if (!header) return undefined;
  for (const part of [header].flat().join(',').split(',')) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /\brel="?next"?/i.test(m[2]!)) return new URL(m[1]!, current);
  }
  return undefined;
}

function parseJson(body: Buffer, what: string, host: string): Record<string, unknown> {
  try {
    const doc: unknown = JSON.parse(body.toString('utf8'));
    if (typeof doc === 'object' && doc !== null) return doc as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new StalledError('RegistryRejected', `registry ${host} answered ${what} with something that is not a JSON object`);
}

/**
 * Hands out the body as a plain stream whose errors are ours (a lost connection is a
 * TransientError naming the host); destroying it frees the socket.
 */
function guardBody(res: IncomingMessage, host: string): Readable {
  const out = new PassThrough();
  const fail = (err: unknown) => {
    if (!out.destroyed) out.destroy(mapNetworkError(err, host));
    res.destroy();
  };
  res.on('error', fail);
  // A body cut short without an error event (the server closed the connection) is a failure too.
  res.on('aborted', () => fail(Object.assign(new Error('connection closed before the end of the body'), { code: 'ECONNRESET' })));
  out.on('close', () => { if (!res.complete) res.destroy(); });
  res.pipe(out);
  return out;
}
