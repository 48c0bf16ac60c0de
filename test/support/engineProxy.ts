// A TCP proxy in front of the Docker socket that a test can hang: hung, it accepts connections
// and forwards nothing either way, which is what a worker sees of a deadlocked or paused
// dockerd (unlike a stopped one, which refuses connections at once).
import { connect, createServer, type Server, type Socket } from 'node:net';

export class HangableEngineProxy {
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private hung = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(socketPath = '/var/run/docker.sock'): Promise<HangableEngineProxy> {
    let proxy: HangableEngineProxy | undefined;
    const server = createServer((client) => {
      const upstream = connect(socketPath);
      const pair = { client, upstream };
      proxy!.pairs.add(pair);
      const end = () => {
        client.destroy();
        upstream.destroy();
        proxy!.pairs.delete(pair);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      upstream.pipe(client);
      if (!proxy!.hung) client.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new HangableEngineProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  /** From now on requests reach the engine no more (open connections included). */
  hang(): void {
    this.hung = true;
    for (const { client, upstream } of this.pairs) client.unpipe(upstream);
  }

  resume(): void {
    this.hung = false;
    for (const { client, upstream } of this.pairs) client.pipe(upstream);
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
