import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createVerifier } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';

const API = 'https://api.example.com';

describe('two test issuers side by side', () => {
  let a: TestIssuer;
  let b: TestIssuer;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      createTestIssuer({ clients: [{ clientId: 'worker-a', clientSecret: 'secret-a', grants: { [API]: ['read'] } }] }),
      createTestIssuer({ clients: [{ clientId: 'worker-b', clientSecret: 'secret-b', grants: { [API]: ['read'] } }] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('listen on their own ports and publish their own keys', () => {
    expect(a.issuerBaseURL).not.toBe(b.issuerBaseURL);
    expect(a.issuer).not.toBe(b.issuer);
    const kidsOf = (issuer: TestIssuer) => issuer.publicJwks().keys.map((k) => k.kid);
    expect(kidsOf(a).filter((kid) => kidsOf(b).includes(kid))).toEqual([]);
    expect(a.publicJwks().keys.map((k) => k.n)).not.toContain(b.publicJwks().keys[0]?.n);
  });

  it("each verifies its own tokens; a token of one is refused by the other's keys", async () => {
    const verifierA = createVerifier({ issuerBaseURL: a.issuerBaseURL, audience: API });
    const verifierB = createVerifier({ issuerBaseURL: b.issuerBaseURL, audience: API });
    const tokenA = await a.mint({}, { clientId: 'worker-a' });
    const tokenB = await b.mint({}, { clientId: 'worker-b' });
    await expect(verifierA.verify(tokenA)).resolves.toMatchObject({ clientId: 'worker-a', payload: { iss: a.issuer } });
    await expect(verifierB.verify(tokenB)).resolves.toMatchObject({ clientId: 'worker-b', payload: { iss: b.issuer } });

    // Same shape, other signer: refused on the issuer check...
    await expect(verifierA.verify(tokenB)).rejects.toMatchObject({ status: 401, code: 'invalid_token' });
    // ...and, with iss forged to a's, on the keys: b's signing key is not among a's.
    const forged = await b.mint({ iss: a.issuer }, { clientId: 'worker-b' });
    await expect(verifierA.verify(forged)).rejects.toMatchObject({
      status: 401,
      code: 'invalid_token',
      message: 'no matching signing key',
    });
    // Even a forged token whose kid names one of a's keys fails on the signature.
    const lying = await b.mint({ iss: a.issuer }, { clientId: 'worker-b', kid: a.currentKid() ?? null });
    await expect(verifierA.verify(lying)).rejects.toMatchObject({ status: 401, code: 'invalid_token' });
  });

  it('keep separate clients and request counts', async () => {
    a.resetCounts();
    b.resetCounts();
    const post = (issuer: TestIssuer, clientId: string, clientSecret: string) =>
      fetch(issuer.tokenEndpoint, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: clientSecret,
          audience: API,
        }),
      }).then((res) => res.status);
    expect(await post(a, 'worker-a', 'secret-a')).toBe(200);
    expect(await post(b, 'worker-a', 'secret-a')).toBe(401);
    expect(a.requestCounts.token).toBe(1);
    expect(b.requestCounts.token).toBe(1);
  });
});
