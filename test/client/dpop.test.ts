import { afterEach, describe, expect, it } from '@jest/globals';
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { calculateJwkThumbprint, decodeJwt, EmbeddedJWK, exportJWK, jwtVerify, type JWK } from 'jose';
import { createTokenClient, TokenRequestError, type TokenClientOptions } from '../../src/client/index.js';
import { json, startServer, type FakeServer, type SeenRequest } from './helpers.js';

/**
 * A token endpoint and an API on one 127.0.0.1 server that check DPoP proofs independently of
 * the client, with jose: signature by the embedded key, typ, htm, htu, iat/exp, jti reuse, ath,
 * nonce, and the token's binding to the key thumbprint.
 */
interface DPoPServer extends FakeServer {
  /** Proof problems seen, as text; empty when every proof was right. */
  problems: string[];
  /** Verified proof payloads and headers, in order. */
  proofs: { header: Record<string, unknown>; payload: Record<string, unknown> }[];
  /** Nonces demanded: by the token endpoint, by the API. */
  nonces: { token?: string; api?: string };
  /** Nonce the API hands out on successful answers, if any. */
  rotateTo?: string;
  tokenType: string;
}

async function dpopServer(): Promise<DPoPServer> {
  const bound = new Map<string, string>();
  const jtis = new Set<string>();
  let issued = 0;
  // Filled in once the server is listening; the handlers only run after that.
  const ref: { state?: DPoPServer } = {};
  const check = async (req: SeenRequest, htu: string): Promise<{ jkt: string; payload: Record<string, unknown> }> => {
    const proof = req.headers.dpop;
    if (typeof proof !== 'string') throw new Error('no DPoP header');
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' });
    const jwk = protectedHeader.jwk as JWK;
    if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((m) => m in jwk)) throw new Error('private member in jwk');
    if (payload.htm !== req.method) throw new Error(`htm ${String(payload.htm)}`);
    if (payload.htu !== htu) throw new Error(`htu ${String(payload.htu)} != ${htu}`);
    if (typeof payload.jti !== 'string' || jtis.has(payload.jti)) throw new Error('jti missing or reused');
    jtis.add(payload.jti);
    const now = Math.floor(Date.now() / 1000);
    if (Math.abs(payload.iat! - now) > 5 || payload.exp !== payload.iat! + 60) throw new Error('iat/exp');
    ref.state!.proofs.push({ header: protectedHeader as Record<string, unknown>, payload });
    return { jkt: await calculateJwkThumbprint(jwk), payload };
  };
  const handle = async (req: SeenRequest, res: ServerResponse): Promise<void> => {
    const base = `http://${req.headers.host}`;
    const path = req.url.split('?')[0]!;
    try {
      if (path === '/token') {
        const { jkt, payload } = await check(req, `${base}/token`);
        if (ref.state!.nonces.token !== undefined && payload.nonce !== ref.state!.nonces.token) {
          json(res, 400, { error: 'use_dpop_nonce' }, { 'dpop-nonce': ref.state!.nonces.token });
          return;
        }
        const token = `at-${issued++}`;
        bound.set(token, jkt);
        json(res, 200, { access_token: token, token_type: ref.state!.tokenType, expires_in: 3600 });
        return;
      }
      const authorization = req.headers.authorization ?? '';
      const token = authorization.replace(/^DPoP /, '');
      if (!authorization.startsWith('DPoP ') || !bound.has(token)) throw new Error('not a DPoP token');
      const { jkt, payload } = await check(req, `${base}${path}`);
      if (jkt !== bound.get(token)) throw new Error('proof key does not match the token');
      if (payload.ath !== createHash('sha256').update(token).digest('base64url')) throw new Error('ath');
      if (ref.state!.nonces.api !== undefined && payload.nonce !== ref.state!.nonces.api) {
        res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': ref.state!.nonces.api });
        res.end();
        return;
      }
      if (ref.state!.rotateTo !== undefined) ref.state!.nonces.api = ref.state!.rotateTo;
      json(res, 200, { token }, ref.state!.rotateTo === undefined ? {} : { 'dpop-nonce': ref.state!.rotateTo });
    } catch (error) {
      ref.state!.problems.push(`${req.method} ${path}: ${(error as Error).message}`);
      res.writeHead(401, { 'www-authenticate': 'DPoP error="invalid_dpop_proof"' }).end();
    }
  };
  const server = await startServer((req, res) => handle(req, res));
  ref.state = Object.assign(server, { problems: [], proofs: [], nonces: {}, tokenType: 'DPoP' });
  return ref.state;
}

let server: DPoPServer;
afterEach(() => server?.close());

const clientFor = (s: DPoPServer, extra: Partial<TokenClientOptions> = {}) =>
  createTokenClient({ tokenEndpoint: `${s.url}/token`, clientId: 'c', clientSecret: 's3cret', dpop: true, ...extra });

describe('DPoP, caller side', () => {
  it('binds the token to one key and proves it on every API call (fresh jti, ath, htu without query)', async () => {
    server = await dpopServer();
    const client = clientFor(server);
    const first = await client.fetch(`${server.url}/orders?page=2#top`);
    const second = await client.fetch(`${server.url}/orders`, { method: 'POST', body: '{}' });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(server.problems).toEqual([]);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /token',
      'GET /orders?page=2',
      'POST /orders',
    ]);
    const [tokenProof, ...apiProofs] = server.proofs;
    expect(tokenProof!.header).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256' } });
    expect(tokenProof!.payload.ath).toBeUndefined();
    expect(apiProofs.map((p) => p.payload.htm)).toEqual(['GET', 'POST']);
    // One key per client: the same thumbprint everywhere.
    const thumbprints = new Set(
      await Promise.all(server.proofs.map((p) => calculateJwkThumbprint(p.header.jwk as JWK))),
    );
    expect(thumbprints.size).toBe(1);
    expect(server.requests[1]!.headers.authorization).toBe('DPoP at-0');
  });

  it('a token endpoint demanding a nonce: one retry with it; the nonce is then remembered', async () => {
    server = await dpopServer();
    server.nonces.token = 'as-nonce-1';
    const client = clientFor(server);
    expect(await client.getToken()).toBe('at-0');
    expect(await client.getToken({ forceRefresh: true })).toBe('at-1');
    expect(server.requests.map((r) => r.url)).toEqual(['/token', '/token', '/token']);
    expect(server.proofs.map((p) => p.payload.nonce)).toEqual([undefined, 'as-nonce-1', 'as-nonce-1']);
    expect(server.problems).toEqual([]);
  });

  it('the nonce retry of a private_key_jwt client carries a new assertion (a jti is never replayed)', async () => {
    server = await dpopServer();
    server.nonces.token = 'as-nonce-1';
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const client = createTokenClient({ tokenEndpoint: `${server.url}/token`, clientId: 'c', privateKey, dpop: true });
    expect(await client.getToken()).toBe('at-0');
    const jtis = server.requests.map((r) => decodeJwt(new URLSearchParams(r.body).get('client_assertion')!).jti);
    expect(jtis).toHaveLength(2);
    expect(new Set(jtis).size).toBe(2);
  });

  it('a nonce that keeps changing is retried only once', async () => {
    server = await dpopServer();
    let n = 0;
    const rotating = await startServer((_req, res) =>
      json(res, 400, { error: 'use_dpop_nonce' }, { 'dpop-nonce': `n${n++}` }),
    );
    try {
      const client = createTokenClient({
        tokenEndpoint: rotating.url,
        clientId: 'c',
        clientSecret: 's3cret-for-nonces',
        dpop: true,
      });
      await expect(client.getToken()).rejects.toMatchObject({ error: 'use_dpop_nonce', status: 400 });
      expect(rotating.requests).toHaveLength(2);
    } finally {
      await rotating.close();
    }
  });

  it('a token that comes back as Bearer is invalid_response (the proof was ignored)', async () => {
    server = await dpopServer();
    for (const tokenType of ['Bearer', 'bearer']) {
      server.tokenType = tokenType;
      const error = await clientFor(server)
        .getToken()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenRequestError);
      expect(error).toMatchObject({ error: 'invalid_response', error_description: 'token_type is not DPoP' });
    }
    server.tokenType = 'dpop';
    expect(await clientFor(server).getToken()).toMatch(/^at-/);
  });

  it("an API's use_dpop_nonce: one retry with its nonce, remembered per origin, replaced by a newer one", async () => {
    server = await dpopServer();
    server.nonces.api = 'api-1';
    const client = clientFor(server);
    expect((await client.fetch(`${server.url}/a`)).status).toBe(200);
    expect(server.requests.map((r) => r.url)).toEqual(['/token', '/a', '/a']);
    // Remembered: no second 401.
    server.rotateTo = 'api-2';
    expect((await client.fetch(`${server.url}/b`)).status).toBe(200);
    // The nonce on that success replaced the remembered one.
    server.rotateTo = undefined;
    expect((await client.fetch(`${server.url}/c`)).status).toBe(200);
    expect(server.requests.map((r) => r.url)).toEqual(['/token', '/a', '/a', '/b', '/c']);
    expect(server.proofs.slice(1).map((p) => p.payload.nonce)).toEqual([undefined, 'api-1', 'api-1', 'api-2']);
    // The token endpoint (same origin here) now also gets the remembered nonce: harmless, it is the origin's.
    expect(server.problems).toEqual([]);
  });

  it('createProof gives headers for other HTTP clients', async () => {
    server = await dpopServer();
    const client = clientFor(server);
    const accessToken = await client.getToken();
    const headers = await client.createProof('get', `${server.url}/orders?x=1`, { accessToken });
    expect(Object.keys(headers).sort()).toEqual(['authorization', 'dpop']);
    expect(headers.authorization).toBe(`DPoP ${accessToken}`);
    const res = await fetch(`${server.url}/orders?x=1`, { headers: { ...headers } });
    expect(res.status).toBe(200);
    expect(server.problems).toEqual([]);
    const bare = await client.createProof('POST', `${server.url}/token`, { nonce: 'n-1' });
    expect(Object.keys(bare)).toEqual(['dpop']);
    const { payload } = await jwtVerify(bare.dpop, EmbeddedJWK);
    expect(payload).toMatchObject({ htm: 'POST', htu: `${server.url}/token`, nonce: 'n-1' });
    expect(payload.ath).toBeUndefined();
    expect(() =>
      createTokenClient({ tokenEndpoint: `${server.url}/t`, clientId: 'c', clientSecret: 's' }),
    ).not.toThrow();
    await expect(
      createTokenClient({ tokenEndpoint: `${server.url}/t`, clientId: 'c', clientSecret: 's' }).createProof(
        'GET',
        server.url,
      ),
    ).rejects.toThrow(/createProof needs the `dpop` option/);
  });

  it('a key of your own (Ed25519, RSA with PS256) is used, and never shows', async () => {
    server = await dpopServer();
    const ed = generateKeyPairSync('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaJwk = await exportJWK(rsa.privateKey);
    const edClient = clientFor(server, { dpop: { privateKey: ed.privateKey } });
    const rsaClient = clientFor(server, { dpop: { privateKey: rsaJwk, algorithm: 'PS256' } });
    expect((await edClient.fetch(`${server.url}/x`)).status).toBe(200);
    expect((await rsaClient.fetch(`${server.url}/x`)).status).toBe(200);
    expect(server.problems).toEqual([]);
    expect(server.proofs.map((p) => p.header.alg)).toEqual(['EdDSA', 'EdDSA', 'PS256', 'PS256']);
    const edD = (await exportJWK(ed.privateKey)).d!;
    for (const [client, secrets] of [
      [edClient, [edD]],
      [rsaClient, [rsaJwk.d!, rsaJwk.p!]],
    ] as const) {
      const text = `${inspect(client, { depth: Infinity, showHidden: true })}${JSON.stringify(client)}`;
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(JSON.parse(JSON.stringify(client)).dpop.jwk).not.toHaveProperty('d');
    }
  });

  it('bad dpop options are TypeErrors that name the option, never the key', () => {
    const base = { tokenEndpoint: 'https://as.example.com/token', clientId: 'c', clientSecret: 's' };
    const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => createTokenClient({ ...base, dpop: 'yes' as never })).toThrow(/`dpop` must be true/);
    expect(() => createTokenClient({ ...base, dpop: { privateKey: 'not a key' } })).toThrow(/`dpop.privateKey`/);
    expect(() => createTokenClient({ ...base, dpop: { privateKey: pub.publicKey } })).toThrow(/`dpop.privateKey`/);
    expect(() => createTokenClient({ ...base, dpop: { privateKey: pub.privateKey, algorithm: 'RS256' } })).toThrow(
      /`dpop.algorithm` must be one of ES256/,
    );
  });
});
