// What getManifest does with answers a conforming registry would not give (a distribution
// registry refuses to store schema 1 or to serve wrong bytes), from a small fake server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRegistryClient } from './client.js';
import { sha256Digest } from '../oci/digest.js';
import { DOCKER_SCHEMA1_SIGNED, OCI_MANIFEST } from '../oci/mediaTypes.js';
import { DigestMismatchError, StalledError, TransientError, type ReconcileError } from '../errors.js';

const image = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: OCI_MANIFEST,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 2 },
  layers: [],
}));
const imageWithoutMediaType = Buffer.from(JSON.stringify({
  schemaVersion: 2,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 2 },
  layers: [],
}));
const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'ns/app', tag: 'latest', fsLayers: [], history: [] }));

interface Answer { status?: number; body: Buffer; headers?: Record<string, string> }
let answer: Answer;
let server: http.Server;
let host: string;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.writeHead(answer.status ?? 200, { 'content-length': answer.body.length, ...answer.headers });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));

async function get(a: Answer, digest: string) {
  answer = a;
  const client = createRegistryClient({ host, plainHttp: true });
  try {
    return await client.getManifest('ns/app', digest);
  } finally {
    client.close();
  }
}

describe('getManifest', () => {
  it.each([
    ['keeps the served media type and exact bytes', { body: image, headers: { 'content-type': OCI_MANIFEST } }, OCI_MANIFEST],
    ['reads the media type from the JSON when served as application/json', { body: image, headers: { 'content-type': 'application/json; charset=utf-8' } }, OCI_MANIFEST],
    ['classifies by shape when neither names it', { body: imageWithoutMediaType, headers: {} }, OCI_MANIFEST],
  ])('%s', async (_name, a, mediaType) => {
    const digest = sha256Digest(a.body);
    const raw = await get(a, digest);
    expect(raw.mediaType).toBe(mediaType);
    expect(raw.digest).toBe(digest);
    expect(raw.bytes.equals(a.body)).toBe(true);
  });

  it.each([
    ['a schema 1 manifest', { body: schema1, headers: { 'content-type': DOCKER_SCHEMA1_SIGNED } }, sha256Digest(schema1), StalledError, 'UnsupportedManifest', /Docker schema 1/],
    ['a schema 1 manifest served as JSON', { body: schema1, headers: { 'content-type': 'application/json' } }, sha256Digest(schema1), StalledError, 'UnsupportedManifest', /Docker schema 1/],
    ['bytes that are not the digest asked for', { body: image, headers: { 'content-type': OCI_MANIFEST } }, `sha256:${'e'.repeat(64)}`, DigestMismatchError, 'DigestMismatch', /manifest ns\/app@sha256:e+ digest mismatch/],
    ['a Docker-Content-Digest that contradicts', { body: image, headers: { 'content-type': OCI_MANIFEST, 'docker-content-digest': `sha256:${'d'.repeat(64)}` } }, sha256Digest(image), DigestMismatchError, 'DigestMismatch', /Docker-Content-Digest/],
    ['a manifest over 4 MiB', { body: Buffer.alloc(4 * 1024 * 1024 + 1, 32), headers: { 'content-type': OCI_MANIFEST } }, `sha256:${'e'.repeat(64)}`, StalledError, 'ResponseTooLarge', /exceeds the 4194304 bytes limit/],
    ['an unknown manifest', { status: 404, body: Buffer.from(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] })) }, sha256Digest(image), StalledError, 'ManifestNotFound', /MANIFEST_UNKNOWN/],
    ['a registry in trouble', { status: 502, body: Buffer.from('bad gateway') }, sha256Digest(image), TransientError, 'RegistryUnavailable', /HTTP 502/],
  ])('refuses %s', async (_name, a, digest, errorClass, reason, message) => {
    const error = await get(a, digest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errorClass);
    expect((error as ReconcileError).reason).toBe(reason);
    expect((error as Error).message).toMatch(message);
  });

  it('fails as a TransientError naming the host when nothing listens', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedHost = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const client = createRegistryClient({ host: closedHost, plainHttp: true });
    const error = await client.getManifest('ns/app', sha256Digest(image)).catch((e: unknown) => e);
    client.close();
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain(`cannot reach ${closedHost}: ECONNREFUSED`);
  });
});
