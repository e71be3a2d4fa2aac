// One HTTP exchange with the registry (or wherever a redirect points), over keep-alive agents
// whose TLS settings we control, under the one retry policy (pkg/retry.ts): a request without
// a streamed body is sent again after a network error, 408, 429 or 5xx, with backoff and the
// server's Retry-After. Every exchange has deadlines (response headers, idle socket) and ends
// when the client's signal (its run) is aborted. Bodies stay streams both ways; nothing here
// buffers a blob.
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReconcileError, StalledError, TransientError, classify, isAbort } from '../errors.js';
import type { ProxyAwareAgents } from '../proxy.js';
import { DEFAULT_RETRY_POLICY, backoffDelay, markExhausted, parseRetryAfter, retryableStatus, type RetryPolicy } from '../retry.js';
import { trustingAgents } from '../trust.js';
import { endSliced } from '../slicedWrite.js';

export interface TransportOptions {
  /** PEM CA bundle trusted in addition to the system roots. */
  ca?: string | Buffer;
  insecureSkipTLSVerify?: boolean;
  maxSockets?: number;
  /** Time from the end of the request to the response headers before the exchange fails. */
  requestTimeoutMs?: number;
  /** Idle time on a socket (no bytes either way) before the exchange fails: a stalled body too. */
  idleTimeoutMs?: number;
  retry?: RetryPolicy;
  /** Ends every exchange of this transport (the run was cancelled). */
  signal?: AbortSignal;
  /** Told of every request sent (each try), before it goes: for counting, never for changing it. */
  onRequest?: (method: string, url: URL) => void;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface Hop {
  method: string;
  url: URL;
  headers: OutgoingHttpHeaders;
  body?: Buffer | Readable;
  /**
   * Not sent again by the transport: a step of an upload session, whose state on the server a
   * second try would not match (the caller starts a new upload instead).
   */
  once?: boolean;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO',
]);

export class HttpTransport {
  private readonly agents: ProxyAwareAgents;
  private readonly requestTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly signal?: AbortSignal;
  /** Requests sent (each try counts), for tests and logs. */
  requests = 0;
  private readonly onRequest?: (method: string, url: URL) => void;

  constructor(opts: TransportOptions = {}) {
    const maxSockets = opts.maxSockets ?? 32;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.retry = opts.retry ?? DEFAULT_RETRY_POLICY;
    if (opts.signal) this.signal = opts.signal;
    if (opts.onRequest) this.onRequest = opts.onRequest;
    // The system roots stay trusted beside the CA, so that a redirect to public object storage
    // still verifies; direct or through the cluster-wide proxy, per target.
    this.agents = trustingAgents({ extraPems: opts.ca ? [opts.ca.toString()] : [], insecureSkipTLSVerify: opts.insecureSkipTLSVerify ?? false, maxSockets });
  }

  /**
   * Sends the hop; a hop without a streamed body is tried again (policy) after a transient
   * failure or a retryable status. The last answer is returned whatever its status: the caller
   * turns it into an error with the registry's own words.
   */
  async send(hop: Hop): Promise<IncomingMessage> {
    const replayable = !(hop.body instanceof Readable) && !hop.once;
    for (let attempt = 1; ; attempt++) {
      this.signal?.throwIfAborted();
      let res: IncomingMessage;
      try {
        res = await this.once(hop);
      } catch (err) {
        // A keep-alive socket the server closed while idle fails the next request at once; that
        // request never reached the server, so it is sent again at once (not counted as a try).
        if ((err as RetryMarker).staleSocket && replayable) {
          attempt--;
          continue;
        }
        if (!replayable || classify(err) !== 'transient') throw err;
        if (attempt >= this.retry.attempts) throw markExhausted(err);
        await this.pause(attempt);
        continue;
      }
      const status = res.statusCode ?? 0;
      if (replayable && retryableStatus(status)) {
        if (attempt < this.retry.attempts) {
          const after = parseRetryAfter(res.headers['retry-after']);
          drain(res);
          await this.pause(attempt, after);
          continue;
        }
        // The error the caller makes of this answer is marked as having had its tries.
        (res as RetriesSpent)[RETRIES_SPENT] = true;
      }
      return res;
    }
  }

  private async pause(attempt: number, retryAfterMs?: number): Promise<void> {
    await sleep(backoffDelay(attempt, this.retry, retryAfterMs), undefined, this.signal ? { signal: this.signal } : {});
  }

  destroy(): void {
    this.agents.destroy();
  }

  private once(hop: Hop): Promise<IncomingMessage> {
    const { url } = hop;
    const isHttps = url.protocol === 'https:';
    this.requests++;
    this.onRequest?.(hop.method, url);
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(url, {
        method: hop.method,
        headers: hop.headers,
        agent: this.agents.forUrl(url),
      });
      let settled = false;
      let headersTimer: NodeJS.Timeout | undefined;
      const signal = this.signal;
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new DOMException('cancelled', 'AbortError'));
      const fail = (err: unknown) => {
        clearTimeout(headersTimer);
        signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        const mapped = mapNetworkError(err, url.host);
        if (req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET') (mapped as RetryMarker).staleSocket = true;
        reject(mapped);
      };
      if (signal?.aborted) return void fail(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      // The socket sends or receives nothing for this long: the server stalls (a body included).
      req.setTimeout(this.idleTimeoutMs, () => {
        req.destroy(Object.assign(new Error(`no data for ${this.idleTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      // Once the request is sent, the answer must start within the request timeout.
      req.once('finish', () => {
        headersTimer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${this.requestTimeoutMs} ms`), { code: 'ETIMEDOUT' })), this.requestTimeoutMs);
        headersTimer.unref();
      });
      req.once('response', (res) => {
        clearTimeout(headersTimer);
        settled = true;
        // The body is read later by the caller: the signal must still end it.
        if (signal) res.once('close', () => signal.removeEventListener('abort', onAbort));
        resolve(res);
      });
      req.on('error', fail);
      if (hop.body instanceof Readable) {
        // A body that fails (e.g. verification) destroys the request with its own error,
        // which is then the one reported.
        pipeline(hop.body, req, (err) => { if (err) fail(err); });
      } else if (hop.body) {
        endSliced(req, hop.body);
      } else {
        req.end();
      }
    });
  }
}

type RetryMarker = Error & { staleSocket?: boolean };

/** Set on a response that is the last of the policy's tries. */
export const RETRIES_SPENT = Symbol('retriesSpent');
export type RetriesSpent = IncomingMessage & { [RETRIES_SPENT]?: boolean };

/** Network and TLS failures, with the host (never the path, which may carry upload state). */
export function mapNetworkError(err: unknown, host: string): Error {
  if (err instanceof ReconcileError) return err;
  if (isAbort(err)) return err as Error;
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
