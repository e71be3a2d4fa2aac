// The upload protocol as the client speaks it, seen from a fake registry that records every
// request: which requests, in which order, where (relative or absolute Location), and how the
// body travels (one buffered PUT, or a chunked PATCH with nothing buffered).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createRegistryClient } from './client.js';
import { sha256Digest } from '../oci/digest.js';
import { DigestMismatchError } from '../errors.js';

interface Seen { method: string; path: string; chunked: boolean; length?: string; bytes: number }

let seen: Seen[] = [];
let stored = Buffer.alloc(0);
let absolute = false;
let mountAnswer = 201;
let server: http.Server;
let host: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    const url = new URL(req.url ?? '/', `http://${host}`);
    // Recorded on arrival, so that an aborted request shows too.
    const record: Seen = { method: req.method ?? '', path: url.pathname + url.search, chunked: req.headers['transfer-encoding'] === 'chunked',
      ...(req.headers['content-length'] !== undefined && { length: req.headers['content-length'] }), bytes: 0 };
    seen.push(record);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      record.bytes = body.length;
      const location = (p: string) => (absolute ? `http://${host}${p}` : p);
      if (req.method === 'POST' && url.searchParams.has('mount')) {
        res.writeHead(mountAnswer, { location: location('/v2/ns/app/blobs/uploads/m1?_state=s') });
      } else if (req.method === 'POST') {
        stored = Buffer.alloc(0);
        res.writeHead(202, { location: location('/v2/ns/app/blobs/uploads/u1?_state=a') });
      } else if (req.method === 'PATCH') {
        stored = Buffer.concat([stored, body]);
        res.writeHead(202, { location: location('/v2/ns/app/blobs/uploads/u1?_state=b') });
      } else if (req.method === 'PUT') {
        stored = Buffer.concat([stored, body]);
        res.writeHead(sha256Digest(stored) === url.searchParams.get('digest') ? 201 : 400);
      } else {
        res.writeHead(204);
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
beforeEach(() => { seen = []; });

function chunksOf(data: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

describe('pushBlob', () => {
  const data = Buffer.alloc(300_000, 7);
  const desc = { digest: sha256Digest(data), size: data.length, mediaType: 'application/octet-stream' };

  it.each([
    ['monolithic, relative Location', 1_000_000, false, ['POST', 'PUT']],
    ['monolithic, absolute Location', 1_000_000, true, ['POST', 'PUT']],
    ['streamed, relative Location', 1000, false, ['POST', 'PATCH', 'PUT']],
    ['streamed, absolute Location', 1000, true, ['POST', 'PATCH', 'PUT']],
  ])('%s', async (_name, monolithicMaxBytes, useAbsolute, methods) => {
    absolute = useAbsolute;
    const client = createRegistryClient({ host, plainHttp: true, monolithicMaxBytes });
    try {
      await client.pushBlob('ns/app', desc, chunksOf(data, 16 * 1024));
    } finally {
      client.close();
    }
    expect(seen.map((s) => s.method)).toEqual(methods);
    expect(stored.equals(data)).toBe(true);
    const put = seen.at(-1)!;
    expect(put.path).toMatch(new RegExp(`_state=[ab]&digest=${encodeURIComponent(desc.digest)}$`));
    const patch = seen.find((s) => s.method === 'PATCH');
    if (patch) {
      // Streamed: chunked, no length announced, and the commit carries no body.
      expect(patch).toMatchObject({ chunked: true, bytes: data.length });
      expect(patch.length).toBeUndefined();
      expect(put).toMatchObject({ length: '0', bytes: 0 });
    } else {
      expect(put).toMatchObject({ length: String(data.length), bytes: data.length });
    }
  });

  it.each([
    // Monolithic content is checked before anything is sent: nothing to cancel.
    ['monolithic', 1_000_000, []],
    ['streamed', 1000, ['POST', 'PATCH', 'DELETE']],
  ])('a %s upload of wrong content fails with DigestMismatchError, never commits, and is cancelled', async (_name, monolithicMaxBytes, methods) => {
    absolute = false;
    const client = createRegistryClient({ host, plainHttp: true, monolithicMaxBytes });
    const wrong = Buffer.from(data);
    wrong[1000] = 0;
    try {
      const error = await client.pushBlob('ns/app', desc, chunksOf(wrong, 16 * 1024)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DigestMismatchError);
    } finally {
      client.close();
    }
    // Sorted: the server shares this process, so the aborted PATCH and the DELETE may be
    // seen in either order.
    expect(seen.map((s) => s.method).sort()).toEqual([...methods].sort());
    expect(seen.some((s) => s.method === 'PUT')).toBe(false);
  });
});

describe('mountBlob', () => {
  it.each([
    ['mounted (201)', 201, true, ['POST']],
    ['an upload opened instead (202), then cancelled', 202, false, ['POST', 'DELETE']],
  ])('%s', async (_name, status, expected, methods) => {
    mountAnswer = status;
    const client = createRegistryClient({ host, plainHttp: true });
    try {
      expect(await client.mountBlob('ns/app', sha256Digest('x'), 'ns/other')).toBe(expected);
    } finally {
      client.close();
    }
    expect(seen.map((s) => s.method)).toEqual(methods);
    expect(seen[0]!.path).toBe(`/v2/ns/app/blobs/uploads/?mount=${encodeURIComponent(sha256Digest('x'))}&from=ns%2Fother`);
  });
});
