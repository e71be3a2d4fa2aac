// The few HTTP requests the GCS store sends (its JSON API), through the store's agents (the
// BSL's caCert, the cluster-wide proxy and NO_PROXY) with the idle timeout of every other
// request: the library's own transport takes its agents from a process-wide pool and the
// process environment, where a CA per backup location cannot go.
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { parseRetryAfter } from '../../retry.js';
import { endSliced } from '../../slicedWrite.js';

export interface GcsRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

export interface GcsResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

/** An answer other than the ones a call expects, with what GCS said about it. */
export class GcsHttpError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string, readonly retryAfterMs?: number) {
    super(message);
    this.name = 'GcsHttpError';
  }
}

export function send(req: GcsRequest, agent: http.Agent, idleTimeoutMs: number): Promise<GcsResponse> {
  return new Promise((resolve, reject) => {
    const lib = req.url.protocol === 'https:' ? https : http;
    const body = req.body;
    const length = Buffer.isBuffer(body) ? body.length : undefined;
    const request = lib.request(req.url, {
      method: req.method, agent,
      headers: { ...req.headers, ...(length !== undefined && { 'content-length': String(length) }), ...(body === undefined && req.method !== 'GET' && req.method !== 'HEAD' && { 'content-length': '0' }) },
      ...(req.signal && { signal: req.signal }),
    });
    // No byte either way for this long fails the request (and a body being read after it).
    request.setTimeout(idleTimeoutMs, () => request.destroy(Object.assign(new Error(`no progress for ${Math.round(idleTimeoutMs / 1000)}s`), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
    request.on('response', (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }));
    if (body === undefined) request.end();
    else if (Buffer.isBuffer(body)) endSliced(request, body);
    else {
      // pipe() does not pass a failing body on: it fails the request, so GCS never sees the body end.
      body.on('error', (err) => request.destroy(err));
      body.pipe(request);
    }
  });
}

/** A small body read whole (JSON answers); more than `limit` bytes is refused. */
export async function readBody(res: GcsResponse, limit = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    got += c.length;
    if (got > limit) {
      res.body.destroy();
      throw new Error(`an answer of more than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export async function readJson<T>(res: GcsResponse): Promise<T> {
  return JSON.parse((await readBody(res)).toString('utf8')) as T;
}

/** The answer as an error: GCS's JSON error (`{error: {code, message, errors: [{reason}]}}`), its text never longer than a line. */
export async function httpError(res: GcsResponse): Promise<GcsHttpError> {
  let reason = '';
  let message = `HTTP ${res.status}`;
  try {
    const parsed = JSON.parse((await readBody(res, 64 * 1024)).toString('utf8')) as { error?: { message?: string; errors?: Array<{ reason?: string }> } };
    reason = parsed.error?.errors?.[0]?.reason ?? '';
    if (parsed.error?.message) message = parsed.error.message.split('\n')[0]!.slice(0, 300);
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return new GcsHttpError(res.status, reason, message, parseRetryAfter(res.headers['retry-after']));
}
