// Trust for a server with a private CA: Node's public roots plus the extra PEMs, built once.
// Given as `ca`, the roots would be parsed again for every TLS connection (about 65 ms of
// CPU each on this machine), which made the first second of a backup, with dozens of
// sockets opening, CPU-bound; a SecureContext made once is shared by every connection.
import type https from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { ProxyAwareAgents, type Env } from './proxy.js';

/** A context trusting the public roots and `extraPems`; undefined (Node's defaults) when there are none. */
export function trustContext(extraPems: string[]): SecureContext | undefined {
  if (extraPems.length === 0) return undefined;
  return createSecureContext({ ca: [...rootCertificates, ...extraPems] });
}

/** Options of a keep-alive HTTPS agent trusting the public roots and `extraPems`; verification off only when asked. */
export function trustingAgentOptions(opts: { extraPems: string[]; insecureSkipTLSVerify?: boolean; maxSockets: number }): https.AgentOptions {
  const secureContext = trustContext(opts.extraPems);
  return {
    keepAlive: true,
    maxSockets: opts.maxSockets,
    rejectUnauthorized: !opts.insecureSkipTLSVerify,
    ...(secureContext && { secureContext }),
  };
}

/** Agents (direct, or through the cluster-wide proxy) that trust the public roots and `extraPems`. */
export function trustingAgents(opts: { extraPems: string[]; insecureSkipTLSVerify?: boolean; maxSockets: number }, env?: Env): ProxyAwareAgents {
  return new ProxyAwareAgents({ https: trustingAgentOptions(opts), http: { keepAlive: true, maxSockets: opts.maxSockets } }, env);
}
