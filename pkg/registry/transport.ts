// One HTTP exchange with the registry (or wherever a redirect points), over keep-alive agents
// whose TLS settings we control. Bodies stay streams both ways; nothing here buffers a blob.
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { ReconcileError, StalledError, TransientError } from '../errors.js';
import type { ProxyAwareAgents } from '../proxy.js';
import { trustingAgents } from '../trust.js';

export interface TransportOptions {
  /** PEM CA bundle trusted in addition to the system roots. */
  ca?: string | Buffer;
  insecureSkipTLSVerify?: boolean;
  maxSockets?: number;
  /** Idle time on a socket (no bytes either way) before the exchange fails. */
  timeoutMs?: number;
}

export interface Hop {
  method: string;
  url: URL;
  headers: OutgoingHttpHeaders;
  body?: Buffer | Readable;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO',
]);

export class HttpTransport {
  private readonly agents: ProxyAwareAgents;
  private readonly timeoutMs: number;

  constructor(opts: TransportOptions = {}) {
    const maxSockets = opts.maxSockets ?? 32;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    // The system roots stay trusted beside the CA, so that a redirect to public object storage still verifies.
    // Direct or through the cluster-wide proxy, per target (a redirect may lead to object storage).
    this.agents = trustingAgents({ extraPems: opts.ca ? [opts.ca.toString()] : [], insecureSkipTLSVerify: opts.insecureSkipTLSVerify ?? false, maxSockets });
  }

  async send(hop: Hop): Promise<IncomingMessage> {
    try {
      return await this.once(hop);
    } catch (err) {
      // A keep-alive socket the server closed while idle fails the next request at once;
      // that request never reached the server, so it is safe to send again if it can be.
      if ((err as RetryMarker).staleSocket && !(hop.body instanceof Readable)) return this.once(hop);
      throw err;
    }
  }

  destroy(): void {
    this.agents.destroy();
  }

  private once(hop: Hop): Promise<IncomingMessage> {
    const { url } = hop;
    const isHttps = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(url, {
        method: hop.method,
        headers: hop.headers,
        agent: this.agents.forUrl(url),
      });
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        const mapped = mapNetworkError(err, url.host);
        if (req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET') (mapped as RetryMarker).staleSocket = true;
        reject(mapped);
      };
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(Object.assign(new Error(`no data for ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      req.once('response', (res) => {
        settled = true;
        resolve(res);
      });
      req.on('error', fail);
      if (hop.body instanceof Readable) {
        // A body that fails (e.g. verification) destroys the request with its own error,
        // which is then the one reported.
        pipeline(hop.body, req, (err) => { if (err) fail(err); });
      } else {
        req.end(hop.body);
      }
    });
  }
}

type RetryMarker = Error & { staleSocket?: boolean };

/** Network and TLS failures, with the host (never the path, which may carry upload state). */
export function mapNetworkError(err: unknown, host: string): Error {
  if (err instanceof ReconcileError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const detail = code || (err instanceof Error ? err.message : String(err));
  if (TLS_CODES.has(code)) {
    return new StalledError('RegistryTLS', `TLS verification of ${host} failed (${detail}): set the registry CA file `
      + '(REGISTRY_CA_FILE) to the CA bundle that signed its certificate', { cause: err });
  }
  return new TransientError('RegistryUnavailable', `cannot reach ${host}: ${detail}`, { cause: err });
}

/** Reads a small body whole; more than `limit` bytes is an error, not a memory spike. */
export async function readBody(res: IncomingMessage, limit: number, what: string, host: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    res.destroy();
    throw new StalledError('ResponseTooLarge', `${what}: response of ${declared} bytes exceeds the ${limit} bytes limit`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) {
        res.destroy();
        throw new StalledError('ResponseTooLarge', `${what}: response exceeds the ${limit} bytes limit`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    throw mapNetworkError(err, host);
  }
  return Buffer.concat(chunks);
}

/** Discards a body so its keep-alive socket goes back to the pool. */
export function drain(res: IncomingMessage): void {
  res.resume();
  res.on('error', () => {});
}
