// Blob uploads: cross-repository mount, monolithic POST+PUT for small blobs (one buffered
// body, safe to resend after an auth challenge), and for large ones a single streamed PATCH
// that hashes as it goes, so memory stays flat whatever the blob size.
import type { IncomingMessage } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import type { Descriptor } from '../contracts.js';
import { StalledError } from '../errors.js';
import { readVerified, verifyingStream } from '../oci/verifyingStream.js';
import { repositoryScope } from './auth.js';
import type { Session } from './session.js';
import { drain } from './transport.js';

export async function mountBlob(session: Session, repo: string, digest: string, fromRepo: string): Promise<boolean> {
  const what = `mounting blob ${digest} from ${fromRepo} into ${repo}`;
  const res = await session.request({
    method: 'POST', what,
    url: session.url(`/v2/${repo}/blobs/uploads/`, { mount: digest, from: fromRepo }),
    scopes: [repositoryScope(repo, 'pull,push'), repositoryScope(fromRepo, 'pull')],
    headers: { 'content-length': '0' },
  });
  if (res.statusCode === 201) {
    drain(res);
    return true;
  }
  if (res.statusCode === 202) {
    // The registry could not mount and opened an upload instead: the caller uploads in a
    // fresh session of its own, so this one is cancelled rather than left to expire.
    const location = uploadLocation(session, res, what);
    drain(res);
    await cancelUpload(session, repo, location);
    return false;
  }
  throw await session.fail(res, what);
}

export async function pushBlob(session: Session, repo: string, desc: Descriptor, body: Readable, monolithicMax: number): Promise<void> {
  try {
    await upload(session, repo, desc, body, monolithicMax);
  } catch (err) {
    // The source (often an object-storage GET) must not hold its socket after a failure.
    body.destroy();
    throw err;
  }
}

async function upload(session: Session, repo: string, desc: Descriptor, body: Readable, monolithicMax: number): Promise<void> {
  const what = `pushing blob ${desc.digest} to ${repo}`;
  // Read a small blob first: a body that does not match its descriptor fails before any upload.
  const small = desc.size <= monolithicMax ? await readVerified(body, desc) : undefined;
  const scopes = [repositoryScope(repo, 'pull,push')];

  const started = await session.request({
    method: 'POST', what, url: `/v2/${repo}/blobs/uploads/`, scopes, headers: { 'content-length': '0' },
  });
  if (started.statusCode !== 202) throw await session.fail(started, what);
  let location = uploadLocation(session, started, what);
  drain(started);

  try {
    if (!small) {
      // Chunked transfer of the whole blob in one PATCH; the verifying stream fails the
      // request at its end if the content is not what the descriptor says; a failing source
      // fails it too (pipeline forwards the error, where pipe() would leave it hanging).
      const verified = verifyingStream(desc);
      pipeline(body, verified, () => {});
      const patched = await session.request({
        method: 'PATCH', what, url: location, scopes, once: true,
        headers: { 'content-type': 'application/octet-stream' },
        body: verified,
      });
      if (patched.statusCode !== 202 && patched.statusCode !== 204) throw await session.fail(patched, what);
      location = uploadLocation(session, patched, what);
      drain(patched);
    }
    const commit = new URL(location);
    commit.searchParams.set('digest', desc.digest);
    const done = await session.request({
      method: 'PUT', what, url: commit, scopes, once: true,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(small?.length ?? 0) },
      ...(small && { body: small }),
    });
    if (done.statusCode !== 201) throw await session.fail(done, what);
    drain(done);
  } catch (err) {
    await cancelUpload(session, repo, location);
    throw err;
  }
}

function uploadLocation(session: Session, res: IncomingMessage, what: string): URL {
  const location = res.headers.location;
  if (!location) throw new StalledError('RegistryRejected', `registry ${session.host} sent no upload Location when ${what}`);
  return new URL(location, session.base);
}

/** Best effort: an abandoned upload only costs space until the registry purges it. */
async function cancelUpload(session: Session, repo: string, location: URL): Promise<void> {
  try {
    const res = await session.request({
      method: 'DELETE', what: `cancelling an upload to ${repo}`, url: location, scopes: [repositoryScope(repo, 'pull,push')],
    });
    drain(res);
  } catch {
    // ignored: see above
  }
}
