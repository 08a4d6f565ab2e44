/**
 * API processes of a fleet for the tests in test/fleet: each a real Express app guarded by
 * requireM2M, sharing one Redis (fixtures/api-instance.mjs), reached over HTTP on 127.0.0.1
 * and driven over IPC for what only an instance can do (revoke through its own list).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { ClientKind } from '../helpers/redis.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/api-instance.mjs');
const CALL_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 30_000;

/** The external origin every instance is addressed as (a load balancer's), compared with proofs' `htu`. */
export const FLEET_ORIGIN = 'https://api.example.com';
export const AUDIENCE = 'https://api.example.com';

/** What an instance needs to know about the issuer. */
export interface FleetConfig {
  issuer: string;
  jwksUri: string;
  audience: string;
  origin: string;
  /** `resyncInterval` of the instance's revocation list, when not the default. */
  resyncInterval?: number;
}

/** One API process. */
export interface ApiInstance {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  call<T = unknown>(op: string, ...args: unknown[]): Promise<T>;
  kill(): Promise<void>;
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { name: string; reason?: string; message: string };
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with the instances' clocks. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/** Starts an API process on Redis `redisPort` with a client of `kind`; resolves once it listens. */
export async function startApi(
  buildDir: string,
  kind: ClientKind,
  redisPort: number,
  config: FleetConfig,
): Promise<ApiInstance> {
  const child: ChildProcess = fork(FIXTURE, [buildDir, kind, String(redisPort)], {
    env: { ...process.env, FLEET_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
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
    for (const waiter of pending.values()) waiter.reject(new Error('the API process exited'));
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
  const kill = async () => {
    child.kill('SIGKILL');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  };
  let port: number;
  try {
    ({ port } = (await wait(0, 'the API start', START_TIMEOUT_MS)) as { port: number });
  } catch (error) {
    await kill();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    call: async <T>(op: string, ...args: unknown[]) => {
      const id = nextId++;
      const reply = wait(id, op, CALL_TIMEOUT_MS);
      child.send({ id, op, args });
      return (await reply) as T;
    },
    kill,
  };
}

/** An answer of an instance, read whole. */
export interface Answer {
  status: number;
  body: { error?: string; error_description?: string; client?: string };
  retryAfter: string | null;
  wwwAuthenticate: string | null;
}

/** GET /orders on `instance` with `headers` (a plain object of header values, e.g. `client.createProof()`'s). */
export async function getOrders(instance: ApiInstance, headers: object): Promise<Answer> {
  const response = await fetch(`${instance.url}/orders`, { headers: headers as Record<string, string> });
  const text = await response.text();
  let body: Answer['body'] = {};
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    // Not JSON: the status tells.
  }
  return {
    status: response.status,
    body,
    retryAfter: response.headers.get('retry-after'),
    wwwAuthenticate: response.headers.get('www-authenticate'),
  };
}

/** The URL proofs are made for: the fleet's external origin, whichever instance answers. */
export const ORDERS_URL = `${FLEET_ORIGIN}/orders`;
