// The controller's settings: environment variables, each mirrored by a flag (the flag wins).
// Secrets (the registry password) come from the environment or a file, never from a flag,
// since flags show in `ps`.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { serviceAccountDir } from '../pkg/k8s/kubeconfig.js';
import { parseLogLevel, type LogLevel } from './runtime/logger.js';

export const DEFAULT_INTERNAL_REGISTRY = 'image-registry.openshift-image-registry.svc:5000';

export interface Config {
  watchNamespaces: string[];
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
  metricsPort: number;
  healthPort: number;
  progressIntervalMs: number;
  relistIntervalMs: number;
  /** How long after its creation a restore waits for its location and backup before it fails. */
  restoreBundleWaitSeconds: number;
  logLevel: LogLevel;
}

interface Setting {
  env: string;
  flag: string;
  help: string;
}

export const SETTINGS: Setting[] = [
  { env: 'WATCH_NAMESPACES', flag: '--watch-namespaces', help: 'comma-separated namespaces to watch (default: the controller\'s own)' },
  { env: 'INTERNAL_REGISTRY', flag: '--internal-registry', help: `host:port of the internal registry (default ${DEFAULT_INTERNAL_REGISTRY})` },
  { env: 'REGISTRY_CA_FILE', flag: '--registry-ca-file', help: 'CA bundle for the registry (default: the service account\'s service-ca.crt when present)' },
  { env: 'REGISTRY_USER', flag: '--registry-user', help: 'registry user name (default "serviceaccount"; any name works on OpenShift)' },
  { env: 'REGISTRY_PASSWORD_FILE', flag: '--registry-password-file', help: 'file holding the registry password or token (default: the service account token); REGISTRY_PASSWORD (environment only) gives it directly' },
  { env: 'MAX_CONCURRENT_RECONCILES', flag: '--max-concurrent-reconciles', help: 'objects reconciled at once (default 4)' },
  { env: 'MAX_CONCURRENT_RUNS', flag: '--max-concurrent-runs', help: 'backups and restores copying data at once (default 2)' },
  { env: 'IMAGE_CONCURRENCY', flag: '--image-concurrency', help: 'images read at once within one backup (default: the data path\'s)' },
  { env: 'BLOB_CONCURRENCY', flag: '--blob-concurrency', help: 'blobs copied at once within one backup (default: the data path\'s)' },
  { env: 'UPLOAD_BUFFER_MIB', flag: '--upload-buffer-mib', help: 'MiB of part buffers a backup\'s large-layer uploads may hold together (default: the data path\'s, 64; at least 24)' },
  { env: 'METRICS_PORT', flag: '--metrics-port', help: 'port of /metrics (default 8080; 0 picks a free port)' },
  { env: 'HEALTH_PORT', flag: '--health-port', help: 'port of /healthz and /readyz (default 8081; 0 picks a free port)' },
  { env: 'PROGRESS_INTERVAL_MS', flag: '--progress-interval-ms', help: 'least time between two progress writes of one object (default 2000)' },
  { env: 'RELIST_INTERVAL_MS', flag: '--relist-interval-ms', help: 'period of the full relist of each watched kind (default 300000)' },
  { env: 'RESTORE_BUNDLE_WAIT_SECONDS', flag: '--restore-bundle-wait-seconds', help: 'how long after its creation a restore waits for its location and backup (default 600; 0 fails at once)' },
  { env: 'LOG_LEVEL', flag: '--log-level', help: 'debug, info, warn or error (default info)' },
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

export function parseConfig(src: ConfigSources): Config {
  const saDir = src.saDir ?? serviceAccountDir;
  const exists = src.exists ?? existsSync;
  const readFile = src.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const values = { ...pick(src.env), ...parseFlags(src.argv) };
  const get = (env: string) => {
    const v = values[env]?.trim();
    return v ? v : undefined;
  };

  let watchNamespaces = (get('WATCH_NAMESPACES') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (watchNamespaces.length === 0) {
    const own = get('POD_NAMESPACE') ?? (exists(path.join(saDir, 'namespace')) ? readFile(path.join(saDir, 'namespace')).trim() : undefined);
    if (!own) throw new ConfigError('no namespace to watch: set WATCH_NAMESPACES (or POD_NAMESPACE, or run in a pod)');
    watchNamespaces = [own];
  }
  for (const ns of watchNamespaces) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) throw new ConfigError(`WATCH_NAMESPACES: ${JSON.stringify(ns)} is not a namespace name`);
  }

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
  const optInt = (env: string): number | undefined => (get(env) === undefined ? undefined : int(env, 0));

  const level = get('LOG_LEVEL');
  if (level !== undefined && parseLogLevel(level) !== level) throw new ConfigError(`LOG_LEVEL: ${JSON.stringify(level)} must be debug, info, warn or error`);

  return {
    watchNamespaces,
    internalRegistry,
    ...(registryCaFile && { registryCaFile }),
    registryUser: get('REGISTRY_USER') ?? 'serviceaccount',
    ...(registryPassword && { registryPassword }),
    maxConcurrentReconciles: int('MAX_CONCURRENT_RECONCILES', 4),
    maxConcurrentRuns: int('MAX_CONCURRENT_RUNS', 2),
    ...(optInt('IMAGE_CONCURRENCY') !== undefined && { imageConcurrency: optInt('IMAGE_CONCURRENCY')! }),
    ...(optInt('BLOB_CONCURRENCY') !== undefined && { blobConcurrency: optInt('BLOB_CONCURRENCY')! }),
    ...(get('UPLOAD_BUFFER_MIB') !== undefined && { uploadBufferMiB: int('UPLOAD_BUFFER_MIB', 64, 24) }),
    metricsPort: int('METRICS_PORT', 8080, 0),
    healthPort: int('HEALTH_PORT', 8081, 0),
    progressIntervalMs: int('PROGRESS_INTERVAL_MS', 2_000, 100),
    relistIntervalMs: int('RELIST_INTERVAL_MS', 300_000, 1_000),
    restoreBundleWaitSeconds: int('RESTORE_BUNDLE_WAIT_SECONDS', 600, 0),
    logLevel: parseLogLevel(level),
  };
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
    ...SETTINGS.map((s) => `  ${s.flag.padEnd(30)} ${s.env.padEnd(26)} ${s.help}`),
    `  ${''.padEnd(30)} ${'REGISTRY_PASSWORD'.padEnd(26)} the registry password or token (environment only)`,
    `  ${''.padEnd(30)} ${'POD_NAMESPACE'.padEnd(26)} the controller's namespace, when WATCH_NAMESPACES is empty`,
  ].join('\n');
}

function pick(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { POD_NAMESPACE: env.POD_NAMESPACE };
  for (const s of SETTINGS) out[s.env] = env[s.env];
  return out;
}

function parseFlags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const setting = SETTINGS.find((s) => s.flag === flag);
    if (!setting) throw new ConfigError(`unknown flag ${JSON.stringify(flag)}\n\n${usage()}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`flag ${flag} needs a value`);
    out[setting.env] = value;
  }
  return out;
}
