// /healthz (the process serves), /readyz (informers have synced) and /metrics, on one or two
// ports. Port 0 picks a free port; the chosen ports are returned (and logged by the caller).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProbeServerOptions {
  healthPort: number;
  metricsPort: number;
  host?: string;
  ready: () => boolean;
  metrics: Registry;
}

export interface ProbeServers {
  healthPort: number;
  metricsPort: number;
  close(): Promise<void>;
}

export async function startProbeServers(opts: ProbeServerOptions): Promise<ProbeServers> {
  const handle = (routes: Set<string>) => createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!routes.has(path)) return void res.writeHead(404).end('not found\n');
    if (path === '/healthz') return void res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') {
      const ok = opts.ready();
      return void res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : 'informers not synced\n');
    }
    opts.metrics.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': opts.metrics.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  const listen = (server: Server, port: number) => new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, opts.host ?? '0.0.0.0', () => resolve((server.address() as AddressInfo).port));
  });

  const servers: Server[] = [];
  let healthPort: number;
  let metricsPort: number;
  if (opts.healthPort === opts.metricsPort && opts.healthPort !== 0) {
    const s = handle(new Set(['/healthz', '/readyz', '/metrics']));
    servers.push(s);
    healthPort = metricsPort = await listen(s, opts.healthPort);
  } else {
    const h = handle(new Set(['/healthz', '/readyz']));
    const m = handle(new Set(['/metrics']));
    servers.push(h, m);
    healthPort = await listen(h, opts.healthPort);
    metricsPort = await listen(m, opts.metricsPort);
  }
  return {
    healthPort,
    metricsPort,
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
    },
  };
}
