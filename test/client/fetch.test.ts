import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { express } from '../helpers/express.js';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenClient } from '../../src/client/index.js';
import { m2mErrorHandler, requireM2M, requireScopes } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { json, startServer, tokenResponse, type FakeServer } from './helpers.js';

const INVALID_TOKEN = 'Bearer realm="api", error="invalid_token", error_description="token expired"';

describe('client.fetch', () => {
  let tokens: FakeServer;
  let api: FakeServer;
  /** Tokens the fake API refuses with 401 invalid_token. */
  let refused: Set<string>;
  let challenge: string;

  beforeAll(async () => {
    tokens = await startServer((_req, res, index) => json(res, 200, tokenResponse(`token-${index}`)));
    api = await startServer((req, res) => {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (refused.has(token)) {
        res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' });
        res.end('{"error":"invalid_token"}');
        return;
      }
      json(res, 200, { token, method: req.method, body: req.body, custom: req.headers['x-custom'] ?? null });
    });
  });
  afterAll(async () => {
    await Promise.all([tokens.close(), api.close()]);
  });
  beforeEach(() => {
    refused = new Set();
    challenge = INVALID_TOKEN;
  });

  const newClient = () =>
    createTokenClient({ tokenEndpoint: `${tokens.url}/token`, clientId: 'c', clientSecret: 's3cret' });
  const tokenRequests = () => tokens.requests.length;

  it('adds the Bearer header, keeping the other headers and replacing any Authorization', async () => {
    const client = newClient();
    const token = await client.getToken();
    const viaInit = await client.fetch(`${api.url}/a`, { headers: { 'x-custom': '1', authorization: 'Basic xyz' } });
    expect(await viaInit.json()).toMatchObject({ token, custom: '1' });
    const viaHeaders = await client.fetch(new URL(`${api.url}/b`), { headers: new Headers([['x-custom', '2']]) });
    expect(await viaHeaders.json()).toMatchObject({ token, custom: '2' });
    const viaRequest = await client.fetch(new Request(`${api.url}/c`, { headers: { 'x-custom': '3' } }));
    expect(await viaRequest.json()).toMatchObject({ token, custom: '3' });
  });

  it('on 401 invalid_token, drops the token and retries once with a fresh one, re-sending the body', async () => {
    const client = newClient();
    const stale = await client.getToken();
    refused.add(stale);
    const before = tokenRequests();
    const res = await client.fetch(`${api.url}/orders`, {
      method: 'POST',
      body: JSON.stringify({ n: 1 }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; body: string; method: string };
    expect(body.token).not.toBe(stale);
    expect(body).toMatchObject({ method: 'POST', body: '{"n":1}' });
    expect(tokenRequests() - before).toBe(1);
    expect(await client.getToken()).toBe(body.token);
  });

  it('concurrent refusals of the same token cause a single refresh', async () => {
    const client = newClient();
    refused.add(await client.getToken());
    const before = tokenRequests();
    const responses = await Promise.all(Array.from({ length: 8 }, () => client.fetch(`${api.url}/x`)));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(tokenRequests() - before).toBe(1);
  });

  it('retries only once', async () => {
    const client = newClient();
    const first = await client.getToken();
    refused.add(first);
    refused.add(`token-${Number(first.split('-')[1]) + 1}`);
    const apiBefore = api.requests.length;
    const res = await client.fetch(`${api.url}/x`);
    expect(res.status).toBe(401);
    expect(api.requests.length - apiBefore).toBe(2);
  });

  it('does not retry a 401 without error="invalid_token"', async () => {
    const client = newClient();
    refused.add(await client.getToken());
    const before = tokenRequests();
    for (const value of [
      'Bearer realm="api"',
      'Bearer realm="api", error="insufficient_scope", error_description="error=invalid_token"',
    ]) {
      challenge = value;
      const res = await client.fetch(`${api.url}/x`);
      expect(res.status).toBe(401);
    }
    expect(tokenRequests() - before).toBe(0);
  });

  it('does not retry when the body is a stream that cannot be re-sent', async () => {
    const client = newClient();
    refused.add(await client.getToken());
    const before = tokenRequests();
    const apiBefore = api.requests.length;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('chunk'));
        controller.close();
      },
    });
    const res = await client.fetch(`${api.url}/upload`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(INVALID_TOKEN);
    expect(api.requests.length - apiBefore).toBe(1);
    expect(tokenRequests() - before).toBe(0);
  });

  it('does not retry a Request whose own body was consumed, but does retry a bodiless Request', async () => {
    const client = newClient();
    refused.add(await client.getToken());
    const withBody = await client.fetch(new Request(`${api.url}/r`, { method: 'POST', body: 'data' }));
    expect(withBody.status).toBe(401);
    const withoutBody = await client.fetch(new Request(`${api.url}/r`));
    expect(withoutBody.status).toBe(200);
  });

  it('propagates a TokenRequestError when no token can be obtained', async () => {
    const down = await startServer((_req, res) =>
      json(res, 401, { error: 'invalid_client', error_description: 'bad secret' }),
    );
    try {
      const client = createTokenClient({ tokenEndpoint: down.url, clientId: 'c', clientSecret: 's3cret' });
      await expect(client.fetch(`${api.url}/x`)).rejects.toMatchObject({
        name: 'TokenRequestError',
        error: 'invalid_client',
      });
    } finally {
      await down.close();
    }
  });
});

describe('client.fetch against requireM2M', () => {
  let issuer: TestIssuer;
  let server: Server;
  let apiUrl: string;
  beforeAll(async () => {
    issuer = await createTestIssuer({
      clients: [
        { clientId: 'worker', clientSecret: 'worker-secret', grants: { 'https://api.example.com': ['read:orders'] } },
      ],
    });
    const app = express();
    app.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: 'https://api.example.com' }));
    app.get('/orders', requireScopes('read:orders'), (req, res) => {
      res.json({ caller: req.auth?.clientId });
    });
    app.post('/orders', requireScopes('create:orders'), (_req, res) => {
      res.status(201).end();
    });
    app.use(m2mErrorHandler());
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => issuer.resetCounts());
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await issuer.close();
  });

  it('calls a protected route and is refused a route needing another scope', async () => {
    const client = createTokenClient({
      issuerBaseURL: issuer.issuerBaseURL,
      clientId: 'worker',
      clientSecret: 'worker-secret',
      audience: 'https://api.example.com',
    });
    const ok = await client.fetch(`${apiUrl}/orders`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ caller: 'worker' });
    const forbidden = await client.fetch(`${apiUrl}/orders`, { method: 'POST' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    // 403 is not a reason for a new token.
    expect(issuer.requestCounts.token).toBe(1);
  });
});
