import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  EmbeddedJWK,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
} from 'jose';
import { createDPoPKey, createTestIssuer, type DPoPKey, type TestIssuer } from '../../src/testing/index.js';

const API = 'https://api.example.com';
const CLIENT = { grant_type: 'client_credentials', client_id: 'worker', client_secret: 's3cret', audience: API };
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

async function postToken(
  issuer: TestIssuer,
  headers: Record<string, string>,
  body: Record<string, string> = CLIENT,
): Promise<Answer> {
  const res = await fetch(issuer.tokenEndpoint, { method: 'POST', headers, body: new URLSearchParams(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

const now = (): number => Math.floor(Date.now() / 1000);

describe('createDPoPKey', () => {
  it('makes ES256 proofs with typ, alg and the public jwk, and the RFC 7638 thumbprint', async () => {
    const key = await createDPoPKey();
    expect(key.alg).toBe('ES256');
    expect(Object.keys(key.publicJwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(key.jkt).toBe(await calculateJwkThumbprint(key.publicJwk, 'sha256'));

    const proof = await key.proof('GET', 'https://api.example.com/orders?page=2#top');
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' });
    expect(protectedHeader).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk });
    expect(payload).toEqual({
      htm: 'GET',
      htu: 'https://api.example.com/orders',
      iat: expect.any(Number),
      jti: expect.any(String),
    });
    expect(Math.abs((payload.iat as number) - now())).toBeLessThanOrEqual(1);
    expect(decodeJwt(await key.proof('GET', 'https://api.example.com/orders')).jti).not.toBe(payload.jti);
  });

  it('adds ath for an access token, and takes nonce, iat and jti as given', async () => {
    const key = await createDPoPKey();
    const proof = await key.proof('POST', 'https://api.example.com/orders', {
      accessToken: 'token-value',
      nonce: 'n-1',
      iat: 1_700_000_000,
      jti: 'fixed',
    });
    expect(decodeJwt(proof)).toEqual({
      htm: 'POST',
      htu: 'https://api.example.com/orders',
      iat: 1_700_000_000,
      jti: 'fixed',
      nonce: 'n-1',
      ath: createHash('sha256').update('token-value').digest('base64url'),
    });
  });

  it('supports the other asymmetric algorithms and refuses symmetric ones', async () => {
    for (const alg of ['PS256', 'EdDSA', 'ES384'] as const) {
      const key = await createDPoPKey(alg);
      const proof = await key.proof('GET', 'https://api.example.com/');
      expect(decodeProtectedHeader(proof).alg).toBe(alg);
      await expect(jwtVerify(proof, EmbeddedJWK)).resolves.toBeDefined();
      expect(key.publicJwk).not.toHaveProperty('d');
    }
    await expect(createDPoPKey('HS256' as 'ES256')).rejects.toThrow(TypeError);
    await expect(createDPoPKey('Ed25519' as 'EdDSA')).rejects.toThrow(TypeError);
  });
});

describe('DPoP at the token endpoint', () => {
  let issuer: TestIssuer;
  let key: DPoPKey;

  beforeAll(async () => {
    issuer = await createTestIssuer({
      clients: [{ clientId: 'worker', clientSecret: 's3cret', grants: { [API]: ['read:orders'] } }],
    });
    key = await createDPoPKey();
  });
  afterAll(() => issuer.close());

  it('binds the token to the proof key: cnf.jkt and token_type DPoP', async () => {
    const res = await postToken(issuer, { dpop: await key.proof('POST', issuer.tokenEndpoint) });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ token_type: 'DPoP', expires_in: 86400, scope: 'read:orders' });
    expect(decodeJwt(res.json.access_token as string)).toMatchObject({ cnf: { jkt: key.jkt }, azp: 'worker' });
  });

  it('issues Bearer tokens without cnf when no proof is sent', async () => {
    const res = await postToken(issuer, {});
    expect(res.json.token_type).toBe('Bearer');
    expect(decodeJwt(res.json.access_token as string)).not.toHaveProperty('cnf');
  });

  it('advertises the proof algorithms in discovery', async () => {
    const doc = (await (await fetch(`${issuer.issuerBaseURL}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'RS256', 'EdDSA']));
    expect(doc.dpop_signing_alg_values_supported).not.toContain('HS256');
  });

  async function handMade(
    header: Record<string, unknown>,
    claims: Record<string, unknown>,
    signer?: CryptoKey | Uint8Array,
  ) {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(pair.publicKey);
    const full = { jti: randomUUID(), htm: 'POST', htu: issuer.tokenEndpoint, iat: now(), ...claims };
    return new SignJWT(full)
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk, ...header } as { alg: string })
      .sign(signer ?? pair.privateKey);
  }

  const invalid = (res: Answer, description: string) =>
    expect({ status: res.status, json: res.json }).toEqual({
      status: 400,
      json: { error: 'invalid_dpop_proof', error_description: description },
    });

  it.each<[string, () => Promise<string>, string]>([
    ['not a compact JWS', () => Promise.resolve('not-a-jws'), 'DPoP proof is not a compact JWS'],
    ['typ JWT', () => handMade({ typ: 'JWT' }, {}), 'DPoP proof typ must be dpop+jwt'],
    [
      'a symmetric alg',
      () => handMade({ alg: 'HS256' }, {}, new TextEncoder().encode('x'.repeat(32))),
      'DPoP proof alg is not an allowed asymmetric algorithm',
    ],
    ['no jwk', () => handMade({ jwk: undefined }, {}), 'DPoP proof must carry a jwk header'],
    [
      'a private jwk',
      async () => {
        const pair = await generateKeyPair('ES256', { extractable: true });
        return handMade({ jwk: await exportJWK(pair.privateKey) }, {}, pair.privateKey);
      },
      'DPoP proof jwk must be a public key',
    ],
    [
      'a signature by another key',
      async () => {
        const other = await generateKeyPair('ES256');
        return handMade({}, {}, other.privateKey);
      },
      'DPoP proof signature or claims are invalid',
    ],
    ['htm GET', () => key.proof('GET', issuer.tokenEndpoint), 'DPoP proof htm does not match the request method'],
    [
      'htu of another endpoint',
      () => key.proof('POST', `${issuer.issuerBaseURL}/oauth/other`),
      'DPoP proof htu does not match the token endpoint',
    ],
    [
      'iat two minutes old',
      () => key.proof('POST', issuer.tokenEndpoint, { iat: now() - 120 }),
      'DPoP proof iat is missing or outside the acceptable window',
    ],
    [
      'iat a minute ahead',
      () => key.proof('POST', issuer.tokenEndpoint, { iat: now() + 60 }),
      'DPoP proof iat is missing or outside the acceptable window',
    ],
    [
      'an empty jti',
      () => key.proof('POST', issuer.tokenEndpoint, { jti: '' }),
      'DPoP proof jti must be a string of 1 to 256 characters',
    ],
  ])('refuses a proof that is %s with 400 invalid_dpop_proof', async (_name, make, description) => {
    const before = issuer.requestCounts.token;
    invalid(await postToken(issuer, { dpop: await make() }), description);
    expect(issuer.requestCounts.token).toBe(before + 1);
  });

  it('accepts an htu differing only in the case of scheme and host', async () => {
    const upper = issuer.tokenEndpoint.replace('http://127.0.0.1', 'HTTP://127.0.0.1');
    expect((await postToken(issuer, { dpop: await handMade({}, { htu: upper }) })).status).toBe(200);
  });

  it('refuses a replayed proof, and does not spend a proof on a request that failed client authentication', async () => {
    const proof = await key.proof('POST', issuer.tokenEndpoint);
    const unauthenticated = await postToken(issuer, { dpop: proof }, { ...CLIENT, client_secret: 'wrong' });
    expect(unauthenticated.status).toBe(401);
    expect((await postToken(issuer, { dpop: proof })).status).toBe(200);
    invalid(await postToken(issuer, { dpop: proof }), 'DPoP proof replayed');
  });

  it('refuses two DPoP headers', async () => {
    const proofs = [await key.proof('POST', issuer.tokenEndpoint), await key.proof('POST', issuer.tokenEndpoint)];
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        issuer.tokenEndpoint,
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proofs } },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(new URLSearchParams(CLIENT).toString());
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({
      error: 'invalid_dpop_proof',
      error_description: 'exactly one DPoP header is allowed',
    });
  });

  it('never echoes the proof', async () => {
    const proof = await key.proof('GET', issuer.tokenEndpoint);
    const res = await postToken(issuer, { dpop: proof });
    expect(JSON.stringify(res.json)).not.toContain(proof.split('.')[2]);
  });
});

describe('DPoP nonces at the token endpoint (dpopNonce: true)', () => {
  let issuer: TestIssuer;
  let key: DPoPKey;
  let clientKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    clientKey = pair.privateKey;
    issuer = await createTestIssuer({
      dpopNonce: true,
      clients: [
        { clientId: 'worker', clientSecret: 's3cret', grants: { [API]: ['read:orders'] } },
        { clientId: 'signer', publicJwk: await exportJWK(pair.publicKey), grants: { [API]: [] } },
      ],
    });
    key = await createDPoPKey();
  });
  afterAll(() => issuer.close());

  it('answers 400 use_dpop_nonce with a DPoP-Nonce header, then accepts the nonce', async () => {
    const first = await postToken(issuer, { dpop: await key.proof('POST', issuer.tokenEndpoint) });
    expect(first.status).toBe(400);
    expect(first.json).toEqual({
      error: 'use_dpop_nonce',
      error_description: 'authorization server requires nonce in DPoP proof',
    });
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    const second = await postToken(issuer, { dpop: await key.proof('POST', issuer.tokenEndpoint, { nonce: nonce! }) });
    expect(second.status).toBe(200);
    expect(second.json.token_type).toBe('DPoP');
  });

  it('refuses a nonce it did not hand out', async () => {
    const res = await postToken(issuer, { dpop: await key.proof('POST', issuer.tokenEndpoint, { nonce: 'made-up' }) });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('use_dpop_nonce');
    expect(res.headers.get('dpop-nonce')).not.toBe('made-up');
  });

  it('a use_dpop_nonce answer does not spend the client assertion', async () => {
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('signer')
      .setSubject('signer')
      .setAudience(issuer.tokenEndpoint)
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(clientKey);
    const body = {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
      audience: API,
    };
    const first = await postToken(issuer, { dpop: await key.proof('POST', issuer.tokenEndpoint) }, body);
    expect(first.json.error).toBe('use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce') ?? '';
    const second = await postToken(issuer, { dpop: await key.proof('POST', issuer.tokenEndpoint, { nonce }) }, body);
    expect(second.status).toBe(200);
  });

  it('still issues Bearer tokens without a proof', async () => {
    expect((await postToken(issuer, {})).json.token_type).toBe('Bearer');
  });
});

describe('mint with a confirmation claim', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await createTestIssuer();
  });
  afterAll(() => issuer.close());

  it('binds minted tokens to a DPoP key or a certificate thumbprint', async () => {
    const key = await createDPoPKey();
    expect(decodeJwt(await issuer.mint({ cnf: { jkt: key.jkt } }))).toMatchObject({ cnf: { jkt: key.jkt } });
    const thumbprint = createHash('sha256').update('certificate DER').digest('base64url');
    expect(decodeJwt(await issuer.mint({ cnf: { 'x5t#S256': thumbprint } }))).toMatchObject({
      cnf: { 'x5t#S256': thumbprint },
    });
  });
});
