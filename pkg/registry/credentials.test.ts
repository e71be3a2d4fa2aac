// The one security promise of the client, checked against two real listeners: credentials
// go to the configured registry origin and nowhere else, whatever redirects or token realms say.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { createRegistryClient } from './client.js';
import { sha256Digest } from '../oci/digest.js';
import { StalledError } from '../errors.js';

const USER = 'someone';
const PASSWORD = 'pa55-word-never-elsewhere';
const TOKEN = 'bearer-token-never-elsewhere';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const blob = Buffer.from('layer bytes served by the storage host');
const digest = sha256Digest(blob);

interface Seen { path: string; authorization?: string }

/** Starts a listener on 127.0.0.1 and records the Authorization header of every request. */
async function listen(handler: (req: http.IncomingMessage, res: http.ServerResponse, base: string) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', ...(req.headers.authorization && { authorization: req.headers.authorization }) });
    handler(req, res, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { seen, port, base: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

type Listener = Awaited<ReturnType<typeof listen>>;
let storage: Listener;
let realm: Listener;

beforeAll(async () => {
  // "Object storage": serves the blob to anyone, as a pre-signed URL would.
  storage = await listen((_req, res) => { res.writeHead(200, { 'content-length': blob.length }); res.end(blob); });
  // A token service on another host: hands a token to anonymous callers for pulls.
  realm = await listen((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ token: 'anonymous-token' })); });
});
afterAll(async () => { await storage.close(); await realm.close(); });

/** A registry that wants `expected` and redirects blob GETs to `target(base)`. */
function registry(mode: 'basic' | 'bearer', target: (base: string) => string) {
  return listen((req, res, base) => {
    const url = req.url ?? '';
    if (url.startsWith('/token')) {
      const ok = req.headers.authorization === BASIC;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(ok ? JSON.stringify({ access_token: TOKEN, expires_in: 300 }) : '{}');
      return;
    }
    const expected = mode === 'basic' ? BASIC : `Bearer ${TOKEN}`;
    if (req.headers.authorization !== expected) {
      res.writeHead(401, {
        'www-authenticate': mode === 'basic' ? 'Basic realm="fake"' : `Bearer realm="${base}/token",service="fake"`,
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    if (url === `/v2/ns/app/blobs/${digest}`) {
      res.writeHead(307, { location: target(base) });
      res.end();
      return;
    }
    if (url === '/v2/ns/app/blobs/hop') { // a same-origin hop before the foreign one
      res.writeHead(302, { location: `${storage.base.replace('127.0.0.1', 'localhost')}/by-name` });
      res.end();
      return;
    }
    res.writeHead(404);
    res.end();
  });
}

describe('credentials never reach a second host', () => {
  it.each([
    ['Basic, redirect to another port', 'basic', () => `${storage.base}/blob?sig=x`],
    ['Bearer, redirect to another port', 'bearer', () => `${storage.base}/blob?sig=x`],
    ['Basic, redirect to another name of the same machine', 'basic', () => `${storage.base.replace('127.0.0.1', 'localhost')}/blob`],
    ['Basic, same-origin hop then a foreign one', 'basic', (base: string) => `${base}/v2/ns/app/blobs/hop`],
    ['Bearer, same-origin hop then a foreign one', 'bearer', (base: string) => `${base}/v2/ns/app/blobs/hop`],
  ] as const)('%s', async (_name, mode, target) => {
    const reg = await registry(mode, target);
    const client = createRegistryClient({ host: `127.0.0.1:${reg.port}`, plainHttp: true, username: USER, password: PASSWORD });
    try {
      storage.seen.length = 0;
      const body = await text(await client.getBlob('ns/app', digest, { verify: { digest, size: blob.length } }));
      expect(body).toBe(blob.toString());
      // The storage host was reached, without any Authorization header.
      expect(storage.seen.length).toBeGreaterThan(0);
      expect(storage.seen.filter((s) => s.authorization)).toEqual([]);
      // Positive control: the registry itself did get the credentials (a Bearer registry is
      // first offered Basic, which it answers with its challenge).
      const expected = mode === 'basic' ? BASIC : `Bearer ${TOKEN}`;
      const blobRequests = reg.seen.filter((s) => s.path.startsWith('/v2/ns/app/blobs/'));
      expect(blobRequests.every((s) => s.authorization !== undefined)).toBe(true);
      expect(blobRequests.at(-1)?.authorization).toBe(expected);
    } finally {
      client.close();
      await reg.close();
    }
  });

  it('asks a token realm on another host anonymously', async () => {
    const reg = await listen((req, res) => {
      if (req.headers.authorization === 'Bearer anonymous-token') { res.writeHead(404); res.end(); return; }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm.base}/token",service="fake"` });
      res.end();
    });
    const client = createRegistryClient({ host: `127.0.0.1:${reg.port}`, plainHttp: true, username: USER, password: PASSWORD });
    try {
      realm.seen.length = 0;
      expect(await client.hasBlob('ns/app', digest)).toBe(false);
      expect(realm.seen).toHaveLength(1);
      expect(realm.seen[0]!.authorization).toBeUndefined();
      expect(realm.seen[0]!.path).toContain('scope=repository%3Ans%2Fapp%3Apull');
    } finally {
      client.close();
      await reg.close();
    }
  });
});

describe('authentication', () => {
  it.each([
    ['Basic', 'basic'],
    ['Bearer through the token realm', 'bearer'],
  ] as const)('%s with the right password succeeds', async (_name, mode) => {
    const reg = await registry(mode, () => `${storage.base}/blob`);
    const client = createRegistryClient({ host: `127.0.0.1:${reg.port}`, plainHttp: true, username: USER, password: PASSWORD });
    try {
      expect(await client.hasBlob('ns/app', `sha256:${'0'.repeat(64)}`)).toBe(false);
      // A second call reuses the Basic header or cached token: no new challenge.
      const before = reg.seen.length;
      expect(await client.hasBlob('ns/app', `sha256:${'1'.repeat(64)}`)).toBe(false);
      expect(reg.seen.length - before).toBe(1);
    } finally {
      client.close();
      await reg.close();
    }
  });

  it.each([
    ['Basic', 'basic'],
    ['Bearer', 'bearer'],
  ] as const)('%s with a wrong password fails as RegistryUnauthorized without the secret in the message', async (_name, mode) => {
    const reg = await registry(mode, () => `${storage.base}/blob`);
    const wrong = 'wrong-secret-value';
    const client = createRegistryClient({ host: `127.0.0.1:${reg.port}`, plainHttp: true, username: USER, password: wrong });
    try {
      const error = await client.hasBlob('ns/app', digest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StalledError);
      expect((error as StalledError).reason).toBe('RegistryUnauthorized');
      expect((error as Error).message).not.toContain(wrong);
      expect((error as Error).message).toContain(`127.0.0.1:${reg.port}`);
    } finally {
      client.close();
      await reg.close();
    }
  });
});

describe('error messages never carry a secret', () => {
  it('a registry that echoes the Basic credentials it got in its error body has them cut from the message', async () => {
    // Accepts the credentials, then refuses the push with an error that quotes them back,
    // as a misbehaving proxy might: the only path where a secret could reach a message.
    const inner = await registry('basic', () => `${storage.base}/blob`);
    const echo = await listen((req, res) => {
      const authorization = req.headers.authorization ?? '';
      const decoded = authorization.startsWith('Basic ') ? Buffer.from(authorization.slice(6), 'base64').toString() : authorization;
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: `denied for ${authorization} (${decoded})` }] }));
    });
    const proxy = await listen((req, res) => {
      // `inner` challenges; once the client sends the right credentials, `echo` refuses it.
      const target = req.headers.authorization === BASIC ? echo : inner;
      const fwd = http.request({ host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 500, r.headers);
        r.pipe(res);
      });
      req.pipe(fwd);
    });
    const client = createRegistryClient({ host: `127.0.0.1:${proxy.port}`, plainHttp: true, username: USER, password: PASSWORD });
    try {
      // A GET, so that the client reads the error body into its message.
      const error = await client.getManifest('ns/app', digest).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StalledError);
      const message = (error as Error).message;
      expect(message).toContain('denied for');
      for (const secret of [PASSWORD, BASIC.slice('Basic '.length)]) expect(message).not.toContain(secret);
    } finally {
      client.close();
      await Promise.all([proxy.close(), echo.close(), inner.close()]);
    }
  });
});
