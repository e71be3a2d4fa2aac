// The way from the controller to one server (MinIO or the registry) in a fault test:
//   controller -> ConnectionCounter -> toxiproxy proxy -> HttpFaultProxy -> server
// The counter sees every connection attempt, even while toxiproxy refuses them; toxiproxy cuts,
// delays and refuses at the TCP level with TLS passing through; the fault proxy, last, sees the
// requests in clear and answers the HTTP-level faults. The controller is given `address`.
import path from 'node:path';
import { ConnectionCounter } from './connectionCounter.js';
import { HttpFaultProxy, type Flavor } from './httpFaultProxy.js';
import type { ToxiProxy, ToxiproxyServer } from '../fixture/toxiproxy.js';

export interface Route {
  /** host:port the controller is given. */
  readonly address: string;
  readonly tcp: ToxiProxy;
  readonly http: HttpFaultProxy;
  readonly counter: ConnectionCounter;
  close(): Promise<void>;
}

/** The stack's PKI, which signed every server's certificate (stack.sh make_pki). */
export function stackPki(kubeconfig: string) {
  const pki = path.join(path.dirname(kubeconfig), 'pki');
  return { certFile: path.join(pki, 'server.crt'), keyFile: path.join(pki, 'server.key'), caFile: path.join(pki, 'ca.crt') };
}

export async function openRoute(toxiproxy: ToxiproxyServer, name: string, server: string, flavor: Flavor, kubeconfig: string): Promise<Route> {
  const http = await HttpFaultProxy.start({ upstream: server, flavor, ...stackPki(kubeconfig) });
  const tcp = await toxiproxy.createProxy(name, http.address);
  const counter = await ConnectionCounter.start(tcp.listen);
  return {
    address: counter.address, tcp, http, counter,
    close: async () => {
      await counter.close();
      await tcp.delete().catch(() => {});
      await http.close();
    },
  };
}
