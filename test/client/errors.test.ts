import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTokenClient, TokenRequestError } from '../../src/client/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { json, startServer, tokenResponse, type FakeHandler } from './helpers.js';

const API = 'https://orders.example.com';

async function failureFrom(handler: FakeHandler, retries = 0): Promise<{ error: TokenRequestError; requests: number }> {
  const server = await startServer(handler);
  try {
    const error = await createTokenClient({
      tokenEndpoint: `${server.url}/token`,
      clientId: 'c',
      clientSecret: 's3cret',
      retries,
    })
      .getToken()
      .then(
        () => {
          throw new Error('expected a failure');
        },
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(TokenRequestError);
    return { error: error as TokenRequestError, requests: server.requests.length };
  } finally {
    await server.close();
  }
}

describe('RFC 6749 §5.2 errors from createTestIssuer', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await createTestIssuer({
      clients: [
        { clientId: 'worker', clientSecret: 'worker-secret', grants: { [API]: ['read:orders'] } },
        { clientId: 'intruder', clientSecret: 'intruder-secret', grants: {} },
      ],
    });
  });
  afterAll(() => issuer.close());

  const client = (clientId: string, clientSecret: string, scope?: string) =>
    createTokenClient({
      tokenEndpoint: issuer.tokenEndpoint,
      clientId,
      clientSecret,
      audience: API,
      ...(scope !== undefined && { scope }),
    });

  it('invalid_client (401) for a bad secret or an unknown client, not retried', async () => {
    issuer.resetCounts();
    await expect(client('worker', 'wrong').getToken()).rejects.toMatchObject({ error: 'invalid_client', status: 401 });
    await expect(client('nobody', 'x').getToken()).rejects.toMatchObject({ error: 'invalid_client', status: 401 });
    expect(issuer.requestCounts.token).toBe(2);
  });

  it('invalid_scope (400) for a scope the client was not granted', async () => {
    const error = (await client('worker', 'worker-secret', 'delete:orders')
      .getToken()
      .catch((e: unknown) => e)) as TokenRequestError;
    expect(error).toMatchObject({ name: 'TokenRequestError', error: 'invalid_scope', status: 400 });
    expect(error.message).toMatch(/^token request failed: invalid_scope \(HTTP 400\)/);
  });

  it('access_denied (403) for a client not granted the audience', async () => {
    const error = (await client('intruder', 'intruder-secret')
      .getToken()
      .catch((e: unknown) => e)) as TokenRequestError;
    expect(error).toMatchObject({ error: 'access_denied', status: 403 });
    expect(error.error_description).toContain(API);
  });
});

describe('unusable responses', () => {
  it('a non-JSON 500 is retried, then reported as invalid_response with the status', async () => {
    const { error, requests } = await failureFrom((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<html>Internal Server Error</html>');
    }, 2);
    expect(requests).toBe(3);
    expect(error).toMatchObject({ error: 'invalid_response', status: 500 });
    expect(error.message).toBe(
      'token request failed: invalid_response (HTTP 500): token endpoint answered HTTP 500 without an OAuth error',
    );
  });

  it('a 200 that is not JSON, lacks access_token, or is not a Bearer token is invalid_response, not retried', async () => {
    const cases: [FakeHandler, RegExp][] = [
      [
        (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html>portal</html>');
        },
        /not a JSON object/,
      ],
      [(_req, res) => json(res, 200, { token_type: 'Bearer', expires_in: 60 }), /no access_token/],
      [(_req, res) => json(res, 200, { ...tokenResponse('t'), token_type: 'DPoP' }), /not Bearer/],
      [(_req, res) => json(res, 200, tokenResponse('bad\r\nheader')), /characters/],
      [(_req, res) => json(res, 200, ['not', 'an', 'object']), /not a JSON object/],
    ];
    for (const [handler, description] of cases) {
      const { error, requests } = await failureFrom(handler, 2);
      expect(requests).toBe(1);
      expect(error).toMatchObject({ error: 'invalid_response', status: 200 });
      expect(error.error_description).toMatch(description);
    }
  });

  it('an error status without an RFC 6749 error code, or with a malformed one, is invalid_response', async () => {
    const { error } = await failureFrom((_req, res) => json(res, 400, { message: 'bad' }));
    expect(error).toMatchObject({ error: 'invalid_response', status: 400 });
    const { error: quoted } = await failureFrom((_req, res) => json(res, 400, { error: 'bad"code' }));
    expect(quoted).toMatchObject({ error: 'invalid_response', status: 400 });
  });

  it('a redirect is not followed (it would replay the credentials elsewhere)', async () => {
    const target = await startServer((_req, res) => json(res, 200, tokenResponse('stolen')));
    try {
      const { error } = await failureFrom((_req, res) => {
        res.writeHead(307, { location: `${target.url}/token` }).end();
      });
      expect(error).toMatchObject({ error: 'invalid_response', status: 307 });
      expect(target.requests).toHaveLength(0);
    } finally {
      await target.close();
    }
  });

  it('an oversized response is refused', async () => {
    const { error } = await failureFrom((_req, res) =>
      json(res, 200, { ...tokenResponse('t'), padding: 'x'.repeat(2 * 1024 * 1024) }),
    );
    expect(error).toMatchObject({ error: 'invalid_response' });
  });

  it('sanitizes and bounds the server description', async () => {
    const { error } = await failureFrom((_req, res) =>
      json(res, 400, { error: 'invalid_request', error_description: `line1\nline2\u0007${'y'.repeat(1000)}` }),
    );
    expect(error.error_description).not.toContain('\n');
    expect(error.error_description).not.toContain('\u0007');
    expect(error.error_description!.length).toBeLessThanOrEqual(301);
    const { error: localized } = await failureFrom((_req, res) =>
      json(res, 400, { error: 'invalid_request', error_description: 'Ungültige Anfrage\u001b[31m\u202e' }),
    );
    expect(localized.error_description).toBe('Ungültige Anfrage?[31m?');
  });

  it('serializes to a plain, useful object', async () => {
    const { error } = await failureFrom((_req, res) =>
      json(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' }),
    );
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'TokenRequestError',
      message: 'token request failed: invalid_client (HTTP 401): Client authentication failed',
      error: 'invalid_client',
      error_description: 'Client authentication failed',
      status: 401,
    });
    expect(error).toBeInstanceOf(Error);
    expect(String(error.stack)).toMatch(/^TokenRequestError: token request failed/);
  });
});
