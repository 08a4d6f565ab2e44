import { describe, expect, it } from '@jest/globals';
import { createTokenClientWithInternals } from '../../src/client/token-client.js';
import { json, startServer, tokenResponse } from './helpers.js';

describe('discovery that fails, then recovers', () => {
  it('a 404 discovery is retried after 5 minutes; a found token_endpoint is kept for good', async () => {
    let published = false;
    const server = await startServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration' && published)
        json(res, 200, { issuer: 'x', token_endpoint: `http://${req.headers.host}/as/token` });
      else if (req.url === '/oauth/token') json(res, 200, tokenResponse('from-fallback'));
      else if (req.url === '/as/token') json(res, 200, tokenResponse('from-discovery'));
      else res.writeHead(404).end('not found');
    });
    try {
      let now = 1_000_000;
      const client = createTokenClientWithInternals(
        { issuerBaseURL: server.url, clientId: 'c', clientSecret: 's3cret' },
        { now: () => now },
      );
      const discoveries = () => server.requests.filter((r) => r.url.startsWith('/.well-known/')).length;
      expect(await client.getToken()).toBe('from-fallback');
      expect(discoveries()).toBe(2);
      published = true;
      // Within the retry interval the fallback is used without asking again.
      now += 5 * 60_000 - 1;
      expect(await client.getToken({ forceRefresh: true })).toBe('from-fallback');
      expect(discoveries()).toBe(2);
      now += 1;
      expect(await client.getToken({ forceRefresh: true })).toBe('from-discovery');
      expect(discoveries()).toBe(3);
      expect(JSON.parse(JSON.stringify(client))).toMatchObject({ tokenEndpoint: `${server.url}/as/token` });
      // A definitive answer is not asked again, however long the process lives.
      published = false;
      now += 48 * 3600_000;
      expect(await client.getToken({ forceRefresh: true })).toBe('from-discovery');
      expect(discoveries()).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('while re-discovering, a 5xx keeps the fallback that worked rather than failing', async () => {
    let broken = false;
    const server = await startServer((req, res) => {
      if (req.url === '/oauth/token') json(res, 200, tokenResponse('from-fallback'));
      else if (broken) res.writeHead(503).end();
      else res.writeHead(404).end();
    });
    try {
      let now = 1_000_000;
      const client = createTokenClientWithInternals(
        { issuerBaseURL: server.url, clientId: 'c', clientSecret: 's3cret', retries: 0 },
        { now: () => now },
      );
      expect(await client.getToken()).toBe('from-fallback');
      broken = true;
      now += 5 * 60_000;
      expect(await client.getToken({ forceRefresh: true })).toBe('from-fallback');
    } finally {
      await server.close();
    }
  });
});

describe('refreshes forced by an API refusing every token', () => {
  it('20 calls to an API answering 401 invalid_token cause 2 token requests, then one per 5 seconds', async () => {
    const tokens = await startServer((_req, res, index) => json(res, 200, tokenResponse(`token-${index}`)));
    const api = await startServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    });
    try {
      let now = 1_000_000;
      const client = createTokenClientWithInternals(
        { tokenEndpoint: tokens.url, clientId: 'c', clientSecret: 's3cret' },
        { now: () => now },
      );
      for (let i = 0; i < 20; i++) expect((await client.fetch(api.url)).status).toBe(401);
      // The first token, and one forced refresh; every later 401 is returned as it is.
      expect(tokens.requests).toHaveLength(2);
      expect(api.requests).toHaveLength(21);
      now += 4999;
      await client.fetch(api.url);
      expect(tokens.requests).toHaveLength(2);
      now += 1;
      await client.fetch(api.url);
      expect(tokens.requests).toHaveLength(3);
      expect(api.requests.at(-1)!.headers.authorization).toBe('Bearer token-2');
    } finally {
      await Promise.all([tokens.close(), api.close()]);
    }
  });

  it('a refused token that another call already replaced is retried with the replacement, not refreshed again', async () => {
    const tokens = await startServer((_req, res, index) => json(res, 200, tokenResponse(`token-${index}`)));
    const api = await startServer((req, res) => {
      if (req.headers.authorization === 'Bearer token-0')
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      else json(res, 200, {});
    });
    try {
      const now = 1_000_000;
      const client = createTokenClientWithInternals(
        { tokenEndpoint: tokens.url, clientId: 'c', clientSecret: 's3cret' },
        { now: () => now },
      );
      const statuses = await Promise.all(Array.from({ length: 10 }, () => client.fetch(api.url).then((r) => r.status)));
      expect(statuses).toEqual(Array(10).fill(200));
      expect(tokens.requests).toHaveLength(2);
    } finally {
      await Promise.all([tokens.close(), api.close()]);
    }
  });
});
