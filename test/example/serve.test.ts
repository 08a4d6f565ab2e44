/**
 * `npm run example -- --serve` must stop when asked, also through npm: a SIGTERM sent to the
 * npm process (what a process manager or `kill` does) must leave no example server listening
 * and no orphaned node process behind.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const STOP_WITHIN_MS = 5_000;

/** Resolves with the accumulated stdout once `pattern` matches it; rejects when the process ends first. */
function waitForOutput(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = stdout.match(pattern);
      if (match) {
        child.stdout.off('data', onData);
        resolve(match);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('exit', (code) =>
      reject(new Error(`npm exited (${code}) before the servers were up:\n${stdout}${stderr}`)),
    );
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Polls `condition` until it holds or `ms` have passed (a bounded wait for another process, not a clock). */
async function eventually(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('npm run example -- --serve', () => {
  it('stops its servers and exits when the npm process gets SIGTERM', async () => {
    // No NODE_OPTIONS: Jest's --experimental-vm-modules must not leak into the example.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const npm = spawn('npm', ['run', '--silent', 'example', '--', '--serve'], { cwd: root, env });
    let examplePid: number | undefined;
    try {
      const [, pid, issuerPort, apiPort] = await waitForOutput(
        npm,
        /servers are up \(process (\d+);[\s\S]*?authorization server\s+http:\/\/127\.0\.0\.1:(\d+)[\s\S]*?orders API\s+http:\/\/127\.0\.0\.1:(\d+)/,
      );
      examplePid = Number(pid);
      const ports = [Number(issuerPort), Number(apiPort)];
      expect(examplePid).not.toBe(npm.pid);
      for (const port of ports) expect(await isListening(port)).toBe(true);

      const npmExited = new Promise((resolve) => npm.once('exit', resolve));
      npm.kill('SIGTERM');
      await npmExited;

      expect(await eventually(() => !isAlive(examplePid!), STOP_WITHIN_MS)).toBe(true);
      for (const port of ports) expect(await isListening(port)).toBe(false);
    } finally {
      // Never leave a process of this test behind, whatever failed above.
      if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
      if (examplePid !== undefined && isAlive(examplePid)) process.kill(examplePid, 'SIGKILL');
    }
  }, 60_000);

  it('stops when the example process itself gets SIGTERM', async () => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const node = spawn(process.execPath, ['example-app/run.mjs', '--serve'], { cwd: root, env });
    try {
      const [, apiPort] = await waitForOutput(node, /orders API\s+http:\/\/127\.0\.0\.1:(\d+)/);
      const exited = new Promise<number | null>((resolve) => node.once('exit', (code) => resolve(code)));
      node.kill('SIGTERM');
      // Exit code 0: the handler closed the servers; Node's default for SIGTERM would be no code at all.
      expect(await exited).toBe(0);
      expect(await isListening(Number(apiPort))).toBe(false);
    } finally {
      if (node.exitCode === null && node.signalCode === null) node.kill('SIGKILL');
    }
  }, 60_000);
});
