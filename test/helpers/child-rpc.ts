/**
 * Calls into a forked child process over IPC, for the tests that run several processes: the
 * child answers `{ id, ok, result | error }` to each `{ id, op, args }`, and announces that it
 * is ready with the reply of id 0. Every wait is bounded, and a child that exits fails every
 * pending call instead of leaving it hanging.
 */
import { fork, type ChildProcess } from 'node:child_process';

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { name: string; reason?: string; message: string };
}

/** A forked child whose operations can be called. */
export interface RpcChild {
  /** Resolves with the child's ready message (id 0), or rejects after `timeoutMs`. */
  ready(what: string, timeoutMs: number): Promise<unknown>;
  /** Calls `op` with `args`; rejects with the child's error, or after `timeoutMs`. */
  call<T>(op: string, args: unknown[], timeoutMs: number): Promise<T>;
  /** Kills the child and waits (at most 5 s) for it to exit. */
  kill(): Promise<void>;
}

/** Forks `fixture` with `args` (and `env`) and wires the request/reply protocol. */
export function forkRpc(fixture: string, args: string[], env?: NodeJS.ProcessEnv): RpcChild {
  const child: ChildProcess = fork(fixture, args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  child.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.ok) waiter?.resolve(reply.result);
    else waiter?.reject(Object.assign(new Error(reply.error?.message), reply.error));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error('the child process exited'));
    pending.clear();
  });
  const wait = (id: number, what: string, timeoutMs: number) =>
    new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} timed out`)), timeoutMs);
      pending.set(id, {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
    });
  return {
    ready: (what, timeoutMs) => wait(0, what, timeoutMs),
    async call<T>(op: string, callArgs: unknown[], timeoutMs: number): Promise<T> {
      const id = nextId++;
      const reply = wait(id, op, timeoutMs);
      child.send({ id, op, args: callArgs });
      return (await reply) as T;
    },
    async kill() {
      child.kill('SIGKILL');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    },
  };
}
