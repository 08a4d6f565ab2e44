import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let issuer: TestIssuer;
let key: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  issuer = await createTestIssuer({
    clients: [
      { clientId: 'signer', publicJwk: await exportJWK(pair.publicKey), grants: { [API]: ['read:orders'] } },
      { clientId: 'other-signer', publicJwk: await exportJWK(pair.publicKey), grants: { [API]: [] } },
    ],
  });
});
afterAll(() => issuer.close());

const now = (): number => Math.floor(Date.now() / 1000);

/** An assertion with the given claims on top of valid ones; `undefined` drops a claim. */
function assertion(clientId: string, claims: Record<string, unknown> = {}): Promise<string> {
  const all: Record<string, unknown> = {
    iss: clientId,
    sub: clientId,
    aud: issuer.tokenEndpoint,
    iat: now(),
    exp: now() + 60,
    jti: randomUUID(),
    ...claims,
  };
  for (const name of Object.keys(all)) if (all[name] === undefined) delete all[name];
  return new SignJWT(all).setProtectedHeader({ alg: 'ES256' }).sign(key);
}

async function tokenRequest(clientAssertion: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(issuer.tokenEndpoint, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: clientAssertion,
      audience: API,
    }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('private_key_jwt client assertions', () => {
  it('accepts a fresh assertion with jti and a short exp', async () => {
    const res = await tokenRequest(await assertion('signer'));
    expect(res.status).toBe(200);
    expect(res.json.token_type).toBe('Bearer');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['without jti', { jti: undefined }, 'client assertion must carry jti'],
    ['with an empty jti', { jti: '' }, 'client assertion jti must be a string of 1 to 256 characters'],
    ['with a non-string jti', { jti: 42 }, 'client assertion jti must be a string of 1 to 256 characters'],
    [
      'with a jti over 256 characters',
      { jti: 'j'.repeat(257) },
      'client assertion jti must be a string of 1 to 256 characters',
    ],
    ['with exp ten years ahead', { exp: now() + 10 * 365 * 86400 }, 'client assertion lifetime exceeds 5 minutes'],
    [
      'with exp ten years ahead and no iat',
      { iat: undefined, exp: now() + 10 * 365 * 86400 },
      'client assertion lifetime exceeds 5 minutes',
    ],
    [
      'living longer than 5 minutes after its iat',
      { iat: now() - 400, exp: now() + 30 },
      'client assertion lifetime exceeds 5 minutes',
    ],
    ['without exp', { exp: undefined }, 'client assertion must carry exp'],
  ])('refuses an assertion %s with 401 invalid_client', async (_name, claims, description) => {
    const res = await tokenRequest(await assertion('signer', claims));
    expect(res).toEqual({ status: 401, json: { error: 'invalid_client', error_description: description } });
  });

  it('accepts an exp up to 5 minutes ahead', async () => {
    const res = await tokenRequest(await assertion('signer', { exp: now() + 295 }));
    expect(res.status).toBe(200);
  });

  it('refuses a replayed assertion, and a new assertion reusing its jti, while it lives', async () => {
    const first = await assertion('signer');
    expect((await tokenRequest(first)).status).toBe(200);
    const replay = await tokenRequest(first);
    expect(replay).toEqual({
      status: 401,
      json: { error: 'invalid_client', error_description: 'client assertion jti was already used' },
    });
    const jti = randomUUID();
    expect((await tokenRequest(await assertion('signer', { jti }))).status).toBe(200);
    expect((await tokenRequest(await assertion('signer', { jti, exp: now() + 120 }))).status).toBe(401);
    // jtis are per client: another client may use the same value.
    expect((await tokenRequest(await assertion('other-signer', { jti }))).status).toBe(200);
  });

  it('does not record the jti of an assertion that failed another check', async () => {
    const jti = randomUUID();
    expect((await tokenRequest(await assertion('signer', { jti, exp: now() + 3600 }))).status).toBe(401);
    expect((await tokenRequest(await assertion('signer', { jti }))).status).toBe(200);
  });
});
