import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { createTokenClient, TokenRequestError } from '../../src/client/index.js';
import {
  backoffDelay,
  BASE_DELAY_MS,
  isRetryableStatus,
  MAX_DELAY_MS,
  parseRetryAfter,
} from '../../src/client/retry.js';
import { json, startServer, tokenResponse, type FakeHandler, type FakeServer } from './helpers.js';

/** Timers may fire a millisecond or two early relative to Date.now(). */
const SLACK = 25;

async function withServer<T>(handler: FakeHandler, run: (server: FakeServer) => Promise<T>): Promise<T> {
  const server = await startServer(handler);
  try {
    return await run(server);
  } finally {
    await server.close();
  }
}

const clientFor = (url: string, extra: Partial<Parameters<typeof createTokenClient>[0]> = {}) =>
  createTokenClient({ tokenEndpoint: url, clientId: 'c', clientSecret: 's3cret', ...extra });

const gaps = (server: FakeServer) => server.requests.slice(1).map((r, i) => r.at - server.requests[i]!.at);

describe('retries', () => {
  it('retries 5xx with exponential backoff and jitter, then succeeds', async () => {
    await withServer(
      (_req, res, index) =>
        index < 2 ? json(res, 503, { error: 'temporarily_unavailable' }) : json(res, 200, tokenResponse('ok')),
      async (server) => {
        expect(await clientFor(server.url).getToken()).toBe('ok');
        expect(server.requests).toHaveLength(3);
        const [first, second] = gaps(server);
        expect(first).toBeGreaterThanOrEqual(BASE_DELAY_MS / 2 - SLACK);
        expect(second).toBeGreaterThanOrEqual(BASE_DELAY_MS - SLACK);
      },
    );
  });

  it('honours Retry-After in seconds on 429', async () => {
    await withServer(
      (_req, res, index) =>
        index === 0
          ? json(res, 429, { error: 'too_many_requests' }, { 'retry-after': '1' })
          : json(res, 200, tokenResponse('ok')),
      async (server) => {
        expect(await clientFor(server.url).getToken()).toBe('ok');
        expect(gaps(server)[0]).toBeGreaterThanOrEqual(1000 - SLACK);
      },
    );
  });

  it('honours Retry-After as an HTTP-date on 503', async () => {
    await withServer(
      (_req, res, index) => {
        if (index > 0) return json(res, 200, tokenResponse('ok'));
        res.writeHead(503, { 'retry-after': new Date(Date.now() + 2000).toUTCString(), 'content-type': 'text/html' });
        res.end('<h1>down</h1>');
      },
      async (server) => {
        expect(await clientFor(server.url).getToken()).toBe('ok');
        // The date has whole-second precision: at least one second remains once truncated.
        expect(gaps(server)[0]).toBeGreaterThanOrEqual(1000 - SLACK);
      },
    );
  });

  it('gives up at once when Retry-After exceeds the cap, exposing retryAfter', async () => {
    await withServer(
      (_req, res) =>
        json(
          res,
          503,
          { error: 'temporarily_unavailable', error_description: 'maintenance' },
          { 'retry-after': '3600' },
        ),
      async (server) => {
        const started = Date.now();
        const error = (await clientFor(server.url)
          .getToken()
          .catch((e: unknown) => e)) as TokenRequestError;
        expect(error).toBeInstanceOf(TokenRequestError);
        expect(error).toMatchObject({ error: 'temporarily_unavailable', status: 503, retryAfter: 3600 });
        expect(server.requests).toHaveLength(1);
        expect(Date.now() - started).toBeLessThan(5000);
      },
    );
  });

  it('reports the Retry-After of the last answer even when retries are exhausted', async () => {
    await withServer(
      (_req, res) => json(res, 429, { error: 'slow_down' }, { 'retry-after': '7' }),
      async (server) => {
        await expect(clientFor(server.url, { retries: 0 }).getToken()).rejects.toMatchObject({
          error: 'slow_down',
          status: 429,
          retryAfter: 7,
        });
      },
    );
  });

  it('does not retry 4xx errors, and retries: 0 disables retrying', async () => {
    await withServer(
      (_req, res) => json(res, 400, { error: 'invalid_request' }),
      async (server) => {
        await expect(clientFor(server.url).getToken()).rejects.toMatchObject({ error: 'invalid_request', status: 400 });
        expect(server.requests).toHaveLength(1);
      },
    );
    await withServer(
      (_req, res) => json(res, 500, { error: 'server_error' }),
      async (server) => {
        await expect(clientFor(server.url, { retries: 0 }).getToken()).rejects.toMatchObject({
          error: 'server_error',
          status: 500,
        });
        expect(server.requests).toHaveLength(1);
      },
    );
  });

  it('retries network errors and then reports network_error', async () => {
    // A port that was just free: connections are refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const started = Date.now();
    const error = (await clientFor(`http://127.0.0.1:${port}/token`, { retries: 1 })
      .getToken()
      .catch((e: unknown) => e)) as TokenRequestError;
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ error: 'network_error', status: undefined });
    expect(error.cause).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(BASE_DELAY_MS / 2 - SLACK);
  });

  it('retries a discovery document that is temporarily unavailable', async () => {
    await withServer(
      (req, res, index) => {
        if (req.url === '/.well-known/openid-configuration') {
          if (index === 0) return json(res, 503, {});
          return json(res, 200, { token_endpoint: `http://${req.headers.host}/connect/token` });
        }
        if (req.url === '/connect/token') return json(res, 200, tokenResponse('ok'));
        return json(res, 404, {});
      },
      async (server) => {
        expect(
          await createTokenClient({ issuerBaseURL: server.url, clientId: 'c', clientSecret: 's3cret' }).getToken(),
        ).toBe('ok');
        expect(server.requests.map((r) => r.url)).toEqual([
          '/.well-known/openid-configuration',
          '/.well-known/oauth-authorization-server',
          '/.well-known/openid-configuration',
          '/connect/token',
        ]);
      },
    );
  });
});

describe('timeouts', () => {
  it('times out a server that never answers, after the retries', async () => {
    await withServer(
      () => {
        // never answer
      },
      async (server) => {
        const started = Date.now();
        const error = await clientFor(server.url, { timeout: 0.3, retries: 1 })
          .getToken()
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TokenRequestError);
        expect(error).toMatchObject({ error: 'timeout', status: undefined });
        expect(server.requests).toHaveLength(2);
        expect(Date.now() - started).toBeGreaterThanOrEqual(600 + BASE_DELAY_MS / 2 - SLACK);
      },
    );
  });

  it('the timeout covers a body that stalls midway', async () => {
    await withServer(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"access_token":');
      },
      async (server) => {
        await expect(clientFor(server.url, { timeout: 0.3, retries: 0 }).getToken()).rejects.toMatchObject({
          error: 'timeout',
        });
      },
    );
  });
});

describe('retry policy helpers', () => {
  it('parses Retry-After seconds and HTTP-dates', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
  });

  it('bounds the backoff and jitters it', () => {
    expect(backoffDelay(0, () => 0)).toBe(BASE_DELAY_MS / 2);
    expect(backoffDelay(0, () => 0.999999)).toBeLessThan(BASE_DELAY_MS);
    expect(backoffDelay(1, () => 0)).toBe(BASE_DELAY_MS);
    expect(backoffDelay(30, () => 0.999999)).toBeLessThanOrEqual(MAX_DELAY_MS);
  });

  it('classifies retryable statuses', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([200, 301, 400, 401, 403, 404].some(isRetryableStatus)).toBe(false);
  });
});
