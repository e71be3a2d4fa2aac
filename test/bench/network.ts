// Network profiles: the latency every method of one run pays to reach the registries and S3.
// On loopback every request is free, which flatters a method that makes many of them; in a
// cluster each costs a round trip, and the BSL is often in a cloud region tens of ms away.
// Applied with toxiproxy: one TCP proxy in front of the stack's registry, one in front of MinIO,
// one in front of each extra registry a method writes to, each with a latency toxic of half the
// round trip on each direction. TLS passes through (the stack's certificate names 127.0.0.1,
// any port), so every client keeps verifying it.
import type { StackEnv } from '../stackEnv.js';
import { ToxiproxyServer, type ToxiProxy } from '../fixture/toxiproxy.js';

export const NETWORKS = ['loopback', 'cluster', 'region'] as const;
export type NetworkName = typeof NETWORKS[number];

/** Round trips in ms added to every connection; bandwidth is never capped. */
export interface NetworkProfile {
  name: NetworkName;
  registryRttMs: number;
  s3RttMs: number;
}

export const PROFILES: Record<NetworkName, NetworkProfile> = {
  loopback: { name: 'loopback', registryRttMs: 0, s3RttMs: 0 },
  cluster: { name: 'cluster', registryRttMs: 2, s3RttMs: 2 },
  region: { name: 'region', registryRttMs: 2, s3RttMs: 40 },
};

export interface Network {
  profile: NetworkProfile;
  /** The stack's environment with REGISTRY and S3_ENDPOINT behind the profile's proxies. */
  env: StackEnv;
  /** host:port that reaches a registry the run started (`upstream`) with the registry's latency. */
  reach(upstream: string, name: string): Promise<string>;
  stop(): Promise<void>;
}

/** loopback: no proxy at all (as the benchmark always ran); otherwise a toxiproxy server of the run's own. */
export async function startNetwork(profile: NetworkProfile, env: StackEnv): Promise<Network> {
  if (profile.registryRttMs === 0 && profile.s3RttMs === 0) {
    return { profile, env, reach: async (upstream) => upstream, stop: async () => undefined };
  }
  const server = await ToxiproxyServer.start(env.STACK_BIN);
  try {
    const proxy = async (name: string, upstream: string, rttMs: number): Promise<ToxiProxy> => {
      const p = await server.createProxy(name, upstream);
      // A round trip is both ways: half of it on the request's way, half on the answer's.
      await p.addToxic(`${name}-up`, { type: 'latency', attributes: { latency: rttMs / 2 } }, 'upstream');
      await p.addToxic(`${name}-down`, { type: 'latency', attributes: { latency: rttMs / 2 } }, 'downstream');
      return p;
    };
    const s3 = new URL(env.S3_ENDPOINT);
    const s3Proxy = await proxy('s3', s3.host, profile.s3RttMs);
    const registryProxy = await proxy('registry', env.REGISTRY, profile.registryRttMs);
    const proxied: StackEnv = { ...env, REGISTRY: registryProxy.listen, S3_ENDPOINT: `${s3.protocol}//${s3Proxy.listen}` };
    let extra = 0;
    return {
      profile,
      env: proxied,
      reach: async (upstream, name) => (await proxy(`${name}-${++extra}`, upstream, profile.registryRttMs)).listen,
      stop: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** One line for the report's header. */
export function describeNetwork(p: NetworkProfile): string {
  return p.name === 'loopback'
    ? 'network loopback (no added latency)'
    : `network ${p.name}: registry ${p.registryRttMs} ms, S3 ${p.s3RttMs} ms round trip (toxiproxy latency, half each way; no bandwidth cap)`;
}
