/**
 * The caller's side of a fleet-wide revocation: a `createTokenClient` (DPoP) calling two API
 * instances behind one origin has its client revoked through Redis; its next call is refused
 * with 401 `invalid_token`, the client fetches a new token on its own and the call succeeds —
 * no error reaches the caller's code.
 */
import { describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { createTokenClient } from '../../src/client/index.js';
import { createRedisRevocationList } from '../../src/redis.js';
import { CLIENT_KINDS, connectClient, waitFor } from '../helpers/redis.js';
import { useFleet, WORKER } from './harness.js';
import { AUDIENCE, FLEET_ORIGIN, getOrders, ORDERS_URL } from './instances.js';
import type { ApiInstance } from './instances.js';

const fleet = useFleet();

/**
 * A load balancer in front of the instances, as the caller's `fetch`: requests for the fleet's
 * origin go to the instances in turn (their answers are recorded); others pass through.
 */
function loadBalancer(instances: readonly ApiInstance[]) {
  const answers: { status: number; challenge: string | null }[] = [];
  let next = 0;
  const fetchThrough = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== FLEET_ORIGIN) return fetch(input, init);
    const instance = instances[next++ % instances.length] as ApiInstance;
    const response = await fetch(`${instance.url}${url.pathname}${url.search}`, init);
    answers.push({ status: response.status, challenge: response.headers.get('www-authenticate') });
    return response;
  };
  return { fetch: fetchThrough, answers };
}

describe.each(CLIENT_KINDS)('a token client calling a fleet whose list is on Redis (%s)', (kind) => {
  it('gets a new token by itself after its client is revoked fleet-wide, and carries on', async () => {
    const instances = await fleet.startPair(kind);
    const balancer = loadBalancer(instances);
    const client = createTokenClient({
      tokenEndpoint: fleet.issuer.tokenEndpoint,
      ...WORKER,
      audience: AUDIENCE,
      dpop: true,
      fetch: balancer.fetch,
    });
    const first = await client.fetch(ORDERS_URL);
    expect(first.status).toBe(200);
    await first.body?.cancel();
    const oldToken = await client.getToken();

    // The operator pulls the kill switch from outside the API processes.
    const operator = await connectClient(kind, fleet.redis.port);
    const revocations = createRedisRevocationList(operator.client);
    try {
      await revocations.ready();
      const entry = await revocations.revokeClient(WORKER.clientId);
      if (entry.type !== 'client') throw new Error('expected a client entry');
      for (const instance of instances) {
        const refused = async () => {
          const answer = await getOrders(
            instance,
            await client.createProof('GET', ORDERS_URL, { accessToken: oldToken }),
          );
          return answer.status === 401 && answer.body.error_description === 'token revoked';
        };
        await waitFor(refused, 'every instance to refuse the old token', 500, 0);
      }
      // The entry refuses tokens issued before the next whole second after the call, so a token
      // minted in the same second is refused too. The test issuer stamps `iat` from the real
      // clock: let that second pass, so the token the client fetches next is a newer one.
      await waitFor(() => Date.now() / 1000 >= entry.issuedBefore, 'the revocation second to pass', 1500, 5);

      const tokenRequestsBefore = fleet.issuer.requestCounts.token;
      balancer.answers.length = 0;
      const after = await client.fetch(ORDERS_URL);
      expect(after.status).toBe(200);
      await expect(after.json()).resolves.toMatchObject({ client: WORKER.clientId });
      expect(balancer.answers.map((answer) => answer.status)).toEqual([401, 200]);
      expect(balancer.answers[0]?.challenge).toMatch(/^DPoP .*error="invalid_token"/);
      expect(fleet.issuer.requestCounts.token).toBe(tokenRequestsBefore + 1);
      const newToken = await client.getToken();
      expect(newToken).not.toBe(oldToken);
      expect(decodeJwt(newToken).iat).toBeGreaterThanOrEqual(entry.issuedBefore);

      // It keeps working on every instance; the old token stays refused everywhere.
      balancer.answers.length = 0;
      for (let i = 0; i < 4; i++) {
        const response = await client.fetch(ORDERS_URL);
        expect(response.status).toBe(200);
        await response.body?.cancel();
      }
      expect(balancer.answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
      for (const instance of instances) {
        const old = await getOrders(instance, await client.createProof('GET', ORDERS_URL, { accessToken: oldToken }));
        expect(old).toMatchObject({
          status: 401,
          body: { error: 'invalid_token', error_description: 'token revoked' },
        });
      }
    } finally {
      await revocations.close();
      await operator.close();
    }
  }, 30_000);
});
