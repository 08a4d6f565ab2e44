/**
 * Real `redis-server` processes for tests: started on a random free port on 127.0.0.1
 * without persistence, stopped and restarted on the same port; Redis clients of both
 * libraries; and a TCP proxy that can cut one instance off from Redis (a network partition).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { createClient } from 'redis';

/** A running redis-server the test owns. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (its data is lost: no persistence). */
  stop(): Promise<void>;
  /** Starts an empty server again on the same port. */
  start(): Promise<void>;
  /** True between start() and stop(). */
  readonly running: boolean;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Resolves when `predicate` holds, polling every `interval` ms; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
  interval = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True when a PING on `port` answers PONG within 200 ms. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** Starts `redis-server` on a random free port, with no persistence, and waits until it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    if (child !== undefined) throw new Error('redis-server already running');
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const started = spawn('redis-server', [...args, '--dir', '/tmp', '--loglevel', 'warning'], { stdio: 'ignore' });
    child = started;
    live.add(started);
    started.once('exit', () => live.delete(started));
    await waitFor(() => ping(port), `redis-server on port ${port}`, 5000, 20);
  }

  async function stop(): Promise<void> {
    const running = child;
    if (running === undefined) return;
    child = undefined;
    if (running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    get running() {
      return child !== undefined;
    },
  };
}

/** The two client libraries the stores support. */
export type ClientKind = 'node-redis' | 'ioredis';
export const CLIENT_KINDS: ClientKind[] = ['node-redis', 'ioredis'];

/** A connected client of `kind` that reconnects quickly; `close()` ends it whatever its state. */
export interface TestClient {
  readonly client: object;
  command(...args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

/** Connects a client of `kind` to 127.0.0.1:`port`, with a fast reconnect (tests restart Redis). */
export async function connectClient(kind: ClientKind, port: number): Promise<TestClient> {
  if (kind === 'ioredis') {
    const client = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => 50,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => {});
    await client.connect();
    return {
      client,
      command: (name, ...args) => client.call(name as string, ...args),
      close: async () => client.disconnect(),
    };
  }
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {});
  await client.connect();
  return {
    client,
    command: (...args) => client.sendCommand(args),
    close: async () => {
      if (client.isOpen) client.destroy();
    },
  };
}

/** A TCP proxy to a local port that can cut every connection through it (a network partition). */
export interface TcpProxy {
  readonly port: number;
  /** Drops the open connections and refuses new ones. */
  cut(): void;
  /** Accepts connections again. */
  restore(): void;
  close(): Promise<void>;
}

/** Starts a TCP proxy on a random port of 127.0.0.1 forwarding to `targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let isCut = false;
  const server = net.createServer((inbound) => {
    if (isCut) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect(targetPort, '127.0.0.1');
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port,
    cut() {
      isCut = true;
      dropAll();
    },
    restore() {
      isCut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
