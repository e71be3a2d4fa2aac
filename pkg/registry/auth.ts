// Registry authentication: Basic, or the Bearer token flow a `WWW-Authenticate` challenge
// asks for (OpenShift's registry takes the service-account token either as a Basic password
// or as a bearer token). Credentials only ever go to the registry origin: the token realm
// gets them only when it is that same origin, and is asked anonymously otherwise.
import type { IncomingMessage } from 'node:http';
import { StalledError, TransientError } from '../errors.js';
import { sameOrigin } from './origin.js';
import { drain, readBody, type HttpTransport } from './transport.js';

export interface Challenge {
  scheme: string; // lower case
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate` (RFC 7235): several challenges, quoted or token parameter values. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : header ?? '';
  const out: Challenge[] = [];
  const re = /\s*(?:,\s*)*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*)))?/y;
  let current: Challenge | undefined;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    if (m[0].trim() === '') break;
    const [, name = '', quoted, bare] = m;
    if (quoted === undefined && bare === undefined) {
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
    } else if (current) {
      current.params[name.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare ?? '';
    }
  }
  return out;
}

export function repositoryScope(repo: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repo}:${actions}`;
}

interface Token {
  value: string;
  expiresAt: number;
}

export interface AuthOptions {
  registry: URL; // the origin credentials belong to
  username?: string;
  password?: string;
  transport: HttpTransport;
  userAgent: string;
}

const TOKEN_RESPONSE_LIMIT = 1 << 20;
const DEFAULT_TOKEN_SECONDS = 60;

export class Authenticator {
  private scheme: 'basic' | 'bearer' | undefined;
  /** The Basic header, built once: the credentials do not change for the client's life. */
  private basic?: string;
  private bearer: { realm: URL; service?: string } | undefined;
  private readonly tokens = new Map<string, Token>();
  private readonly pending = new Map<string, Promise<Token | undefined>>();

  constructor(private readonly opts: AuthOptions) {
    // With credentials, Basic is tried first: it spares a token round trip on OpenShift.
    if (opts.password !== undefined) this.scheme = 'basic';
  }

  get hasCredentials(): boolean {
    return this.opts.password !== undefined;
  }

  /** The Authorization header for a request to the registry origin, or undefined (anonymous). */
  async authorization(scopes: string[]): Promise<string | undefined> {
    if (this.scheme === 'basic') return this.basicHeader();
    if (this.scheme === 'bearer') {
      const token = await this.token(scopes, false);
      return token && `Bearer ${token.value}`;
    }
    return undefined;
  }

  /**
   * Reacts to a 401 from the registry. True when a new Authorization is ready and the request
   * is worth sending again; false when the credentials were refused.
   */
  async onChallenge(header: string | string[] | undefined, scopes: string[], sent: string | undefined): Promise<boolean> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      this.scheme = 'bearer';
      this.bearer = { realm: this.realmUrl(bearer.params.realm!), ...(bearer.params.service !== undefined && { service: bearer.params.service }) };
      const extra = bearer.params.scope ? bearer.params.scope.split(' ') : [];
      const fresh = await this.token(unique([...scopes, ...extra]), sent?.startsWith('Bearer ') ?? false, scopeKey(scopes));
      return fresh !== undefined;
    }
    const basic = challenges.some((c) => c.scheme === 'basic');
    if (basic && this.opts.password !== undefined && !sent?.startsWith('Basic ')) {
      this.scheme = 'basic';
      return true;
    }
    return false;
  }

  /** Values that must never appear in a message, should a server echo them. */
  secrets(): string[] {
    const out: string[] = [];
    if (this.opts.password) out.push(this.opts.password, this.basicHeader()!.slice('Basic '.length));
    for (const t of this.tokens.values()) out.push(t.value);
    return out.filter((s) => s.length >= 4);
  }

  private basicHeader(): string | undefined {
    if (this.opts.password === undefined) return undefined;
    this.basic ??= `Basic ${Buffer.from(`${this.opts.username || 'serviceaccount'}:${this.opts.password}`).toString('base64')}`;
    return this.basic;
  }

  private async token(scopes: string[], refresh: boolean, key = scopeKey(scopes)): Promise<Token | undefined> {
    const cached = this.tokens.get(key);
    if (!refresh && cached && cached.expiresAt > Date.now()) return cached;
    if (refresh) this.tokens.delete(key);
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.fetchToken(scopes).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    const token = await pending;
    if (token) this.tokens.set(key, token);
    return token;
  }

  private async fetchToken(scopes: string[]): Promise<Token | undefined> {
    const { realm, service } = this.bearer!;
    const url = new URL(realm);
    if (service !== undefined) url.searchParams.set('service', service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const trusted = sameOrigin(url, this.opts.registry);
    const basic = trusted ? this.basicHeader() : undefined;
    const res = await this.opts.transport.send({
      method: 'GET', url,
      headers: { 'user-agent': this.opts.userAgent, accept: 'application/json', ...(basic && { authorization: basic }) },
    });
    const status = res.statusCode ?? 0;
    if (status === 200) return parseToken(res, url.host);
    drain(res);
    if (status === 429 || status >= 500) {
      throw new TransientError('RegistryUnavailable', `token service ${url.host} answered HTTP ${status}`);
    }
    // OpenShift also takes the service-account token itself as a bearer token; it goes to
    // the registry origin only, like any credential.
    if (this.opts.password) return { value: this.opts.password, expiresAt: Number.POSITIVE_INFINITY };
    return undefined;
  }

  private realmUrl(realm: string): URL {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new StalledError('RegistryUnauthorized', `registry ${this.opts.registry.host} sent an invalid token realm`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new StalledError('RegistryUnauthorized', `registry ${this.opts.registry.host} sent a token realm that is not http(s)`);
    }
    return url;
  }
}

async function parseToken(res: IncomingMessage, host: string): Promise<Token | undefined> {
  const body = await readBody(res, TOKEN_RESPONSE_LIMIT, `token from ${host}`, host);
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new StalledError('RegistryUnauthorized', `token service ${host} answered something that is not JSON`);
  }
  const value = typeof doc.token === 'string' && doc.token ? doc.token
    : typeof doc.access_token === 'string' && doc.access_token ? doc.access_token : undefined;
  if (!value) return undefined;
  const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
  // Renew a little early so that a token does not expire between check and use.
  return { value, expiresAt: Date.now() + seconds * 900 };
}

function scopeKey(scopes: string[]): string {
  return unique(scopes).sort().join(' ');
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
