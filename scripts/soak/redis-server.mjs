// The fleet's Redis, from the driver's side: a real redis-server it can kill and restart, and
// one read over plain RESP so the driver itself needs no Redis client.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';

/** A port of 127.0.0.1 that was free a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Whether something on `port` answers PING with PONG within 200 ms. */
function ping(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * Starts redis-server on a random free port of 127.0.0.1, without persistence, and waits until
 * it answers (throws after 5 s: is it installed?).
 *
 * @example
 * ```js
 * const redis = await startRedisServer();
 * await redis.stop(); // SIGKILL, waits for the exit
 * await redis.start(); // same port, empty
 * ```
 * @returns `port`, `start()`, `stop()` (kills it and waits), `kill()` (SIGKILL, no wait: for a watchdog)
 */
export async function startRedisServer() {
  const port = await freePort();
  let child;
  const server = {
    port,
    async start() {
      const argv = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
      child = spawn('redis-server', [...argv, '--dir', tmpdir(), '--loglevel', 'warning'], { stdio: 'ignore' });
      child.once('error', () => {});
      const until = Date.now() + 5000;
      while (!(await ping(port))) {
        if (Date.now() > until) throw new Error('redis-server did not start (is it installed?)');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    kill() {
      child?.kill('SIGKILL');
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
  await server.start();
  return server;
}

/** HLEN `key` on the Redis at `port` over a plain RESP connection (rejects after 2 s or on an odd reply). */
export function redisHashLength(port, key) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(2000, () => {
      socket.destroy();
      reject(new Error('HLEN timed out'));
    });
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`*2\r\n$4\r\nHLEN\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n`));
    socket.on('data', (data) => {
      socket.destroy();
      const match = /^:(\d+)\r\n/.exec(data.toString());
      if (match === null) reject(new Error(`unexpected HLEN reply ${JSON.stringify(data.toString().slice(0, 40))}`));
      else resolve(Number(match[1]));
    });
  });
}
