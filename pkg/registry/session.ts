// An authenticated exchange with the registry: adds credentials when (and only when) the
// target is the registry origin, answers auth challenges once, and follows redirects for
// reads, dropping credentials on the way to any other host.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { type ReconcileError, StalledError } from '../errors.js';
import type { Authenticator } from './auth.js';
import { responseError, unauthorized } from './errors.js';
import { sameOrigin } from './origin.js';
import { drain, type HttpTransport } from './transport.js';

export interface SessionRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path under the registry (`/v2/...`) or an absolute URL (an upload Location). */
  url: string | URL;
  scopes: string[];
  /** For messages: what this request does. */
  what: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | Readable;
  followRedirects?: boolean;
  /** A step of an upload session: never sent again by the transport (see Hop.once). */
  once?: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export class Session {
  constructor(
    readonly base: URL,
    private readonly transport: HttpTransport,
    private readonly auth: Authenticator,
    private readonly userAgent: string,
  ) {}

  get host(): string {
    return this.base.host;
  }

  url(path: string, query?: Record<string, string>): URL {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    return url;
  }

  async request(req: SessionRequest): Promise<IncomingMessage> {
    let url = typeof req.url === 'string' ? this.url(req.url) : req.url;
    const replayable = !(req.body instanceof Readable);
    let challenged = false;
    for (let hops = 0; ; ) {
      const trusted = sameOrigin(url, this.base);
      const authorization = trusted ? await this.auth.authorization(req.scopes) : undefined;
      const headers: OutgoingHttpHeaders = { 'user-agent': this.userAgent, ...req.headers };
      if (authorization) headers.authorization = authorization;
      const res = await this.transport.send({ method: req.method, url, headers, ...(req.body !== undefined && { body: req.body }), ...(req.once && { once: true }) });
      const status = res.statusCode ?? 0;

      if (status === 401 && trusted) {
        drain(res);
        const retry = !challenged && replayable && await this.auth.onChallenge(res.headers['www-authenticate'], req.scopes, authorization);
        if (!retry) throw unauthorized({ host: this.host, what: req.what }, this.auth.hasCredentials);
        challenged = true;
        continue;
      }

      if (REDIRECTS.has(status) && req.followRedirects && res.headers.location) {
        drain(res);
        if (++hops > MAX_REDIRECTS) {
          throw new StalledError('RegistryRedirect', `${req.what} on ${this.host}: more than ${MAX_REDIRECTS} redirects`);
        }
        url = new URL(res.headers.location, url);
        continue;
      }
      return res;
    }
  }

  /** The error for an unexpected response; consumes its body. */
  fail(res: IncomingMessage, what: string): Promise<ReconcileError> {
    return responseError(res, { host: this.host, what, redact: (text) => this.redact(text) });
  }

  private redact(text: string): string {
    let out = text;
    for (const secret of this.auth.secrets()) out = out.split(secret).join('***');
    return out;
  }
}
