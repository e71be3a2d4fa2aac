// One HTTPS agent per store: the public roots plus the BSL's caCert and AWS_CA_BUNDLE, so a
// CA change in the BSL is picked up by the next store without restarting the pod.
import type https from 'node:https';
import { readFileSync } from 'node:fs';
import { StalledError, errorMessage } from '../errors.js';
import { trustingAgent } from '../trust.js';

export interface TlsOptions {
  caCert?: string;
  caBundleFile?: string;
  insecureSkipTLSVerify: boolean;
  maxSockets: number;
}

export function httpsAgent(opts: TlsOptions): https.Agent {
  const extra: string[] = [];
  if (opts.caCert) extra.push(opts.caCert);
  if (opts.caBundleFile) {
    try {
      extra.push(readFileSync(opts.caBundleFile, 'utf8'));
    } catch (err) {
      throw new StalledError('InvalidCACert', `AWS_CA_BUNDLE ${opts.caBundleFile} cannot be read: ${errorMessage(err)}`);
    }
  }
  // The public roots stay trusted with the extra CAs, so public endpoints (AWS itself) still verify.
  return trustingAgent({ extraPems: extra, insecureSkipTLSVerify: opts.insecureSkipTLSVerify, maxSockets: opts.maxSockets });
}
