// The agents of one store: the public roots plus the BSL's caCert and AWS_CA_BUNDLE, so a CA
// change in the BSL is picked up by the next store without restarting the pod; through the
// cluster-wide proxy unless NO_PROXY names the endpoint.
import { readFileSync } from 'node:fs';
import { errorMessage } from '../errors.js';
import { invalidLocation } from './storeError.js';
import type { Env, ProxyAwareAgents } from '../proxy.js';
import { trustingAgents } from '../trust.js';

export interface TlsOptions {
  caCert?: string;
  caBundleFile?: string;
  insecureSkipTLSVerify: boolean;
  maxSockets: number;
}

export function storeAgents(opts: TlsOptions, env?: Env): ProxyAwareAgents {
  const extra: string[] = [];
  if (opts.caCert) extra.push(opts.caCert);
  if (opts.caBundleFile) {
    try {
      extra.push(readFileSync(opts.caBundleFile, 'utf8'));
    } catch (err) {
      throw invalidLocation('InvalidCACert', `AWS_CA_BUNDLE ${opts.caBundleFile} cannot be read: ${errorMessage(err)}`);
    }
  }
  // The public roots stay trusted with the extra CAs, so public endpoints (AWS itself) still verify.
  return trustingAgents({ extraPems: extra, insecureSkipTLSVerify: opts.insecureSkipTLSVerify, maxSockets: opts.maxSockets }, env);
}
