// The referrers API as the OCI distribution spec 1.1 words it, from a small server that speaks
// it: the stack's registry (distribution v3.1) does not serve it, so the integration tests
// cover the fallback tag and this covers the API's pages, its shape, and "not served".
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRegistryClient } from './client.js';
import { OCI_INDEX, OCI_MANIFEST } from '../oci/mediaTypes.js';
import { StalledError } from '../errors.js';

const subject = `sha256:${'a'.repeat(64)}`;
const sig = { mediaType: OCI_MANIFEST, digest: `sha256:${'b'.repeat(64)}`, size: 500, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' };
const sbom = { mediaType: OCI_MANIFEST, digest: `sha256:${'c'.repeat(64)}`, size: 600, artifactType: 'application/spdx+json', annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' } };

let server: http.Server;
let host: string;
const seen: string[] = [];

function index(manifests: object[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.url} ${req.headers.accept}`);
    const send = (status: number, body: Buffer | string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': OCI_INDEX, 'content-length': Buffer.byteLength(body), ...headers });
      res.end(body);
    };
    if (req.url === `/v2/paged/referrers/${subject}`) return send(200, index([sig]), { link: `</v2/paged/referrers/${subject}?last=1>; rel="next"` });
    if (req.url === `/v2/paged/referrers/${subject}?last=1`) return send(200, index([sbom]));
    if (req.url === `/v2/none/referrers/${subject}`) return send(200, index([]));
    if (req.url === `/v2/old/referrers/${subject}`) return send(404, '404 page not found', { 'content-type': 'text/plain' });
    if (req.url === `/v2/denied/referrers/${subject}`) return send(403, '{"errors":[{"code":"DENIED"}]}', { 'content-type': 'application/json' });
    if (req.url === `/v2/broken/referrers/${subject}`) return send(200, '{"schemaVersion":2,"manifests":[{"digest":"nope"}]}');
    return send(500, 'unexpected');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));

async function list(repo: string) {
  const client = createRegistryClient({ host, plainHttp: true, retry: { attempts: 1, baseMs: 1, maxMs: 1 } });
  try {
    return await client.listReferrers(repo, subject);
  } finally {
    client.close();
  }
}

test('follows the Link header across pages and keeps artifactType and annotations', async () => {
  expect(await list('paged')).toEqual([sig, sbom]);
  expect(seen.filter((s) => s.startsWith('/v2/paged/')).every((s) => s.endsWith(OCI_INDEX))).toBe(true);
});

test('an empty list is an answer: the API is served and there is nothing', async () => {
  expect(await list('none')).toEqual([]);
});

test('a registry without the API (404 on the route, or a refusal of the route alone) gives undefined, so the fallback tag is read', async () => {
  expect(await list('old')).toBeUndefined();
  expect(await list('denied')).toBeUndefined();
});

test('a list that is not an image index of descriptors is refused', async () => {
  await expect(list('broken')).rejects.toBeInstanceOf(StalledError);
});
