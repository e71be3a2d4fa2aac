// A small TLS-terminating HTTP proxy for the faults toxiproxy cannot make: it sees each request
// (with the stack's serving certificate, so the controller trusts it as it trusts the server)
// and forwards it over https to the server, unless a rule says otherwise: a burst of 503s (an
// S3 `SlowDown` or a distribution error), a 429 with Retry-After, a body reset or stalled after
// K bytes, a response held, latency. It records every request and connection, so that a test
// can say how many the controller made while a fault lasted and how many bytes reached the server.
// Headers pass through unchanged: S3 signatures cover the Host header, and the registry builds
// its upload Locations from it, which then point back at the proxy.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import { splitHostPort } from './connectionCounter.js';

/** Which server is behind: it decides what an error body looks like. */
export type Flavor = 's3' | 'registry';

export type FaultAction =
  | { kind: 'status'; status: 503 | 429 | 500; retryAfterSeconds?: number }
  | { kind: 'latency'; ms: number }
  /** The client's connection is cut once K bytes of the request body went to the server. */
  | { kind: 'resetRequestBody'; afterBytes: number }
  /** The client's connection is cut once K bytes of the response body went to the client. */
  | { kind: 'resetResponseBody'; afterBytes: number }
  /** Forwarding stops after K bytes of the request body, for `forMs` or until released. */
  | { kind: 'stallRequestBody'; afterBytes: number; forMs?: number }
  | { kind: 'stallResponseBody'; afterBytes: number; forMs?: number }
  /** The server has answered (and acted); its response is held until released. */
  | { kind: 'holdResponse' };

export interface RuleSpec {
  /** Exact method(s); any when absent. */
  method?: string | string[];
  /** Matched against the request's path and query. */
  path: RegExp;
  /** How many times it fires; every matching request while it is active when absent. */
  times?: number;
  /** Active for this long after it is added; until removed when absent. */
  forMs?: number;
  action: FaultAction;
}

export interface RequestRecord {
  at: number;
  method: string;
  path: string;
  status?: number;
  /** Request body bytes forwarded to the server. */
  bytesIn: number;
  /** Response body bytes sent to the client. */
  bytesOut: number;
  /** The rule's action when one applied. */
  fault?: FaultAction['kind'];
}

export class FaultRule {
  /** When the fault took effect, once per request it applied to (the stall began, the reset was sent...). */
  readonly firedAt: number[] = [];
  private remaining: number;
  private readonly until: number;
  private releaseAll!: () => void;
  /** Resolves when the rule is released: stalls and holds end. */
  readonly released = new Promise<void>((r) => (this.releaseAll = r));
  private active = true;
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(readonly spec: RuleSpec) {
    this.remaining = spec.times ?? Infinity;
    this.until = spec.forMs === undefined ? Infinity : Date.now() + spec.forMs;
  }

  get fired(): number {
    return this.firedAt.length;
  }

  /** Whether the request is one the rule may apply to (it applies once its fault fires). */
  matches(method: string, path: string): boolean {
    if (!this.active || this.remaining <= 0 || Date.now() >= this.until) return false;
    const methods = this.spec.method === undefined ? undefined : [this.spec.method].flat();
    if (methods !== undefined && !methods.includes(method)) return false;
    return this.spec.path.test(path);
  }

  /**
   * Counts one application, if any is left: a body fault fires only when the body reaches
   * K bytes, so a shorter body that matched uses up nothing.
   */
  fire(): boolean {
    if (!this.active || this.remaining <= 0) return false;
    this.remaining--;
    this.firedAt.push(Date.now());
    for (const w of [...this.waiters]) {
      if (this.fired >= w.n) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
    return true;
  }

  /** Resolves once the fault has taken effect `n` times. */
  whenFired(n = 1): Promise<void> {
    if (this.fired >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Ends every stall and hold now, and applies to no further request. */
  release(): void {
    this.active = false;
    this.releaseAll();
  }
}

export interface HttpFaultProxyOptions {
  /** host:port of the server, which speaks https. */
  upstream: string;
  flavor: Flavor;
  certFile: string;
  keyFile: string;
  /** The CA that signed the server's certificate. */
  caFile: string;
}

export class HttpFaultProxy {
  readonly requests: RequestRecord[] = [];
  readonly connectionsAt: number[] = [];
  private readonly rules: FaultRule[] = [];
  private readonly agent: https.Agent;
  private readonly server: https.Server;
  private readonly upstreamHost: string;
  private readonly upstreamPort: number;
  address = '';

  private constructor(private readonly opts: HttpFaultProxyOptions) {
    [this.upstreamHost, this.upstreamPort] = splitHostPort(opts.upstream);
    // A new connection to the server per request: a kept-alive one that the server closes as it
    // is reused fails with ECONNRESET, which the controller would see as a fault nobody made.
    this.agent = new https.Agent({ ca: readFileSync(opts.caFile), keepAlive: false, maxSockets: 64 });
    this.server = https.createServer({ cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) }, (req, res) => this.handle(req, res));
    // Node closes an idle kept-alive connection after 5 s, much sooner than the real servers do:
    // a client that reuses it as it closes gets an ECONNRESET that no rule made.
    this.server.keepAliveTimeout = 120_000;
    this.server.on('secureConnection', () => this.connectionsAt.push(Date.now()));
    // A client that goes away mid-request is what faults are about, not an error of the proxy.
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  static async start(opts: HttpFaultProxyOptions): Promise<HttpFaultProxy> {
    const p = new HttpFaultProxy(opts);
    await new Promise<void>((resolve, reject) => p.server.once('error', reject).listen(0, '127.0.0.1', resolve));
    p.address = `127.0.0.1:${(p.server.address() as AddressInfo).port}`;
    return p;
  }

  /** Rules are tried in the order they were added; the first that matches a request applies to it. */
  addRule(spec: RuleSpec): FaultRule {
    const rule = new FaultRule(spec);
    this.rules.push(rule);
    return rule;
  }

  /** Requests received in [from, to) that match. */
  requestsBetween(from: number, to: number, match: { method?: string; path?: RegExp } = {}): RequestRecord[] {
    return this.requests.filter((r) => r.at >= from && r.at < to && matches(r, match));
  }

  /** Request body bytes the server received, over every request that matches. */
  bytesReceived(match: { method?: string; path?: RegExp } = {}): number {
    return this.requests.filter((r) => matches(r, match)).reduce((n, r) => n + r.bytesIn, 0);
  }

  async close(): Promise<void> {
    for (const r of this.rules) r.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    this.agent.destroy();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const record: RequestRecord = { at: Date.now(), method, path, bytesIn: 0, bytesOut: 0 };
    this.requests.push(record);
    const rule = this.rules.find((r) => r.matches(method, path));
    void this.forward(req, res, record, rule, rule?.spec.action).catch(() => req.socket.destroy());
  }

  private async forward(req: IncomingMessage, res: ServerResponse, record: RequestRecord, rule?: FaultRule, action?: FaultAction): Promise<void> {
    if (rule && action?.kind === 'status' && rule.fire()) {
      req.resume();
      record.status = action.status;
      record.fault = action.kind;
      const body = errorBody(this.opts.flavor, action.status, record.path);
      res.writeHead(action.status, {
        'Content-Type': body.type, 'Content-Length': body.text.length,
        ...(action.retryAfterSeconds !== undefined && { 'Retry-After': String(action.retryAfterSeconds) }),
      });
      res.end(body.text);
      return;
    }
    if (rule && action?.kind === 'latency' && rule.fire()) {
      record.fault = action.kind;
      await Promise.race([new Promise((r) => setTimeout(r, action.ms)), rule.released]);
    }

    const upstream = https.request({
      host: this.upstreamHost, port: this.upstreamPort, method: record.method, path: record.path,
      headers: forwardable(req.headers), agent: this.agent,
    });
    const cutClient = () => {
      req.socket.destroy();
      upstream.destroy();
    };
    upstream.on('error', () => req.socket.destroy());
    req.on('close', () => { if (!req.complete) upstream.destroy(); });

    const inbound = new BodyFault((n) => (record.bytesIn += n), rule && action && isRequestFault(action) ? { rule, action, cut: cutClient, record } : undefined);
    pipeline(req, inbound, upstream, () => {});

    upstream.once('response', async (ures) => {
      if (rule && action?.kind === 'holdResponse' && rule.fire()) {
        record.fault = action.kind;
        await rule.released;
      }
      if (res.destroyed) return void ures.destroy();
      record.status = ures.statusCode;
      res.writeHead(ures.statusCode ?? 502, forwardable(ures.headers));
      const outbound = new BodyFault((n) => (record.bytesOut += n), rule && action && isResponseFault(action) ? { rule, action, cut: cutClient, record } : undefined);
      pipeline(ures, outbound, res, () => {});
    });
  }
}

type BodyAction = Extract<FaultAction, { afterBytes: number }>;
const isRequestFault = (a: FaultAction): a is BodyAction => a.kind === 'resetRequestBody' || a.kind === 'stallRequestBody';
const isResponseFault = (a: FaultAction): a is BodyAction => a.kind === 'resetResponseBody' || a.kind === 'stallResponseBody';

/** Passes a body through, counting it; at K bytes it cuts the connection or stalls. */
class BodyFault extends Transform {
  private passed = 0;
  private done = false;
  private cut = false;

  constructor(
    private readonly count: (n: number) => void,
    private readonly fault?: { rule: FaultRule; action: BodyAction; cut: () => void; record: RequestRecord },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const f = this.fault;
    // Once cut, nothing more goes through, whatever was still in flight.
    if (this.cut) return cb();
    if (!f || this.done || this.passed + chunk.length <= f.action.afterBytes) {
      this.pass(chunk);
      return cb();
    }
    this.done = true;
    if (!f.rule.fire()) {
      this.pass(chunk);
      return cb();
    }
    f.record.fault = f.action.kind;
    const head = chunk.subarray(0, f.action.afterBytes - this.passed);
    if (head.length) this.pass(head);
    if (f.action.kind === 'resetRequestBody' || f.action.kind === 'resetResponseBody') {
      this.cut = true;
      // Let the head reach the socket first, so the cut is really "after K bytes".
      setImmediate(f.cut);
      return cb();
    }
    const forMs = f.action.forMs;
    const timer = forMs === undefined ? undefined : new Promise((r) => setTimeout(r, forMs));
    void Promise.race([f.rule.released, ...(timer ? [timer] : [])]).then(() => {
      this.pass(chunk.subarray(head.length));
      cb();
    });
  }

  private pass(chunk: Buffer): void {
    this.passed += chunk.length;
    this.count(chunk.length);
    this.push(chunk);
  }
}

/** Hop-by-hop headers belong to each connection; `expect` was answered by this proxy already. */
function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out = { ...headers };
  for (const h of ['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'expect']) delete out[h];
  return out;
}

function matches(r: RequestRecord, m: { method?: string; path?: RegExp }): boolean {
  return (m.method === undefined || r.method === m.method) && (m.path === undefined || m.path.test(r.path));
}

/** What the real servers answer: S3's XML error (SlowDown for a 503), the distribution JSON error. */
function errorBody(flavor: Flavor, status: number, resource: string): { type: string; text: string } {
  if (flavor === 's3') {
    const [code, message] = status === 503 ? ['SlowDown', 'Please reduce your request rate.']
      : status === 429 ? ['SlowDown', 'Please reduce your request rate.'] : ['InternalError', 'We encountered an internal error. Please try again.'];
    return {
      type: 'application/xml',
      text: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>`
        + `<Resource>${resource.replace(/[<&>]/g, '')}</Resource><RequestId>fault-proxy</RequestId></Error>`,
    };
  }
  const [code, message] = status === 429 ? ['TOOMANYREQUESTS', 'too many requests'] : ['UNAVAILABLE', 'service unavailable'];
  return { type: 'application/json', text: JSON.stringify({ errors: [{ code, message, detail: null }] }) };
}
