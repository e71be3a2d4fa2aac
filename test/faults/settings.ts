// The controller's settings in fault tests: short retries and timeouts, so that a case shows
// its recovery in seconds. Until the lifecycle work (issue 12 items 1-5) reads them, the
// controller ignores the ones it does not know.
export const FAULT_SETTINGS = {
  RETRY_BASE_SECONDS: 1,
  RETRY_MAX_SECONDS: 8,
  REQUEST_ATTEMPTS: 3,
  REQUEST_TIMEOUT_SECONDS: 10,
  IDLE_TIMEOUT_SECONDS: 5,
  API_TIMEOUT_SECONDS: 10,
  RUN_DEADLINE_SECONDS: 900,
  IMAGE_CONCURRENCY: 2,
  BLOB_CONCURRENCY: 2,
  PROGRESS_INTERVAL_MS: 300,
} as const;

export function controllerEnv(overrides: Partial<Record<keyof typeof FAULT_SETTINGS, number>> = {}): Record<string, string> {
  const merged = { ...FAULT_SETTINGS, ...overrides };
  return {
    ...Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, String(v)])),
    // One controller per case, restarted at will: a Lease would make the next process wait for it.
    LEADER_ELECT: 'false',
  };
}

/**
 * The most connections (or requests) a controller with a real backoff can open to a server that
 * is down for `windowSeconds`. Runs: the one that meets the outage, then one after each backoff
 * delay RETRY_BASE_SECONDS * 2^k, capped at RETRY_MAX_SECONDS; a delay is taken at half its
 * nominal length, so that jitter of up to -50% still meets the bound. Each run sends at most
 * IMAGE_CONCURRENCY * BLOB_CONCURRENCY requests at once, plus one check of the server before
 * copying, and each request is tried REQUEST_ATTEMPTS times, each try on a new connection (the
 * last one was refused). A controller without a backoff starts a run again as soon as the last
 * one failed (a few ms on loopback): hundreds of runs in a minute, far over this bound.
 */
export function outageBound(windowSeconds: number, s: { [K in keyof typeof FAULT_SETTINGS]: number } = FAULT_SETTINGS): { runs: number; perRun: number; bound: number } {
  let runs = 1;
  let elapsed = 0;
  for (let k = 0; ; k++) {
    elapsed += Math.min(s.RETRY_BASE_SECONDS * 2 ** k, s.RETRY_MAX_SECONDS) / 2;
    if (elapsed > windowSeconds) break;
    runs++;
  }
  const perRun = (s.IMAGE_CONCURRENCY * s.BLOB_CONCURRENCY + 1) * s.REQUEST_ATTEMPTS;
  return { runs, perRun, bound: runs * perRun };
}
