// The controller's settings: environment variables, each mirrored by a flag (the flag wins),
// parsed by util.parseArgs from one table. Secrets (the registry password) come from the
// environment or a file, never from a flag, since flags show in `ps`.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { serviceAccountDir } from '../pkg/k8s/kubeconfig.js';
import type { RetryPolicy } from '../pkg/retry.js';
import { parseLogLevel, type LogLevel } from './runtime/logger.js';

export const DEFAULT_INTERNAL_REGISTRY = 'image-registry.openshift-image-registry.svc:5000';

export interface LeaderElection {
  /** Off: this process reconciles without a lease (one replica, or tests). */
  enabled: boolean;
  namespace: string;
  name: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** How runs that fail for a reason that may pass are tried again. */
export interface RunRetry {
  /** From the start of a run of the current spec: after this, the last error is final. */
  deadlineMs: number;
  /** The first wait before a run is tried again; each next one doubles, up to maxMs. */
  baseMs: number;
  maxMs: number;
}

/** Every request to the registry and the object store. */
export interface TransportSettings {
  retry: RetryPolicy;
  /** Time to the response headers once a request is sent. */
  requestTimeoutMs: number;
  /** A connection (a streamed body too) with no byte for this long fails. */
  idleTimeoutMs: number;
  /** Token files a trusted location's web identity (STS) may read; pkg/store's defaults when unset. */
  webIdentityTokenFiles?: string[];
}

export interface Config {
  watchNamespaces: string[];
  /** The controller's own namespace (POD_NAMESPACE or the service account's; out of a pod, the first watched one). */
  ownNamespace: string;
  /** Namespaces (the own one included) whose objects may read and write any namespace; every other watched one only its own. */
  adminNamespaces: string[];
  internalRegistry: string;
  registryCaFile?: string;
  registryUser: string;
  /** Where the registry password comes from; read again for each run, as service account tokens rotate. */
  registryPassword?: { value: string } | { file: string };
  maxConcurrentReconciles: number;
  maxConcurrentRuns: number;
  imageConcurrency?: number;
  blobConcurrency?: number;
  /** MiB that a backup's multipart uploads may hold in part buffers together. */
  uploadBufferMiB?: number;
  /** Back up each image's referrers and cosign signature, attestation and SBOM tags. */
  backupReferrers: boolean;
  metricsPort: number;
  healthPort: number;
  progressIntervalMs: number;
  relistIntervalMs: number;
  /** How long after its creation a restore waits for its location and backup before it fails. */
  restoreBundleWaitSeconds: number;
  /** Period of the re-check of plugin-made ISBs against their Velero backups (a missed event, a TTL expiry while down). */
  veleroSyncCheckMs: number;
  leaderElection: LeaderElection;
  runRetry: RunRetry;
  transport: TransportSettings;
  /** Every Kubernetes API call (informer lists included). */
  apiTimeoutMs: number;
  gc: GcSettings;
  logLevel: LogLevel;
}

/** The pool's garbage collector (pkg/gc). */
export interface GcSettings {
  /** A blob is deleted only when unreferenced at two passes this far apart, and older than this. */
  graceMs: number;
  /** Passes over every location on this period; 0: only after deletions. */
  intervalMs: number;
  /** Report what would be deleted, delete nothing. */
  dryRun: boolean;
  /** The collector's fence with running backups (pkg/gc/collect.ts). */
  fenceMs: number;
}

interface Setting {
  env: string;
  flag: string;
  help: string;
}

const s = (env: string, help: string): Setting => ({ env, flag: `--${env.toLowerCase().replace(/_/g, '-')}`, help });

export const SETTINGS: Setting[] = [
  s('WATCH_NAMESPACES', 'comma-separated namespaces to watch (default: the controller\'s own)'),
  s('INTERNAL_REGISTRY', `host:port of the internal registry (default ${DEFAULT_INTERNAL_REGISTRY})`),
  s('REGISTRY_CA_FILE', 'CA bundle for the registry (default: the service account\'s service-ca.crt when present)'),
  s('REGISTRY_USER', 'registry user name (default "serviceaccount"; any name works on OpenShift)'),
  s('REGISTRY_PASSWORD_FILE', 'file holding the registry password or token (default: the service account token); REGISTRY_PASSWORD (environment only) gives it directly'),
  s('MAX_CONCURRENT_RECONCILES', 'objects reconciled at once (default 4)'),
  s('MAX_CONCURRENT_RUNS', 'backups and restores copying data at once (default 2)'),
  s('IMAGE_CONCURRENCY', 'images copied at once within one backup or restore (a backup reads the trees of 16 images at once, or this many if more) (default: the data path\'s)'),
  s('BLOB_CONCURRENCY', 'blobs copied at once within one backup (default: the data path\'s)'),
  s('UPLOAD_BUFFER_MIB', 'MiB of part buffers a backup\'s large-layer uploads may hold together (default: the data path\'s, 64; at least 24)'),
  s('BACKUP_REFERRERS', 'back up what is attached to each image: OCI referrers (signatures, attestations, SBOMs) and cosign tags sha256-<hex>.sig/.att/.sbom, restored with it (default true)'),
  s('METRICS_PORT', 'port of /metrics (default 8080; 0 picks a free port)'),
  s('HEALTH_PORT', 'port of /healthz and /readyz (default 8081; 0 picks a free port)'),
  s('PROGRESS_INTERVAL_MS', 'least time between two progress writes of one object (default 2000)'),
  s('RELIST_INTERVAL_MS', 'period of the full relist of each watched kind (default 300000)'),
  s('RESTORE_BUNDLE_WAIT_SECONDS', 'how long after its creation a restore waits for its location and backup (default 600; 0 fails at once)'),
  s('VELERO_SYNC_CHECK_SECONDS', 'period of the check that deletes the ImageStreamsBackups of Velero backups Velero deleted, besides the watch (default 300)'),
  s('ADMIN_NAMESPACES', 'comma-separated namespaces whose ImageStreamsBackups and ImageStreamsRestores may use any namespace (the controller\'s own always may), e.g. Velero\'s when the controller runs elsewhere; in every other watched namespace, an object backs up and restores its own namespace only'),
  s('LEADER_ELECT', 'take a coordination.k8s.io Lease before reconciling, so that one replica works at a time (default true)'),
  s('LEADER_ELECTION_NAMESPACE', 'namespace of the Lease (default: the controller\'s own)'),
  s('LEADER_ELECTION_ID', 'name of the Lease (default imagestream-backup)'),
  s('LEASE_DURATION_SECONDS', 'how long a standby waits after the last renewal before it takes the Lease (default 15)'),
  s('RENEW_DEADLINE_SECONDS', 'how long the leader tries to renew before it gives up leading (default 10)'),
  s('RETRY_PERIOD_SECONDS', 'how often the Lease is tried or renewed (default 2)'),
  s('RUN_DEADLINE_SECONDS', 'how long a backup or restore keeps trying after failures that may pass, from the start of its run; then the last error is final (default 14400: Velero\'s item operation timeout)'),
  s('RETRY_BASE_SECONDS', 'first wait before a run that failed for a reason that may pass is tried again; doubles each time (default 5)'),
  s('RETRY_MAX_SECONDS', 'the longest wait between two tries of a run (default 300)'),
  s('REQUEST_ATTEMPTS', 'tries of one registry or object storage request after network errors, 408, 429 and 5xx (default 5)'),
  s('REQUEST_TIMEOUT_SECONDS', 'time to the answer of a registry or object storage request (default 60)'),
  s('IDLE_TIMEOUT_SECONDS', 'a registry or object storage connection, a streamed body included, with no byte for this long fails and is tried again (default 60)'),
  s('WEB_IDENTITY_TOKEN_FILES', 'comma-separated absolute paths of the token files a BSL credential of a trusted namespace may name for web identity (STS) (default: the files OADP and EKS project into pods)'),
  s('API_TIMEOUT_SECONDS', 'deadline of every Kubernetes API call, informer lists included (default 30)'),
  s('GC_GRACE_SECONDS', 'a blob of the pool is deleted only when no backup has used it at two passes of the collector this far apart, and it is older than this (default 86400)'),
  s('GC_INTERVAL_SECONDS', 'the collector passes over every backup location on this period, and after deletions (default 21600; 0: only after deletions)'),
  s('GC_DRY_RUN', 'the collector reports what it would delete (events, log, metrics) and deletes nothing (default false)'),
  s('GC_FENCE_SECONDS', 'how long a backup that commits while a collector runs waits before it checks its blobs; the collector deletes within half of it from its last look at the running backups (default 20)'),
  s('LOG_LEVEL', 'debug, info, warn or error (default info)'),
];

export class ConfigError extends Error {}

export interface ConfigSources {
  argv: string[];
  env: Record<string, string | undefined>;
  /** The service account directory (a parameter for tests). */
  saDir?: string;
  exists?: (file: string) => boolean;
  readFile?: (file: string) => string;
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseConfig(src: ConfigSources): Config {
  const saDir = src.saDir ?? serviceAccountDir;
  const exists = src.exists ?? existsSync;
  const readFile = src.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const flags = parseFlags(src.argv);
  const get = (env: string): string | undefined => {
    const v = (flags.get(env) ?? (Object.hasOwn(src.env, env) ? src.env[env] : undefined))?.trim();
    return v ? v : undefined;
  };

  const saNamespace = path.join(saDir, 'namespace');
  const ownNamespace = get('POD_NAMESPACE') ?? (exists(saNamespace) ? readFile(saNamespace).trim() || undefined : undefined);
  let watchNamespaces = (get('WATCH_NAMESPACES') ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  if (watchNamespaces.length === 0) {
    if (!ownNamespace) throw new ConfigError('no namespace to watch: set WATCH_NAMESPACES (or POD_NAMESPACE, or run in a pod)');
    watchNamespaces = [ownNamespace];
  }
  for (const ns of watchNamespaces) {
    if (!NAMESPACE.test(ns)) throw new ConfigError(`WATCH_NAMESPACES: ${JSON.stringify(ns)} is not a namespace name`);
  }
  watchNamespaces = [...new Set(watchNamespaces)];

  const internalRegistry = get('INTERNAL_REGISTRY') ?? DEFAULT_INTERNAL_REGISTRY;
  if (!/^[A-Za-z0-9.[\]:-]+$/.test(internalRegistry) || internalRegistry.includes('://')) {
    throw new ConfigError(`INTERNAL_REGISTRY: ${JSON.stringify(internalRegistry)} must be host[:port], without scheme or path`);
  }
  const saCa = path.join(saDir, 'service-ca.crt');
  const registryCaFile = get('REGISTRY_CA_FILE') ?? (exists(saCa) ? saCa : undefined);
  const saToken = path.join(saDir, 'token');
  const password = src.env.REGISTRY_PASSWORD;
  const passwordFile = get('REGISTRY_PASSWORD_FILE') ?? (exists(saToken) ? saToken : undefined);
  const registryPassword = password ? { value: password } : passwordFile ? { file: passwordFile } : undefined;

  const int = (env: string, dflt: number, min = 1): number => {
    const v = get(env);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new ConfigError(`${env}: ${JSON.stringify(v)} must be an integer >= ${min}`);
    return n;
  };
  const optInt = (env: string, min = 1): number | undefined => (get(env) === undefined ? undefined : int(env, 0, min));
  const bool = (env: string, dflt: boolean): boolean => {
    const v = get(env)?.toLowerCase();
    if (v === undefined) return dflt;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new ConfigError(`${env}: ${JSON.stringify(v)} must be true or false`);
  };

  const level = get('LOG_LEVEL');
  if (level !== undefined && parseLogLevel(level) !== level) throw new ConfigError(`LOG_LEVEL: ${JSON.stringify(level)} must be debug, info, warn or error`);

  const own = ownNamespace ?? watchNamespaces[0]!;
  const leaderElection = parseLeaderElection(get, int, bool, own);
  const adminNamespaces = [...new Set([own, ...(get('ADMIN_NAMESPACES') ?? '').split(',').map((x) => x.trim()).filter(Boolean)])];
  for (const ns of adminNamespaces) {
    if (!NAMESPACE.test(ns)) throw new ConfigError(`ADMIN_NAMESPACES: ${JSON.stringify(ns)} is not a namespace name`);
  }
  const imageConcurrency = optInt('IMAGE_CONCURRENCY');
  const blobConcurrency = optInt('BLOB_CONCURRENCY');
  const uploadBufferMiB = optInt('UPLOAD_BUFFER_MIB', 24);
  const tokenFiles = get('WEB_IDENTITY_TOKEN_FILES');
  const webIdentityTokenFiles = tokenFiles === undefined ? undefined : tokenFiles.split(',').map((x) => x.trim()).filter(Boolean);
  for (const f of webIdentityTokenFiles ?? []) {
    if (!f.startsWith('/') || f.split('/').includes('..')) throw new ConfigError(`WEB_IDENTITY_TOKEN_FILES: ${JSON.stringify(f)} is not an absolute path`);
  }

  return {
    watchNamespaces,
    ownNamespace: own,
    adminNamespaces,
    internalRegistry,
    ...(registryCaFile && { registryCaFile }),
    registryUser: get('REGISTRY_USER') ?? 'serviceaccount',
    ...(registryPassword && { registryPassword }),
    maxConcurrentReconciles: int('MAX_CONCURRENT_RECONCILES', 4),
    maxConcurrentRuns: int('MAX_CONCURRENT_RUNS', 2),
    ...(imageConcurrency !== undefined && { imageConcurrency }),
    ...(blobConcurrency !== undefined && { blobConcurrency }),
    ...(uploadBufferMiB !== undefined && { uploadBufferMiB }),
    backupReferrers: bool('BACKUP_REFERRERS', true),
    metricsPort: int('METRICS_PORT', 8080, 0),
    healthPort: int('HEALTH_PORT', 8081, 0),
    progressIntervalMs: int('PROGRESS_INTERVAL_MS', 2_000, 100),
    relistIntervalMs: int('RELIST_INTERVAL_MS', 300_000, 1_000),
    restoreBundleWaitSeconds: int('RESTORE_BUNDLE_WAIT_SECONDS', 600, 0),
    veleroSyncCheckMs: int('VELERO_SYNC_CHECK_SECONDS', 300) * 1000,
    leaderElection,
    runRetry: {
      deadlineMs: int('RUN_DEADLINE_SECONDS', 14_400) * 1000,
      baseMs: int('RETRY_BASE_SECONDS', 5) * 1000,
      maxMs: int('RETRY_MAX_SECONDS', 300) * 1000,
    },
    transport: {
      retry: { attempts: int('REQUEST_ATTEMPTS', 5), baseMs: 500, maxMs: 20_000 },
      requestTimeoutMs: int('REQUEST_TIMEOUT_SECONDS', 60) * 1000,
      idleTimeoutMs: int('IDLE_TIMEOUT_SECONDS', 60) * 1000,
      ...(webIdentityTokenFiles && { webIdentityTokenFiles }),
    },
    apiTimeoutMs: int('API_TIMEOUT_SECONDS', 30) * 1000,
    gc: {
      graceMs: int('GC_GRACE_SECONDS', 86_400) * 1000,
      intervalMs: int('GC_INTERVAL_SECONDS', 21_600, 0) * 1000,
      dryRun: bool('GC_DRY_RUN', false),
      fenceMs: int('GC_FENCE_SECONDS', 20) * 1000,
    },
    logLevel: parseLogLevel(level),
  };
}

function parseLeaderElection(
  get: (env: string) => string | undefined, int: (env: string, dflt: number, min?: number) => number,
  bool: (env: string, dflt: boolean) => boolean, ownNamespace: string,
): LeaderElection {
  const namespace = get('LEADER_ELECTION_NAMESPACE') ?? ownNamespace;
  if (!NAMESPACE.test(namespace)) throw new ConfigError(`LEADER_ELECTION_NAMESPACE: ${JSON.stringify(namespace)} is not a namespace name`);
  const name = get('LEADER_ELECTION_ID') ?? 'imagestream-backup';
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new ConfigError(`LEADER_ELECTION_ID: ${JSON.stringify(name)} is not an object name`);
  const leaseDurationMs = int('LEASE_DURATION_SECONDS', 15) * 1000;
  const renewDeadlineMs = int('RENEW_DEADLINE_SECONDS', 10) * 1000;
  const retryPeriodMs = int('RETRY_PERIOD_SECONDS', 2) * 1000;
  // client-go's rules: a leader must give up before a standby may take over.
  if (renewDeadlineMs >= leaseDurationMs) throw new ConfigError('RENEW_DEADLINE_SECONDS must be less than LEASE_DURATION_SECONDS');
  if (retryPeriodMs >= renewDeadlineMs) throw new ConfigError('RETRY_PERIOD_SECONDS must be less than RENEW_DEADLINE_SECONDS');
  return { enabled: bool('LEADER_ELECT', true), namespace, name, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

/** Reads the registry password now (a rotated token file gives the new token). */
export function readRegistryPassword(cfg: Config, readFile: (f: string) => string = (f) => readFileSync(f, 'utf8')): string | undefined {
  const p = cfg.registryPassword;
  if (!p) return undefined;
  return 'value' in p ? p.value : readFile(p.file).trim();
}

export function usage(): string {
  return ['Usage: node dist/controllers/main.js [flags]', '',
    'Each setting is an environment variable or its flag (--flag=value or --flag value); the flag wins.', '',
    ...SETTINGS.map((x) => `  ${x.flag.padEnd(32)} ${x.env.padEnd(28)} ${x.help}`),
    `  ${''.padEnd(32)} ${'REGISTRY_PASSWORD'.padEnd(28)} the registry password or token (environment only)`,
    `  ${''.padEnd(32)} ${'POD_NAMESPACE'.padEnd(28)} the controller's namespace (the downward API)`,
    `  ${''.padEnd(32)} ${'HTTPS_PROXY, NO_PROXY'.padEnd(28)} the cluster-wide proxy, honoured by every client`,
  ].join('\n');
}

/** Flag values by their environment variable's name. */
function parseFlags(argv: string[]): Map<string, string> {
  const options = Object.fromEntries(SETTINGS.map((x) => [x.flag.slice(2), { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const unknown = /option '([^' ]+)/i.exec(e.message ?? '')?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new ConfigError(`unknown flag ${JSON.stringify(unknown ?? '?')}\n\n${usage()}`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new ConfigError(`flag ${unknown ?? ''} needs a value`.trim());
    throw new ConfigError(e.message ?? String(err));
  }
  const out = new Map<string, string>();
  for (const x of SETTINGS) {
    const v = values[x.flag.slice(2)];
    if (typeof v === 'string') out.set(x.env, v);
  }
  return out;
}
