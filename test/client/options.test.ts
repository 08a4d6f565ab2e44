import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { createTokenClient, type TokenClientOptions } from '../../src/client/index.js';
import { form, json, startServer, tokenResponse, type FakeServer } from './helpers.js';

const base = { tokenEndpoint: 'https://as.example.com/token', clientId: 'c', clientSecret: 'hunter2-secret' };

/** The message `createTokenClient` throws for `options` (fails the test when it does not throw). */
function problemWith(options: unknown): string {
  try {
    createTokenClient(options as TokenClientOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error('createTokenClient accepted the options');
}

describe('createTokenClient option problems', () => {
  it('reports two wrong options together, in one TypeError', () => {
    const message = problemWith({ ...base, timeout: 301, retries: -1 });
    expect(message).toMatch(/^express-m2m: createTokenClient: 2 configuration problems:\n/);
    expect(message).toContain('`timeout` must be at most 300 seconds (5 minutes); durations are in seconds');
    expect(message).toContain('`retries` must be an integer from 0 to 10');
  });

  it('reports a client authentication problem and a DPoP key problem with the other options', () => {
    const message = problemWith({
      tokenEndpoint: 'as.example.com/token',
      clientId: 'c',
      dpop: { privateKey: '-----BEGIN PRIVATE KEY-----\nhunter2-secret\n-----END PRIVATE KEY-----' },
    });
    expect(message).toContain('3 configuration problems');
    expect(message).toContain('(did you mean https://as.example.com/token?)');
    expect(message).toContain('`clientSecret` is required for client_secret_post');
    expect(message).toContain('`dpop.privateKey` must be a PEM-encoded (PKCS#8) private key');
    expect(message).not.toContain('hunter2');
  });

  it('refuses unknown options, naming them, so that a misspelt option is not silently ignored', () => {
    const message = problemWith({ ...base, scopes: ['read:orders'], timeoutMs: 5000 });
    expect(message).toContain('unknown option `scopes`');
    expect(message).toContain('unknown option `timeoutMs`');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(problemWith({ ...base, dpop: { privateKey, alg: 'ES256' } })).toBe(
      'express-m2m: createTokenClient: unknown option `dpop.alg`',
    );
    // An option set to undefined is absent, as everywhere else.
    expect(() => createTokenClient({ ...base, ...({ nothing: undefined } as object) })).not.toThrow();
  });

  it('still refuses empty strings where a value is expected, and an array as extraParams', () => {
    expect(problemWith({ ...base, audience: '' })).toBe(
      'express-m2m: createTokenClient: `audience` must be a non-empty string',
    );
    expect(problemWith({ ...base, tokenEndpoint: '', issuerBaseURL: 'https://as.example.com' })).toContain(
      '`tokenEndpoint` must be a non-empty string',
    );
    // An array used to be sent as form parameters named 0, 1, …
    expect(problemWith({ ...base, extraParams: ['tenant=eu'] })).toContain('`extraParams` must be an object');
    expect(problemWith({ ...base, extraParams: { tenant: 1, client_id: 'x' } })).toContain(
      '`extraParams` cannot set client_id',
    );
  });
});

describe('createTokenClient optional lists', () => {
  let server: FakeServer;
  beforeAll(async () => {
    server = await startServer((_req, res) => json(res, 200, tokenResponse('t')));
  });
  afterAll(() => server.close());

  it('takes an empty scope or resource list as none, and null fetch as the global fetch', async () => {
    const client = createTokenClient({
      tokenEndpoint: `${server.url}/token`,
      clientId: 'c',
      clientSecret: 's',
      scope: [],
      resource: [],
      fetch: null as never,
    });
    await expect(client.getToken()).resolves.toBe('t');
    const params = form(server.requests.at(-1)!.body);
    expect(params).toEqual({ grant_type: 'client_credentials', client_id: 'c', client_secret: 's' });
  });
});
