import { describe, expect, it } from '@jest/globals';
import { createTokenClient, TokenRequestError, type FetchImplementation } from '../../src/client/index.js';
import { createClientAuthentication } from '../../src/client/client-auth.js';
import { json, startServer, tokenResponse } from './helpers.js';

/** A real wrapper around the global fetch that counts what goes through it. */
function countingFetch(): { fetch: FetchImplementation; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    fetch: (input, init) => {
      urls.push(input instanceof Request ? input.url : String(input));
      return fetch(input, init);
    },
  };
}

describe('the fetch option', () => {
  it('is used for discovery, token requests and client.fetch', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration')
        json(res, 200, { token_endpoint: `http://${req.headers.host}/token` });
      else if (req.url === '/token') json(res, 200, tokenResponse('t1'));
      else json(res, 200, { authorization: req.headers.authorization });
    });
    try {
      const counting = countingFetch();
      const client = createTokenClient({
        issuerBaseURL: server.url,
        clientId: 'c',
        clientSecret: 's3cret',
        fetch: counting.fetch,
      });
      const res = await client.fetch(`${server.url}/api`);
      expect(await res.json()).toEqual({ authorization: 'Bearer t1' });
      expect(counting.urls).toEqual([
        `${server.url}/.well-known/openid-configuration`,
        `${server.url}/token`,
        `${server.url}/api`,
      ]);
      expect(server.requests).toHaveLength(3);
    } finally {
      await server.close();
    }
  });

  it('keeps the timeout even when the custom fetch ignores the abort signal', async () => {
    let calls = 0;
    const stuck: FetchImplementation = () => {
      calls++;
      return new Promise<Response>(() => undefined);
    };
    const client = createTokenClient({
      tokenEndpoint: 'http://127.0.0.1:9/token',
      clientId: 'c',
      clientSecret: 's3cret',
      timeout: 0.2,
      retries: 0,
      fetch: stuck,
    });
    const started = Date.now();
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ error: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(calls).toBe(1);
  });

  it('keeps the 1 MiB cap on what the custom fetch returns', async () => {
    const huge: FetchImplementation = () =>
      Promise.resolve(
        new Response(JSON.stringify({ access_token: 'x'.repeat(2 * 1024 * 1024), token_type: 'Bearer' })),
      );
    const client = createTokenClient({
      tokenEndpoint: 'https://as.example.com/token',
      clientId: 'c',
      clientSecret: 's',
      fetch: huge,
    });
    await expect(client.getToken()).rejects.toMatchObject({ error: 'invalid_response' });
  });

  it('must be a function', () => {
    expect(() =>
      createTokenClient({
        tokenEndpoint: 'https://as.example.com/t',
        clientId: 'c',
        clientSecret: 's',
        fetch: 'x' as never,
      }),
    ).toThrow(/`fetch` must be a function/);
  });
});

describe('bounded durations', () => {
  const base = { tokenEndpoint: 'https://as.example.com/token', clientId: 'c', clientSecret: 's' };
  it('timeout at most 5 minutes, expiryMargin at most 1 hour; the message says seconds', () => {
    expect(() => createTokenClient({ ...base, timeout: 300 })).not.toThrow();
    expect(() => createTokenClient({ ...base, timeout: 301 })).toThrow(
      /`timeout` must be at most 300 seconds \(5 minutes\); durations are in seconds/,
    );
    expect(() => createTokenClient({ ...base, timeout: 10_000 })).toThrow(TypeError);
    expect(() => createTokenClient({ ...base, expiryMargin: 3600 })).not.toThrow();
    expect(() => createTokenClient({ ...base, expiryMargin: 3601 })).toThrow(/`expiryMargin` .*seconds/);
  });
});

describe('createClientAuthentication (shared with other endpoints)', () => {
  it('gives the form parameters and headers for an endpoint, for each method', async () => {
    const post = createClientAuthentication({ clientId: 'api', clientSecret: 'introspect-secret' }, 'requireM2M');
    expect(post.method).toBe('client_secret_post');
    expect(await post.authenticate('https://as.example.com/introspect')).toEqual({
      headers: {},
      params: { client_id: 'api', client_secret: 'introspect-secret' },
    });
    const basic = createClientAuthentication({
      clientId: 'api',
      clientSecret: 'introspect-secret',
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    expect(await basic.authenticate('https://as.example.com/introspect')).toEqual({
      headers: { authorization: `Basic ${Buffer.from('api:introspect-secret').toString('base64')}` },
      params: {},
    });
    expect(basic.sanitize('you sent Introspect-Secret')).toBe('[redacted: the server echoed a credential]');
    expect(basic.containsCredential('all fine')).toBe(false);
  });

  it('a secret under 8 characters counts only as a word of its own', () => {
    const auth = createClientAuthentication({ clientId: 'api', clientSecret: 'ab1' });
    expect(auth.containsCredential('use_dpop_nonce: cab123 is fine')).toBe(false);
    expect(auth.containsCredential('secret "AB1" is wrong')).toBe(true);
    expect(auth.containsCredential('secret=ab%31')).toBe(true);
  });

  it('names the calling factory in its errors, and keeps the credential out of JSON and inspect', () => {
    expect(() => createClientAuthentication({ clientId: 'api' }, 'requireM2M')).toThrow(
      'express-m2m: requireM2M: `clientSecret` is required for client_secret_post',
    );
    const auth = createClientAuthentication({ clientId: 'api', clientSecret: 'introspect-secret' });
    expect(JSON.stringify(auth)).not.toContain('introspect-secret');
    expect(Object.isFrozen(auth)).toBe(true);
  });
});
