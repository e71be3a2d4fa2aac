// The registry client under faults, seen from a small server that misbehaves on demand: the
// retry policy (which requests are sent again, how often, Retry-After), the deadlines (an
// answer that never comes, a body that stalls), resuming a broken blob download with a Range
// request, and the run's signal ending everything. Pure protocol: the fault suite
// (test/faults/) runs the same faults against the real registry.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { sha256Digest } from '../oci/digest.js';
import { createRegistryClient } from './client.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;
let handler: Handler;
let requests: Array<{ method: string; range?: string }> = [];
let server: http.Server;
let host: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', ...(req.headers.range && { range: req.headers.range }) });
    req.resume();
    req.on('end', () => handler(req, res, requests.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
beforeEach(() => { requests = []; });

const fast = { attempts: 4, baseMs: 10, maxMs: 50 };
const blob = Buffer.alloc(256 * 1024);
for (let i = 0; i < blob.length; i++) blob[i] = (i * 31) % 251;
const digest = sha256Digest(blob);
const client = (opts: Partial<Parameters<typeof createRegistryClient>[0]> = {}) => createRegistryClient({ host, plainHttp: true, retry: fast, ...opts });

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Serves `blob` from the byte the Range header asks for (206), or whole (200) when `honourRange` is false. */
function serveBlob(res: http.ServerResponse, req: http.IncomingMessage, opts: { cutAfter?: number; honourRange?: boolean } = {}): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const from = m && opts.honourRange !== false ? Number(m[1]) : 0;
  const body = blob.subarray(from);
  res.writeHead(from > 0 ? 206 : 200, { 'content-length': String(body.length) });
  if (opts.cutAfter === undefined) return void res.end(body);
  res.write(body.subarray(0, opts.cutAfter));
  setTimeout(() => res.socket?.destroy(), 20);
}

describe('the registry client under faults', () => {
  it.each([
    { name: '503', status: 503 }, { name: '429', status: 429 }, { name: '502', status: 502 }, { name: '408', status: 408 },
  ])('sends a manifest read again after a $name, with backoff, until it succeeds', async ({ status }) => {
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: 1 }, layers: [] }));
    handler = (_req, res, n) => {
      if (n <= 2) return void res.writeHead(status).end();
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
    };
    const told: string[] = [];
    const c = client({ onRequest: (method, url) => told.push(`${method} ${url.pathname}`) });
    try {
      expect((await c.getManifest('ns/app', sha256Digest(manifest))).bytes.equals(manifest)).toBe(true);
    } finally {
      c.close();
    }
    expect(requests).toHaveLength(3);
    // Every try is told, as the benchmark's request profile counts them.
    expect(told).toEqual(Array(3).fill(`GET /v2/ns/app/manifests/${sha256Digest(manifest)}`));
  });

  it('gives up after the policy\'s attempts with a transient error naming the status', async () => {
    handler = (_req, res) => res.writeHead(503).end('{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}');
    const c = client();
    try {
      await expect(c.getManifest('ns/app', digest)).rejects.toMatchObject({ kind: 'Transient', message: expect.stringMatching(/HTTP 503.*UNAVAILABLE: maintenance/) });
    } finally {
      c.close();
    }
    expect(requests).toHaveLength(fast.attempts);
  });

  it('waits what Retry-After asks before the next try', async () => {
    const at: number[] = [];
    handler = (_req, res, n) => {
      at.push(Date.now());
      if (n === 1) return void res.writeHead(429, { 'retry-after': '1' }).end();
      res.writeHead(200).end();
    };
    const c = client({ retry: { attempts: 3, baseMs: 10, maxMs: 5_000 } });
    try {
      expect(await c.hasBlob('ns/app', digest)).toBe(true);
    } finally {
      c.close();
    }
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(950);
  });

  it.each([
    { name: 'a 404', status: 404 }, { name: 'a 401 without credentials', status: 401 }, { name: 'a 400', status: 400 },
  ])('does not send a request again after $name', async ({ status }) => {
    handler = (_req, res) => res.writeHead(status).end();
    const c = client();
    try {
      await c.getManifest('ns/app', digest).catch(() => undefined);
    } finally {
      c.close();
    }
    expect(requests).toHaveLength(1);
  });

  it('does not send a streamed body again: its source is gone (the caller starts over)', async () => {
    handler = (req, res) => {
      if (req.method === 'POST') return void res.writeHead(202, { location: '/v2/ns/app/blobs/uploads/u1' }).end();
      res.writeHead(503).end();
    };
    const c = client({ monolithicMaxBytes: 1 });
    try {
      await expect(c.pushBlob('ns/app', { digest, size: blob.length, mediaType: 'x' }, Readable.from([blob]))).rejects.toMatchObject({ kind: 'Transient' });
    } finally {
      c.close();
    }
    expect(requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  it('fails a request whose answer does not come within the request timeout, and tries it again', async () => {
    handler = (_req, res, n) => { if (n > 1) res.writeHead(200).end(); };
    const c = client({ requestTimeoutMs: 200 });
    try {
      expect(await c.hasBlob('ns/app', digest)).toBe(true);
    } finally {
      c.close();
    }
    expect(requests).toHaveLength(2);
  });

  it('resumes a blob whose body breaks from the byte where it stopped, with a Range request', async () => {
    handler = (req, res, n) => serveBlob(res, req, n === 1 ? { cutAfter: 100_000 } : {});
    const c = client();
    try {
      const got = await readAll(await c.getBlob('ns/app', digest, { verify: { digest, size: blob.length } }));
      expect(got.equals(blob)).toBe(true);
    } finally {
      c.close();
    }
    expect(requests).toHaveLength(2);
    expect(requests[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(requests[1]!.range!)![0])).toBeGreaterThan(0);
  });

  it('skips what it has when the server ignores the Range and sends the blob from the start', async () => {
    handler = (req, res, n) => serveBlob(res, req, { honourRange: false, ...(n === 1 && { cutAfter: 100_000 }) });
    const c = client();
    try {
      expect((await readAll(await c.getBlob('ns/app', digest, { verify: { digest, size: blob.length } }))).equals(blob)).toBe(true);
    } finally {
      c.close();
    }
  });

  it('treats a body that stalls past the idle timeout as broken, and resumes it', async () => {
    handler = (req, res, n) => {
      if (n === 1) {
        res.writeHead(200, { 'content-length': String(blob.length) });
        res.write(blob.subarray(0, 1000)); // then nothing
        return;
      }
      serveBlob(res, req);
    };
    const c = client({ idleTimeoutMs: 300 });
    try {
      expect((await readAll(await c.getBlob('ns/app', digest))).equals(blob)).toBe(true);
    } finally {
      c.close();
    }
    expect(requests).toHaveLength(2);
  });

  it('ends every request when the run\'s signal is aborted', async () => {
    const ac = new AbortController();
    // Never answers; the run is cancelled once the request is in (not after a time a busy machine may not meet).
    handler = () => { ac.abort(new DOMException('the run was cancelled', 'AbortError')); };
    const c = client({ signal: ac.signal });
    const pending = c.hasBlob('ns/app', digest);
    try {
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      c.close();
    }
    expect(requests).toHaveLength(1);
  });
});
