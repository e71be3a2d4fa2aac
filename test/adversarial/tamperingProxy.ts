// A TLS server on loopback with the stack's serving certificate (so the controller trusts it as
// it trusts the stack), that records every request with its headers and either answers it
// itself (a handler that matches) or forwards it to the upstream server unchanged. In front of
// the registry it answers other bytes than asked, a token realm elsewhere, or a redirect; in
// front of MinIO it only records, to show which headers the controller sent. With no upstream it
// is a plain recording server (a token realm, a redirect target, a publicUrl nobody may call).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';

export interface Recorded {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** Answers a request itself; `forward` gets the upstream's answer, whole in memory (for small bodies). */
export type Handler = (req: IncomingMessage, res: ServerResponse, forward: () => Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>) => Promise<void> | void;

export class TamperingProxy {
  readonly requests: Recorded[] = [];
  private readonly rules: Array<{ match: (method: string, url: string) => boolean; handle: Handler }> = [];
  private readonly server: https.Server;
  private readonly agent: https.Agent;
  /** host:port the proxy listens on. */
  address = '';

  private constructor(pki: string, private readonly upstream?: string) {
    this.agent = new https.Agent({ ca: readFileSync(path.join(pki, 'ca.crt')), keepAlive: false });
    this.server = https.createServer({ cert: readFileSync(path.join(pki, 'server.crt')), key: readFileSync(path.join(pki, 'server.key')) }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 120_000;
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** `pki`: the stack's folder with ca.crt, server.crt and server.key; `upstream`: host:port, https. */
  static async start(pki: string, upstream?: string, host = '127.0.0.1'): Promise<TamperingProxy> {
    const p = new TamperingProxy(pki, upstream);
    await new Promise<void>((resolve, reject) => p.server.once('error', reject).listen(0, '127.0.0.1', resolve));
    p.address = `${host}:${(p.server.address() as AddressInfo).port}`;
    return p;
  }

  /** Rules are tried in the order they were added. */
  on(match: (method: string, url: string) => boolean, handle: Handler): void {
    this.rules.push({ match, handle });
  }

  received(match: (r: Recorded) => boolean = () => true): Recorded[] {
    return this.requests.filter(match);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    this.agent.destroy();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    this.requests.push({ method, url, headers: { ...req.headers } });
    const rule = this.rules.find((r) => r.match(method, url));
    if (rule) {
      void Promise.resolve(rule.handle(req, res, () => this.forwardBuffered(req))).catch(() => res.destroy());
      return;
    }
    if (!this.upstream) {
      res.writeHead(404).end();
      return;
    }
    const up = this.request(req, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      pipeline(ures, res, () => {});
    });
    pipeline(req, up, () => {});
  }

  private request(req: IncomingMessage, onResponse: (res: IncomingMessage) => void) {
    const [host, port] = this.upstream!.split(':');
    const headers = { ...req.headers };
    for (const h of ['connection', 'keep-alive', 'expect']) delete headers[h];
    const up = https.request({ host, port: Number(port), method: req.method, path: req.url, headers, agent: this.agent }, onResponse);
    up.on('error', () => req.socket.destroy());
    return up;
  }

  private forwardBuffered(req: IncomingMessage): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const up = this.request(req, (ures) => {
        const chunks: Buffer[] = [];
        ures.on('data', (c: Buffer) => chunks.push(c));
        ures.on('end', () => resolve({ status: ures.statusCode ?? 502, headers: ures.headers, body: Buffer.concat(chunks) }));
        ures.on('error', reject);
      });
      up.on('error', reject);
      pipeline(req, up, () => {});
    });
  }
}
