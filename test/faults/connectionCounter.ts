// A TCP pass-through in front of a toxiproxy proxy that notes when each connection was opened,
// so that a test can count what the controller tried while the server was down: a disabled
// toxiproxy proxy refuses connections, and a refused connection leaves no trace anywhere else.
// When the next hop refuses, the client's connection is reset, as a refusal would end it.
import net from 'node:net';

export class ConnectionCounter {
  private constructor(
    private readonly server: net.Server,
    readonly address: string,
    /** When each connection was accepted (ms since the epoch). */
    readonly openedAt: readonly number[],
    private readonly sockets: Set<net.Socket>,
  ) {}

  static async start(next: string): Promise<ConnectionCounter> {
    const [host, port] = splitHostPort(next);
    const sockets = new Set<net.Socket>();
    const openedAt: number[] = [];
    const server = net.createServer((client) => {
      openedAt.push(Date.now());
      const upstream = net.connect({ host, port });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      }
      upstream.once('connect', () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
      upstream.once('error', () => client.resetAndDestroy());
      client.once('error', () => upstream.resetAndDestroy());
      upstream.once('close', () => client.destroy());
      client.once('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    return new ConnectionCounter(server, `127.0.0.1:${(server.address() as net.AddressInfo).port}`, openedAt, sockets);
  }

  /** Connections opened in [from, to). */
  between(from: number, to: number): number {
    return this.openedAt.filter((t) => t >= from && t < to).length;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i), Number(hostPort.slice(i + 1))];
}
