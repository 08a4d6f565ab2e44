/**
 * What the shared replay store costs a DPoP request: the same verifier, the same bound token
 * and fresh proofs, with the in-memory store and with the Redis store (a real redis-server on
 * 127.0.0.1), in interleaved rounds in one process. Prints the medians; asserts that every
 * proof passed once and was refused when replayed, and that Redis adds a bounded cost.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { createMemoryReplayStore, createVerifier } from '../../src/index.js';
import type { ReplayStore, TokenVerifier } from '../../src/index.js';
import { createRedisReplayStore } from '../../src/redis.js';
import { createDPoPKey, createTestIssuer } from '../../src/testing/index.js';
import type { DPoPKey, TestIssuer } from '../../src/testing/index.js';
import { CLIENT_KINDS, connectClient, startRedis } from '../helpers/redis.js';
import type { RedisServer, TestClient } from '../helpers/redis.js';

const URL_ = 'https://api.example.com/orders';
const ROUNDS = 6;
const PER_ROUND = 400;
/** Generous on a shared 2-core machine: a local round trip is a fraction of a millisecond. */
const MAX_ADDED_MEDIAN_MS = 5;

let redis: RedisServer;
let issuer: TestIssuer;
let key: DPoPKey;
let token: string;
const clients: TestClient[] = [];

beforeAll(async () => {
  [redis, issuer, key] = await Promise.all([startRedis(), createTestIssuer(), createDPoPKey()]);
  token = await issuer.mint({ cnf: { jkt: key.jkt } });
}, 30_000);
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([redis?.stop(), issuer?.close()]);
});

function verifierWith(replayStore: ReplayStore) {
  return createVerifier({
    issuer: issuer.issuer,
    jwksUri: issuer.jwksUri,
    audience: 'https://api.example.com',
    dpop: { replayStore },
  });
}

const request = (proof: string) => ({ method: 'GET', url: URL_, scheme: 'DPoP' as const, dpopProof: proof });

/** Verifies `proofs` one after the other; returns each request's time in ms. */
async function timeRequests(verifier: TokenVerifier, proofs: string[]): Promise<number[]> {
  const times: number[] = [];
  for (const proof of proofs) {
    const started = performance.now();
    const auth = await verifier.verify(token, request(proof));
    times.push(performance.now() - started);
    expect(auth.binding).toEqual({ type: 'dpop', thumbprint: key.jkt });
  }
  return times;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

describe.each(CLIENT_KINDS)('replay store cost per DPoP request, Redis (%s) vs memory', (kind) => {
  it(`${ROUNDS * PER_ROUND} requests each, interleaved`, async () => {
    const client = await connectClient(kind, redis.port);
    clients.push(client);
    const verifiers = {
      memory: verifierWith(createMemoryReplayStore()),
      redis: verifierWith(createRedisReplayStore(client.client)),
    };
    const proofs = () =>
      Promise.all(Array.from({ length: PER_ROUND }, () => key.proof('GET', URL_, { accessToken: token })));
    // Warm up both: keys fetched, token cached, connections and code paths hot.
    for (const verifier of Object.values(verifiers)) await timeRequests(verifier, await proofs());
    const times = { memory: [] as number[], redis: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of round % 2 === 0 ? (['memory', 'redis'] as const) : (['redis', 'memory'] as const)) {
        times[name].push(...(await timeRequests(verifiers[name], await proofs())));
      }
    }
    // A proof is refused when replayed, by either store.
    for (const verifier of Object.values(verifiers)) {
      const proof = await key.proof('GET', URL_, { accessToken: token });
      await verifier.verify(token, request(proof));
      await expect(verifier.verify(token, request(proof))).rejects.toMatchObject({ reason: 'dpop_replay' });
    }
    const memory = median(times.memory);
    const viaRedis = median(times.redis);
    console.log(
      `DPoP request with ${kind}: median ${viaRedis.toFixed(3)} ms with the Redis replay store, ` +
        `${memory.toFixed(3)} ms in memory: +${(viaRedis - memory).toFixed(3)} ms per request ` +
        `(${times.redis.length} requests each, sequential, in-process)`,
    );
    expect(viaRedis - memory).toBeLessThan(MAX_ADDED_MEDIAN_MS);
  }, 60_000);
});
