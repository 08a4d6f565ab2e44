/**
 * API processes of a fleet for the tests in test/fleet: each a real Express app guarded by
 * requireM2M, sharing one Redis (fixtures/api-instance.mjs), reached over HTTP on 127.0.0.1
 * and driven over IPC for what only an instance can do (revoke through its own list).
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { forkRpc } from '../helpers/child-rpc.js';
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

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with the instances' clocks. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/** Starts an API process on Redis `redisPort` with a client of `kind`; resolves once it listens. */
export async function startApi(
  buildDir: string,
  kind: ClientKind,
  redisPort: number,
  config: FleetConfig,
): Promise<ApiInstance> {
  const child = forkRpc(FIXTURE, [buildDir, kind, String(redisPort)], {
    ...process.env,
    FLEET_CONFIG: JSON.stringify(config),
  });
  let port: number;
  try {
    ({ port } = (await child.ready('the API start', START_TIMEOUT_MS)) as { port: number });
  } catch (error) {
    await child.kill();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    call: <T>(op: string, ...args: unknown[]) => child.call<T>(op, args, CALL_TIMEOUT_MS),
    kill: () => child.kill(),
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
