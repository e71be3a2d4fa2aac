// toxiproxy (pinned in hack/versions.sh, built by hack/build-servers.sh) as the suite's own
// process on a free loopback port, and a small typed client of its HTTP API. A proxy is plain
// TCP: TLS between the controller and MinIO or the registry passes through it untouched.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../stackEnv.js';
import { freePort, waitFor } from '../fixture/wait.js';

/** The toxics this suite uses, with toxiproxy's own attribute names (times in ms, rates in KB/s). */
export type Toxic =
  | { type: 'latency'; attributes: { latency: number; jitter?: number } }
  /** Stops all data; closes the connection after `timeout` ms (0: never). */
  | { type: 'timeout'; attributes: { timeout: number } }
  /** Resets the connection (TCP RST) after `timeout` ms (0: at once). */
  | { type: 'reset_peer'; attributes: { timeout: number } }
  /** Closes the connection once `bytes` have passed. */
  | { type: 'limit_data'; attributes: { bytes: number } }
  | { type: 'bandwidth'; attributes: { rate: number } }
  | { type: 'slicer'; attributes: { average_size: number; size_variation?: number; delay?: number } };

/** upstream: from the client (the controller) to the server; downstream: back. */
export type ToxicStream = 'upstream' | 'downstream';

interface ProxyJson {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
}

export class ToxiproxyServer {
  private constructor(private readonly proc: ChildProcess, readonly api: string, private readonly output: () => string) {}

  static async start(stackBin: string): Promise<ToxiproxyServer> {
    const port = await freePort();
    const proc = spawn(binary(stackBin), ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.once('error', (err) => keep(Buffer.from(`cannot start toxiproxy-server: ${err.message}`)));
    // Its per-request debug lines are many; the tail is enough to say why it failed.
    let output = '';
    const keep = (c: Buffer) => { output = (output + c.toString()).slice(-20_000); };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    const api = `http://127.0.0.1:${port}`;
    await waitFor('toxiproxy-server to answer', async () => {
      if (proc.exitCode !== null || proc.pid === undefined) throw new Error(`toxiproxy-server is not running (${proc.exitCode}):\n${output}`);
      return (await fetch(`${api}/version`)).ok;
    }, (ok) => ok, 30_000);
    return new ToxiproxyServer(proc, api, () => output);
  }

  logs(): string {
    return this.output();
  }

  /** A proxy from a free loopback port to `upstream` (host:port), enabled. */
  async createProxy(name: string, upstream: string): Promise<ToxiProxy> {
    const listen = `127.0.0.1:${await freePort()}`;
    const p = await call<ProxyJson>(this.api, 'POST', '/proxies', { name, listen, upstream, enabled: true });
    return new ToxiProxy(this.api, p.name, p.listen);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await exited;
  }
}

export class ToxiProxy {
  constructor(private readonly api: string, readonly name: string, readonly listen: string) {}

  /** Adds a toxic to every connection, present and future, until it is removed. */
  async addToxic(name: string, toxic: Toxic, stream: ToxicStream = 'downstream', toxicity = 1): Promise<void> {
    await call(this.api, 'POST', `/proxies/${this.name}/toxics`, { name, stream, toxicity, ...toxic });
  }

  async removeToxic(name: string): Promise<void> {
    await call(this.api, 'DELETE', `/proxies/${this.name}/toxics/${name}`);
  }

  /** Disabled, the proxy closes its listener and every open connection: the server is down. */
  async setEnabled(enabled: boolean): Promise<void> {
    await call(this.api, 'POST', `/proxies/${this.name}`, { enabled });
  }

  async delete(): Promise<void> {
    await call(this.api, 'DELETE', `/proxies/${this.name}`);
  }
}

/** The stack's bin folder links the servers it runs; the others are in build-servers.sh's folder (cached builds). */
function binary(stackBin: string): string {
  const linked = path.join(stackBin, 'toxiproxy-server');
  if (existsSync(linked)) return linked;
  const folder = execFileSync('bash', [path.join(repoRoot, 'hack', 'build-servers.sh')], { encoding: 'utf8' }).trim().split('\n').pop()!;
  return path.join(folder, 'toxiproxy-server');
}

async function call<T = unknown>(api: string, method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(`${api}${p}`, {
    method, ...(body !== undefined && { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`toxiproxy ${method} ${p}: HTTP ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
