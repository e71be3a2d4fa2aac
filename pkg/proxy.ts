// The cluster-wide proxy, as OpenShift and OADP set it in a pod's environment: HTTPS_PROXY for
// https targets, HTTP_PROXY for http ones, NO_PROXY for the targets reached directly. NO_PROXY
// entries are host names (`.svc`, `cluster.local` and `*.example.com` match subdomains), IP
// addresses, CIDR blocks (`10.0.0.0/16`, as OpenShift lists the cluster networks), an
// optional `:port`, or `*` for everything. Every client (object storage, the registry, the API
// server) asks here which way to go.
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';

export type Env = Record<string, string | undefined>;

function envValue(env: Env, name: string): string | undefined {
  const v = env[name] ?? env[name.toLowerCase()];
  return v && v.trim() ? v.trim() : undefined;
}

/** The proxy URL to use for `target`, or undefined to connect directly. */
export function proxyFor(target: URL, env: Env = process.env): string | undefined {
  const proxy = envValue(env, target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY');
  if (!proxy) return undefined;
  return bypassed(target, envValue(env, 'NO_PROXY') ?? '') ? undefined : proxy;
}

export function bypassed(target: URL, noProxy: string): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(',')) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    // An entry with a port matches that port only.
    let entryPort: string | undefined;
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !entry.includes('/') && (isIP(m[1]!.replace(/^\[|\]$/g, '')) !== 0 || !m[1]!.includes(':'))) {
      entry = m[1]!;
      entryPort = m[2];
    }
    if (entryPort && entryPort !== port) continue;
    entry = entry.replace(/^\[|\]$/g, '');
    if (entry.includes('/')) {
      if (inCidr(host, entry)) return true;
      continue;
    }
    if (isIP(entry)) {
      if (entry === host) return true;
      continue;
    }
    const domain = entry.replace(/^\*?\./, '');
    if (host === domain || host.endsWith(`.${domain}`)) return true;
  }
  return false;
}

function inCidr(host: string, cidr: string): boolean {
  const family = isIP(host);
  const [net, bits] = cidr.split('/');
  if (!family || !net || isIP(net) !== family || !/^\d+$/.test(bits ?? '')) return false;
  const list = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  try {
    list.addSubnet(net, Number(bits), type);
  } catch {
    return false;
  }
  return list.check(host, type);
}

/** Agents for one client: direct, or through the proxy the environment names, chosen per target and kept for reuse. */
export class ProxyAwareAgents {
  private readonly agents = new Map<string, http.Agent>();

  constructor(
    private readonly options: { https: https.AgentOptions; http?: http.AgentOptions },
    private readonly env: Env = process.env,
  ) {}

  /** The agent for requests to `target`. */
  forUrl(target: URL): http.Agent {
    const secure = target.protocol === 'https:';
    const proxy = proxyFor(target, this.env);
    const key = `${secure ? 'https' : 'http'} ${proxy ?? 'direct'}`;
    let agent = this.agents.get(key);
    if (!agent) {
      const opts = secure ? this.options.https : this.options.http ?? { keepAlive: true };
      agent = proxy
        ? secure ? new HttpsProxyAgent({ ...opts, proxy }) : new HttpProxyAgent({ ...opts, proxy })
        : secure ? new https.Agent(opts) : new http.Agent(opts);
      this.agents.set(key, agent);
    }
    return agent;
  }

  destroy(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
