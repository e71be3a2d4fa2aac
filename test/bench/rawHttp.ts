// The raw pipelines' registry client: Basic auth on every request (the stack's htpasswd
// registry takes it), keep-alive sockets, nothing else.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';

export interface RawRegistry {
  host: string;
  caFile: string;
  username: string;
  password: string;
}

export function rawHttp(reg: RawRegistry) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: readFileSync(reg.caFile) });
  const authorization = 'Basic ' + Buffer.from(`${reg.username}:${reg.password}`).toString('base64');
  const base = `https://${reg.host}`;
  const send = (method: string, url: URL | string, headers: Record<string, string | number>, body?: Readable) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = https.request(new URL(url, base), { method, agent, headers: { authorization, ...headers } }, resolve);
      req.on('error', reject);
      if (body) body.on('error', (e) => req.destroy(e)).pipe(req);
      else req.end();
    });
  const expect = (res: IncomingMessage, ok: number, what: string) => {
    if (res.statusCode === ok) return res;
    res.resume();
    throw new Error(`raw: ${what}: HTTP ${res.statusCode}`);
  };
  return {
    async get(path: string): Promise<Readable> {
      return expect(await send('GET', path, {}), 200, `GET ${path}`);
    },
    async startUpload(repo: string): Promise<URL> {
      const res = expect(await send('POST', `/v2/${repo}/blobs/uploads/`, { 'content-length': 0 }), 202, `start upload to ${repo}`);
      res.resume();
      return new URL(String(res.headers.location), base);
    },
    async put(url: URL, body: Readable, size: number): Promise<void> {
      expect(await send('PUT', url, { 'content-type': 'application/octet-stream', 'content-length': size }, body), 201, `PUT ${url.pathname}`).resume();
    },
    close: () => agent.destroy(),
  };
}
