/**
 * A fleet over HTTP: two API processes (real Express apps guarded by requireM2M) sharing one
 * real redis-server for the DPoP replay store and the revocation list. What one instance
 * revokes or records, the other enforces; Redis going down and coming back empty is
 * survived without restarting the APIs. Run with both Redis clients.
 */
import { describe, expect, it } from '@jest/globals';
import { createDPoPKey } from '../../src/testing/index.js';
import { CLIENT_KINDS, connectClient, waitFor } from '../helpers/redis.js';
import { useFleet } from './harness.js';
import { startSilentProxy } from './silent-proxy.js';
import { getOrders, ORDERS_URL, preciseNow } from './instances.js';
import type { Answer, ApiInstance } from './instances.js';

const REVOCATIONS_HASH = 'express-m2m:revocations:entries';
/** The fleet-wide kill switch must reach every instance within this bound. */
const PROPAGATION_BOUND_MS = 500;

const fleet = useFleet();

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A DPoP-bound token and a way to make a fresh proof for each request. */
async function dpopCaller(clientId: string) {
  const key = await createDPoPKey();
  const token = await fleet.issuer.mint({ cnf: { jkt: key.jkt } }, { clientId });
  return {
    token,
    key,
    headers: async () => ({
      authorization: `DPoP ${token}`,
      dpop: await key.proof('GET', ORDERS_URL, { accessToken: token }),
    }),
  };
}

const revokedAnswer = {
  status: 401,
  body: { error: 'invalid_token', error_description: 'token revoked' },
};

/** Asks `instance` until it stops answering 200; resolves with that answer and when it arrived. */
async function firstRefusal(instance: ApiInstance, headers: Record<string, string>, timeoutMs: number) {
  let answer: Answer | undefined;
  await waitFor(
    async () => {
      answer = await getOrders(instance, headers);
      return answer.status !== 200;
    },
    'the instance to refuse the token',
    timeoutMs,
    0,
  );
  return { answer: answer as Answer, at: preciseNow() };
}

describe.each(CLIENT_KINDS)('a fleet of two API processes on one Redis, with %s', (kind) => {
  it(`a client revoked on instance A is refused by instance B over HTTP within ${PROPAGATION_BOUND_MS} ms (100 revocations)`, async () => {
    const [a, b] = await fleet.startPair(kind);
    const tokens = await Promise.all(
      Array.from({ length: 100 }, (_, i) => fleet.issuer.mint({}, { clientId: `service-${i}` })),
    );
    const delays: number[] = [];
    for (const [i, token] of tokens.entries()) {
      expect((await getOrders(b, bearer(token))).status).toBe(200);
      const { startedAt } = await a.call<{ startedAt: number }>('revokeClient', `service-${i}`);
      const { answer, at } = await firstRefusal(b, bearer(token), PROPAGATION_BOUND_MS);
      expect(answer).toMatchObject(revokedAnswer);
      delays.push(at - startedAt);
    }
    // A refuses them too, and tokens of other clients still pass on both.
    expect(await getOrders(a, bearer(tokens[0] as string))).toMatchObject(revokedAnswer);
    const other = await fleet.issuer.mint({}, { clientId: 'not-revoked' });
    expect((await getOrders(a, bearer(other))).status).toBe(200);
    expect((await getOrders(b, bearer(other))).status).toBe(200);

    delays.sort((x, y) => x - y);
    const median = ((delays[49] as number) + (delays[50] as number)) / 2;
    const max = delays[99] as number;
    console.log(
      `revocation A → B over HTTP with ${kind}: median ${median.toFixed(1)} ms, max ${max.toFixed(1)} ms ` +
        '(from the revoke call to the first 401 on B, one HTTP round trip included)',
    );
    expect(max).toBeLessThan(PROPAGATION_BOUND_MS);
  }, 60_000);

  it('a DPoP proof used on instance A is refused as a replay on instance B', async () => {
    const [a, b] = await fleet.startPair(kind);
    const caller = await dpopCaller('dpop-worker');
    const headers = await caller.headers();
    expect(await getOrders(a, headers)).toMatchObject({ status: 200, body: { client: 'dpop-worker' } });
    const replayed = {
      status: 401,
      body: { error: 'invalid_dpop_proof', error_description: 'DPoP proof replayed' },
    };
    expect(await getOrders(b, headers)).toMatchObject(replayed);
    expect(await getOrders(a, headers)).toMatchObject(replayed);
    expect((await getOrders(b, headers)).wwwAuthenticate).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
    // The token itself is fine: a fresh proof passes on either instance.
    expect((await getOrders(b, await caller.headers())).status).toBe(200);
    expect((await getOrders(a, await caller.headers())).status).toBe(200);
  });

  it('Redis down: DPoP fails closed (503), bearer tokens and revocations keep working; Redis back empty: both recover and the list is written back', async () => {
    const [a, b] = await fleet.startPair(kind);
    const caller = await dpopCaller('dpop-worker');
    const steady = await fleet.issuer.mint({}, { clientId: 'steady-worker' });
    const leaked = await fleet.issuer.mint({}, { clientId: 'leaked-worker' });
    await a.call('revokeClient', 'leaked-worker');
    await firstRefusal(b, bearer(leaked), PROPAGATION_BOUND_MS);
    for (const instance of [a, b]) {
      expect((await getOrders(instance, await caller.headers())).status).toBe(200);
      expect((await getOrders(instance, bearer(steady))).status).toBe(200);
      expect(await getOrders(instance, bearer(leaked))).toMatchObject(revokedAnswer);
    }

    await fleet.redis.stop();
    for (const instance of [a, b]) {
      const unavailable = await getOrders(instance, await caller.headers());
      expect(unavailable).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
      expect(Number(unavailable.retryAfter)).toBeGreaterThan(0);
      expect((await getOrders(instance, bearer(steady))).status).toBe(200);
      expect(await getOrders(instance, bearer(leaked))).toMatchObject(revokedAnswer);
    }
    // No change can be made while Redis is away (it could not reach the other instances).
    await expect(b.call('revokeClient', 'steady-worker')).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    expect((await getOrders(a, bearer(steady))).status).toBe(200);

    await fleet.redis.start(); // empty: no persistence
    for (const instance of [a, b]) {
      const recovered = async () => (await getOrders(instance, await caller.headers())).status === 200;
      await waitFor(recovered, 'DPoP requests to pass again', 10_000, 20);
    }
    const admin = await connectClient(kind, fleet.redis.port);
    try {
      const writtenBack = async () => Number(await admin.command('HLEN', REVOCATIONS_HASH)) === 1;
      await waitFor(writtenBack, 'the revocation list written back to Redis', 10_000, 20);
    } finally {
      await admin.close();
    }
    for (const instance of [a, b]) {
      expect(await getOrders(instance, bearer(leaked))).toMatchObject(revokedAnswer);
      expect((await getOrders(instance, bearer(steady))).status).toBe(200);
    }
    // The instances follow each other again: a revocation on B reaches A.
    await b.call('revokeClient', 'steady-worker');
    const { answer } = await firstRefusal(a, bearer(steady), PROPAGATION_BOUND_MS);
    expect(answer).toMatchObject(revokedAnswer);
  }, 60_000);
});

describe.each(CLIENT_KINDS)('an instance whose subscription went silent, with %s', (kind) => {
  it('still applies a revocation, within the resync interval', async () => {
    const proxy = await startSilentProxy(fleet.redis.port);
    try {
      const a = await fleet.startOne(kind);
      const b = await fleet.startOne(kind, { redisPort: proxy.port, resyncInterval: 0.5 });
      const token = await fleet.issuer.mint({}, { clientId: 'quietly-revoked' });
      expect((await getOrders(b, bearer(token))).status).toBe(200);
      proxy.silenceSubscribers(); // B's subscription stays open, but no message reaches it any more
      await a.call('revokeClient', 'quietly-revoked');
      expect(await getOrders(a, bearer(token))).toMatchObject(revokedAnswer);
      const { answer } = await firstRefusal(b, bearer(token), 3000);
      expect(answer).toMatchObject(revokedAnswer);
    } finally {
      await proxy.close();
    }
  }, 30_000);
});
