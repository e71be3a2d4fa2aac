// The fault tools themselves, through one route to the stack's registry: a fault case that
// passes because its fault never struck would prove nothing, so each tool is shown to strike;
// and the checks that end every case are shown to find what they look for.
import { createHash } from 'node:crypto';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { rawS3 } from '../datapath-helpers.js';
import { checkPool, openMultipartUploads } from './checks.js';
import { fixtureRegistryFromEnv, pushImage, type PushedImage } from '../fixture/images.js';
import { request } from '../fixture/http.js';
import { uniqueName } from '../stackEnv.js';
import { openRoute, type Route } from './route.js';
import { openWorld, type FaultWorld } from './world.js';

const KiB = 1024;
let world: FaultWorld;
let route: Route;
let image: PushedImage;
let repo: string;

beforeAll(async () => {
  world = await openWorld();
  route = await openRoute(world.toxiproxy, uniqueName('harness'), world.env.REGISTRY, 'registry', world.env.KUBECONFIG);
  repo = `${uniqueName('harness')}/img`;
  image = await pushImage(world.reg, repo, { layers: [{ seed: repo, size: 1024 * KiB }] });
}, 120_000);

afterAll(async () => {
  await route?.close();
  await world?.close();
});

// A new client per call: keep-alive sockets would hide connection-level faults.
const viaRoute = () => ({ ...fixtureRegistryFromEnv(world.env), host: route.address });
const layer = () => image.layers[0]!;

/** Reads a blob through the route with a fresh connection; resolves with what arrived and how it ended. */
function readBlob(digest: string): Promise<{ status: number; bytes: number; error?: string; ms: number }> {
  const t0 = Date.now();
  const reg = viaRoute();
  return new Promise((resolve) => {
    const req = https.get(`https://${reg.host}/v2/${repo}/blobs/${digest}`, {
      ca: readFileSync(reg.caFile), agent: false,
      headers: { Authorization: 'Basic ' + Buffer.from(`${reg.username}:${reg.password}`).toString('base64') },
    }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: Date.now() - t0 }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, bytes, error: e.message, ms: Date.now() - t0 }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, bytes, error: 'aborted', ms: Date.now() - t0 }));
    });
    req.on('error', (e) => resolve({ status: 0, bytes: 0, error: e.message, ms: Date.now() - t0 }));
  });
}

it('passes requests through unchanged and records them', async () => {
  const r = await readBlob(layer().digest);
  expect(r).toMatchObject({ status: 200, bytes: layer().size });
  expect(route.http.requests.at(-1)).toMatchObject({ method: 'GET', status: 200, bytesOut: layer().size });
});

it('answers a burst of 503s with the distribution error, then lets requests through', async () => {
  const rule = route.http.addRule({ method: 'GET', path: /\/blobs\//, times: 2, action: { kind: 'status', status: 503 } });
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await request(viaRoute(), 'GET', `/v2/${repo}/blobs/${layer().digest}`));
  expect(answers.map((a) => a.status)).toEqual([503, 503, 200]);
  expect(JSON.parse(answers[0]!.body.toString())).toEqual({ errors: [{ code: 'UNAVAILABLE', message: 'service unavailable', detail: null }] });
  expect(rule.fired).toBe(2);
});

it('answers 429 with Retry-After', async () => {
  route.http.addRule({ method: 'GET', path: /\/blobs\//, times: 1, action: { kind: 'status', status: 429, retryAfterSeconds: 7 } });
  const r = await request(viaRoute(), 'GET', `/v2/${repo}/blobs/${layer().digest}`);
  expect(r.status).toBe(429);
  expect(r.headers['retry-after']).toBe('7');
});

it('cuts a response body after K bytes', async () => {
  const rule = route.http.addRule({ method: 'GET', path: /\/blobs\//, times: 1, action: { kind: 'resetResponseBody', afterBytes: 100 * KiB } });
  const r = await readBlob(layer().digest);
  expect(rule.fired).toBe(1);
  expect(r.error).toBeDefined();
  expect(r.bytes).toBeLessThanOrEqual(100 * KiB);
});

it('stalls a response body after K bytes until released', async () => {
  const rule = route.http.addRule({ method: 'GET', path: /\/blobs\//, times: 1, action: { kind: 'stallResponseBody', afterBytes: 100 * KiB } });
  const reading = readBlob(layer().digest);
  await rule.whenFired();
  const stalledAt = Date.now();
  setTimeout(() => rule.release(), 1_000);
  const r = await reading;
  expect(r).toMatchObject({ status: 200, bytes: layer().size });
  expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(950);
});

it('adds 200 ms of latency with toxiproxy', async () => {
  await route.tcp.addToxic('latency', { type: 'latency', attributes: { latency: 200 } });
  try {
    const slow = await readBlob(layer().digest);
    expect(slow.status).toBe(200);
    // Every answer from the server comes 200 ms later: the request takes at least that (a
    // comparison with an unhindered request would measure the machine's load too).
    expect(slow.ms).toBeGreaterThanOrEqual(200);
  } finally {
    await route.tcp.removeToxic('latency');
  }
});

it('takes the server down and up again on the same port, counting the refused connections', async () => {
  await route.tcp.setEnabled(false);
  const start = Date.now();
  const down = await Promise.all([readBlob(layer().digest), readBlob(layer().digest)]);
  const end = Date.now() + 1;
  await route.tcp.setEnabled(true);
  expect(down.map((d) => d.status)).toEqual([0, 0]);
  expect(route.counter.between(start, end)).toBe(2);
  expect(route.http.requestsBetween(start, end)).toEqual([]);
  expect(await readBlob(layer().digest)).toMatchObject({ status: 200, bytes: layer().size });
});

describe('the checks every case ends with', () => {
  const root = `faults/${uniqueName('harness-checks')}/plugins/imagestreams/v1/`;
  const s3 = () => rawS3(world.env);
  afterAll(() => world.bucket.remove(root));

  it('finds a pool object whose content does not hash to its key', async () => {
    const good = Buffer.from('good blob');
    const key = (b: Buffer) => `${root}blobs/sha256/${createHash('sha256').update(b).digest('hex')}`;
    const client = s3();
    try {
      await client.send(new PutObjectCommand({ Bucket: world.env.S3_BUCKET, Key: key(good), Body: good }));
      const wrong = key(Buffer.from('other'));
      await client.send(new PutObjectCommand({ Bucket: world.env.S3_BUCKET, Key: wrong, Body: good }));
      expect(await checkPool(world.env, root)).toEqual({ mismatched: [wrong], blobs: 2, bytes: 2 * good.length });
    } finally {
      client.destroy();
    }
  });

  it('finds a multipart upload left open', async () => {
    const key = `${root}blobs/sha256/${'0'.repeat(64)}`;
    const client = s3();
    try {
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: world.env.S3_BUCKET, Key: key }));
      try {
        expect(await openMultipartUploads(world.env, [key, `${root}other`])).toEqual([`${key}#${UploadId}`]);
      } finally {
        await client.send(new AbortMultipartUploadCommand({ Bucket: world.env.S3_BUCKET, Key: key, UploadId }));
      }
      expect(await openMultipartUploads(world.env, [key])).toEqual([]);
    } finally {
      client.destroy();
    }
  });
});
