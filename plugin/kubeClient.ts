// A small client for the few Kubernetes API calls the plugin makes. Why not
// @kubernetes/client-node, as the controller: loading it cost about 0.1 s and 15 MB of every
// plugin start (measured in the single executable), and Velero starts a plugin process per
// backup and per operation poll. The connection is found as client-go finds it: $KUBECONFIG (a
// list of files, merged), ~/.kube/config, then the pod's service account. Credentials: bearer token (or token file), client certificate,
// or basic auth; exec and auth-provider plugins are not run.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { homedir } from 'node:os';
import path from 'node:path';
import { load } from 'js-yaml';
import { ProxyAwareAgents, type Env } from '../pkg/proxy.js';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const REQUEST_TIMEOUT_MS = 30_000;

/** An API error: `code` is the HTTP status and `body` the Status object, as pkg/k8s/errors.ts reads them. */
export class KubeApiError extends Error {
  constructor(readonly code: number, readonly body: unknown, method: string, urlPath: string) {
    const message = (body as { message?: unknown } | undefined)?.message;
    super(`${method} ${urlPath}: HTTP ${code}${typeof message === 'string' ? `: ${message}` : ''}`);
  }
}

export interface KubeConnection {
  server: URL;
  tls: https.AgentOptions;
  /** The Authorization header, read at each request (a token file may be rotated). */
  authorization(): string | undefined;
}

interface NamedEntry<T> { name: string; [key: string]: unknown; cluster?: T; user?: T; context?: T }
interface KubeconfigFile {
  'current-context'?: string;
  clusters?: NamedEntry<Record<string, unknown>>[];
  users?: NamedEntry<Record<string, unknown>>[];
  contexts?: NamedEntry<Record<string, unknown>>[];
}

export function loadConnection(env: Env = process.env): KubeConnection {
  const files = env.KUBECONFIG ? env.KUBECONFIG.split(path.delimiter).filter(Boolean) : [path.join(homedir(), '.kube', 'config')];
  const found = files.map((f) => ({ file: f, text: readIfThere(f) })).filter((f) => f.text !== undefined);
  if (found.length > 0) return fromKubeconfig(found as Array<{ file: string; text: string }>);
  if (env.KUBECONFIG) throw new Error(`KUBECONFIG=${env.KUBECONFIG}: no such file`);
  return inCluster(env);
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function inCluster(env: Env): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) throw new Error('no kubeconfig ($KUBECONFIG, ~/.kube/config) and not in a pod (no KUBERNETES_SERVICE_HOST)');
  const server = new URL(`https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`);
  return {
    server,
    tls: { ca: readFileSync(path.join(SERVICE_ACCOUNT_DIR, 'ca.crt')) },
    authorization: () => `Bearer ${readFileSync(path.join(SERVICE_ACCOUNT_DIR, 'token'), 'utf8').trim()}`,
  };
}

/** client-go's merge: for each name, the first file that defines it wins; so does the first current-context. */
function fromKubeconfig(files: Array<{ file: string; text: string }>): KubeConnection {
  const parsed = files.map(({ file, text }) => ({ dir: path.dirname(path.resolve(file)), config: (load(text) ?? {}) as KubeconfigFile }));
  const shown = files.map((f) => f.file).join(path.delimiter);
  const pick = <K extends 'clusters' | 'users' | 'contexts'>(kind: K, name: string | undefined) => {
    for (const { dir, config } of parsed) {
      const entry = config[kind]?.find((e) => e.name === name);
      if (entry) return { dir, value: (entry[kind.slice(0, -1) as 'cluster' | 'user' | 'context'] ?? {}) as Record<string, unknown> };
    }
    throw new Error(`kubeconfig ${shown}: no ${kind.slice(0, -1)} named ${JSON.stringify(name)}`);
  };
  const current = parsed.map((p) => p.config['current-context']).find(Boolean);
  if (!current) throw new Error(`kubeconfig ${shown}: no current-context`);
  const context = pick('contexts', current).value;
  const cluster = pick('clusters', context.cluster as string);
  const user = pick('users', context.user as string);
  const c = cluster.value;
  const u = user.value;
  if (u.exec || u['auth-provider']) {
    throw new Error(`kubeconfig ${shown}: user ${JSON.stringify(context.user)} needs an exec or auth-provider plugin, which this plugin does not run: `
      + 'give it a token or a client certificate (in a pod, the service account is used)');
  }
  const fileOrData = (dir: string, values: Record<string, unknown>, key: string): Buffer | undefined => {
    if (typeof values[`${key}-data`] === 'string') return Buffer.from(values[`${key}-data`] as string, 'base64');
    if (typeof values[key] === 'string') return readFileSync(path.resolve(dir, values[key] as string));
    return undefined;
  };
  const ca = fileOrData(cluster.dir, c, 'certificate-authority');
  const cert = fileOrData(user.dir, u, 'client-certificate');
  const key = fileOrData(user.dir, u, 'client-key');
  const tokenFile = typeof u.tokenFile === 'string' ? path.resolve(user.dir, u.tokenFile) : undefined;
  return {
    server: new URL(String(c.server)),
    tls: { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), ...(c['insecure-skip-tls-verify'] === true && { rejectUnauthorized: false }) },
    authorization: () => {
      if (typeof u.token === 'string') return `Bearer ${u.token}`;
      if (tokenFile) return `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
      if (typeof u.username === 'string') return `Basic ${Buffer.from(`${u.username}:${String(u.password ?? '')}`).toString('base64')}`;
      return undefined;
    },
  };
}

export class KubeClient {
  private readonly agents: ProxyAwareAgents;

  constructor(private readonly connection: KubeConnection, env: Env = process.env) {
    this.agents = new ProxyAwareAgents({ https: { ...connection.tls, keepAlive: true } }, env);
  }

  /** One JSON request; resolves with the decoded body, rejects with KubeApiError on any status but 2xx. */
  request<T>(method: string, urlPath: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const url = new URL(urlPath, this.connection.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const authorization = this.connection.authorization();
    return new Promise<T>((resolve, reject) => {
      const req = https.request(url, {
        method,
        agent: this.agents.forUrl(url),
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          Accept: 'application/json',
          ...(authorization && { Authorization: authorization }),
          ...(payload && { 'Content-Type': contentType, 'Content-Length': payload.length }),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let decoded: unknown = text;
          try { decoded = text ? JSON.parse(text) : undefined; } catch { /* not JSON: kept as text */ }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(decoded as T);
          else reject(new KubeApiError(code, decoded, method, url.pathname));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agents.destroy();
  }
}
