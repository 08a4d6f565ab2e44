// The driver's side of an API process: fork it (through the soak's entry, with the role that
// makes it an API), wait until it listens, and talk to it over IPC.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../soak.mjs', import.meta.url));

/**
 * Forks `node scripts/soak.mjs --role <role>` with --expose-gc (so its heap readings are taken
 * after GC) and waits for its `ready` message.
 *
 * @example
 * ```js
 * const api = await startApiProcess({ role: 'fleet-api', name: 'A', config, replyTimeoutMs: 30_000 });
 * const before = await api.heap();
 * const { stats, heapUsed } = await api.stop();
 * ```
 * @param options.role the `--role` the child runs
 * @param options.name how reports and errors call it ("API <name>")
 * @param options.config passed to the child as JSON in SOAK_CONFIG
 * @param options.replyTimeoutMs how long to wait for each reply (default: no limit)
 * @returns `name`, `child`, `url`, `request(message, replyType)`, `heap()` (bytes, after GC),
 *   `stop()` (the child's final `{ stats, heapUsed }`; the child then exits)
 */
export async function startApiProcess({ role, name, config, replyTimeoutMs }) {
  const child = fork(ENTRY, ['--role', role], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, SOAK_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const nextMessage = (type) =>
    new Promise((resolve, reject) => {
      const timer =
        replyTimeoutMs === undefined
          ? undefined
          : setTimeout(
              () => reject(new Error(`API ${name} sent no ${type} within ${replyTimeoutMs / 1000} s`)),
              replyTimeoutMs,
            );
      const onMessage = (message) => {
        if (message?.type !== type) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code) => {
        clearTimeout(timer);
        reject(new Error(`API ${name} exited (${code}) while waiting for ${type}`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const request = (message, replyType) => {
    const reply = nextMessage(replyType);
    child.send(message);
    return reply;
  };
  const { port } = await nextMessage('ready');
  return {
    name,
    child,
    url: `http://127.0.0.1:${port}`,
    request,
    heap: async () => (await request('heap', 'heap')).heapUsed,
    stop: () => request('stop', 'stats'),
  };
}
