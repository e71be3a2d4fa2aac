// Reading API errors from @kubernetes/client-node 1.x, whose ApiException message embeds the
// whole body and headers: callers get the HTTP code and the Status message instead.

export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => httpStatus(err) === 404;
export const isConflict = (err: unknown): boolean => httpStatus(err) === 409;

/** The API server's own words (Status.message) when the error carries a Status body. */
export function apiErrorMessage(err: unknown): string {
  const code = httpStatus(err);
  if (code !== undefined) {
    let body = (err as { body?: unknown }).body;
    if (typeof body === 'string') {
      try { body = JSON.parse(body); } catch { /* not JSON: fall through */ }
    }
    const message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
    return typeof message === 'string' ? `HTTP ${code}: ${message}` : `HTTP ${code}`;
  }
  return err instanceof Error ? err.message : String(err);
}
