import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { exportJWK } from 'jose';
import { createTokenClient, TokenRequestError, type TokenClient } from '../../src/client/index.js';
import { createTokenClientWithInternals } from '../../src/client/token-client.js';
import { form, json, startServer, tokenResponse, type SeenRequest } from './helpers.js';

const SECRET = 'S3cr3t:with spaces+and/üñí©ødé&<ok>';

/** Every way the secret, the error or the client could be rendered into a log. */
function renderings(value: unknown): string {
  const error = value as Error & { cause?: unknown; error_description?: string };
  return [
    String(value),
    error instanceof Error ? `${error.message}\n${error.stack}\n${String(error.cause)}` : '',
    error.error_description ?? '',
    JSON.stringify(value) ?? '',
    inspect(value, { depth: Infinity, showHidden: true }),
    inspect(value, { depth: Infinity, customInspect: false }),
  ].join('\n');
}

/** The altered forms a careless server echoes a secret in. */
function alteredForms(secret: string): Record<string, string> {
  const bytes = Buffer.from(secret, 'utf8');
  return {
    lowerHex: encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    upperHexEveryByte: [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
    htmlDecimal: [...secret].map((c) => `&#${c.codePointAt(0)};`).join(''),
    htmlNamed: secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/ /g, '&nbsp;'),
    upperCased: secret.toUpperCase(),
  };
}

async function failure(client: TokenClient): Promise<TokenRequestError> {
  const error = await client.getToken().then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenRequestError);
  return error as TokenRequestError;
}

describe('a token endpoint echoing the secret in altered forms', () => {
  const echoes: Record<string, (req: SeenRequest, secret: string) => string> = {
    ...Object.fromEntries(
      Object.keys(alteredForms('x')).map((name) => [name, (_req: SeenRequest, s: string) => alteredForms(s)[name]!]),
    ),
    base64Body: (req) => `request was ${Buffer.from(req.body).toString('base64')}`,
    base64UrlBody: (req) => `request=${Buffer.from(`x${req.body}`).toString('base64url')}`,
    hexBody: (req) => `dump ${Buffer.from(req.body).toString('hex')}`,
    base64Basic: (req) => `auth header ${req.headers.authorization ?? ''}`,
    prefixOnly: (_req, s) => `secret starts with ${s.slice(0, 16)}`,
  };

  for (const method of ['client_secret_post', 'client_secret_basic'] as const) {
    for (const [name, echo] of Object.entries(echoes)) {
      // The secret travels in the body with client_secret_post and in the header with client_secret_basic.
      if ((name === 'base64Basic') !== (method === 'client_secret_basic') && /Body|Basic/.test(name)) continue;
      it(`${method}, ${name}: nothing of the secret reaches the error`, async () => {
        const server = await startServer((req, res) => {
          const text = echo(req, SECRET);
          json(res, 401, { error: 'invalid_client', error_description: `bad credentials: ${text}` });
        });
        try {
          const client = createTokenClient({
            tokenEndpoint: server.url,
            clientId: 'c',
            clientSecret: SECRET,
            tokenEndpointAuthMethod: method,
          });
          const error = await failure(client);
          expect(error).toMatchObject({ error: 'invalid_client', status: 401 });
          expect(error.error_description).toBe('[redacted: the server echoed a credential]');
          const text = renderings(error) + renderings(client);
          for (const form of [SECRET, ...Object.values(alteredForms(SECRET))]) expect(text).not.toContain(form);
          expect(text.toLowerCase()).not.toContain('s3cr3t');
        } finally {
          await server.close();
        }
      });
    }
  }

  it('an error code echoing the secret becomes invalid_response, the code withheld', async () => {
    const server = await startServer((_req, res) =>
      json(res, 400, { error: alteredForms('post-secret-123').upperCased, error_description: 'x' }),
    );
    try {
      const client = createTokenClient({ tokenEndpoint: server.url, clientId: 'c', clientSecret: 'post-secret-123' });
      const error = await failure(client);
      expect(error).toMatchObject({ error: 'invalid_response', status: 400 });
      expect(renderings(error).toLowerCase()).not.toContain('post-secret');
    } finally {
      await server.close();
    }
  });

  it('a secret right after a `%` (which percent-decoding would mangle) is still recognised', async () => {
    // Found by the fuzzer: `%2a` + `u555…` decodes to `*u555…`, hiding the secret from a decoded-only check.
    const secret = '2au555YyPwUnBosF';
    const server = await startServer((_req, res) =>
      json(res, 429, { error: `y{<;k%tJt%${secret}Gc;iE%{`, error_description: 'slow down' }),
    );
    try {
      const client = createTokenClient({ tokenEndpoint: server.url, clientId: 'c', clientSecret: secret, retries: 0 });
      const error = await failure(client);
      expect(error).toMatchObject({ error: 'invalid_response', status: 429 });
      expect(renderings(error)).not.toContain(secret);
    } finally {
      await server.close();
    }
  });

  it('private_key_jwt: a PEM line, an upper-cased JWK member or the assertion signature are withheld', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const jwk = await exportJWK(privateKey);
    const leaks = [
      (_req: SeenRequest) => pem.split('\n')[1]!,
      () => jwk.d!.toUpperCase(),
      (req: SeenRequest) => encodeURIComponent(form(req.body).client_assertion!.split('.')[2]!.toLowerCase()),
    ];
    for (const leak of leaks) {
      const server = await startServer((req, res) =>
        json(res, 400, { error: 'invalid_client', error_description: leak(req) }),
      );
      try {
        // The key is given as a KeyObject: its PEM and JWK forms are derived, yet recognised.
        const client = createTokenClient({ tokenEndpoint: server.url, clientId: 'c', privateKey });
        const error = await failure(client);
        expect(error.error_description).toBe('[redacted: the server echoed a credential]');
        const text = renderings(error);
        expect(text).not.toContain(jwk.d!);
        expect(text).not.toContain(pem.split('\n')[1]!);
      } finally {
        await server.close();
      }
    }
  });

  it('a secret cut by the 300-character limit is still withheld; one far beyond it is simply not shown', async () => {
    const descriptions = [`${'x'.repeat(290)} ${SECRET}`, `${'y'.repeat(5000)} ${SECRET}`];
    const server = await startServer((_req, res, index) =>
      json(res, 401, { error: 'invalid_client', error_description: descriptions[index] }),
    );
    try {
      const client = createTokenClient({ tokenEndpoint: server.url, clientId: 'c', clientSecret: SECRET });
      expect((await failure(client)).error_description).toBe('[redacted: the server echoed a credential]');
      const far = await failure(client);
      expect(far.error_description).toBe(`${'y'.repeat(300)}…`);
      expect(renderings(far)).not.toContain('S3cr3t');
    } finally {
      await server.close();
    }
  });

  it('an unrelated description is kept (sanitized)', async () => {
    const server = await startServer((_req, res) =>
      json(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed\r\nfake log line' }),
    );
    try {
      const error = await failure(
        createTokenClient({ tokenEndpoint: server.url, clientId: 'c', clientSecret: SECRET }),
      );
      expect(error.error_description).toBe('Client authentication failed??fake log line');
    } finally {
      await server.close();
    }
  });
});

describe('how long a token is cached', () => {
  const jwtWithExp = (exp: number): string =>
    `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;

  async function cachedFor(body: (index: number) => Record<string, unknown>, start: number): Promise<number[]> {
    const server = await startServer((_req, res, index) => json(res, 200, body(index)));
    try {
      let now = start;
      const client = createTokenClientWithInternals(
        { tokenEndpoint: server.url, clientId: 'c', clientSecret: 's3cret' },
        { now: () => now },
      );
      // Returns the clock offsets (s) at which a new token was requested, probing hour by minute.
      const refreshes: number[] = [];
      await client.getToken();
      for (let step = 0; step <= 25 * 60; step++) {
        now = start + step * 60_000;
        const before = server.requests.length;
        await client.getToken();
        if (server.requests.length > before) refreshes.push(step * 60);
        if (refreshes.length === 1) break;
      }
      return refreshes;
    } finally {
      await server.close();
    }
  }

  it('expires_in: 1e308 or a 400-digit string is capped at 24 hours', async () => {
    for (const expiresIn of [1e308, '9'.repeat(400), Number.MAX_SAFE_INTEGER]) {
      const refreshes = await cachedFor((i) => tokenResponse(`t${i}`, expiresIn as number), 1_000_000);
      // 24 h − expiryMargin (60 s): the first minute boundary at or after 86,340 s.
      expect(refreshes).toEqual([86_340]);
    }
  });

  it('the earlier of expires_in and the JWT exp wins', async () => {
    const start = 2_000_000_000;
    const refreshes = await cachedFor(
      () => ({ access_token: jwtWithExp(start / 1000 + 600), token_type: 'Bearer', expires_in: 3600 }),
      start,
    );
    expect(refreshes).toEqual([540]);
  });

  it('a JWT whose exp has passed is not reused', async () => {
    const server = await startServer((_req, res) =>
      json(res, 200, { access_token: jwtWithExp(1000), token_type: 'Bearer', expires_in: 3600 }),
    );
    try {
      const client = createTokenClient({ tokenEndpoint: server.url, clientId: 'c', clientSecret: 's3cret' });
      await client.getToken();
      await client.getToken();
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});

describe('expires_in must be a non-negative integer', () => {
  for (const value of [-1, 'abc', 1.5, '1.5', '-1', '', true, {}, [60], 1e-7]) {
    it(`${JSON.stringify(value) ?? String(value)} is invalid_response`, async () => {
      const server = await startServer((_req, res) =>
        json(res, 200, { access_token: 't', token_type: 'Bearer', expires_in: value }),
      );
      try {
        const error = await failure(createTokenClient({ tokenEndpoint: server.url, clientId: 'c', clientSecret: 's' }));
        expect(error).toMatchObject({ error: 'invalid_response', status: 200 });
        expect(error.error_description).toBe('expires_in is not a non-negative integer');
      } finally {
        await server.close();
      }
    });
  }

  it('an integer in a JSON string ("3600") and null (as absent) are accepted', async () => {
    let now = 1_000_000;
    const values: unknown[] = ['3600', null];
    const server = await startServer((_req, res, index) =>
      json(res, 200, { access_token: `t${index}`, token_type: 'Bearer', expires_in: values[index] }),
    );
    try {
      const client = createTokenClientWithInternals(
        { tokenEndpoint: server.url, clientId: 'c', clientSecret: 's' },
        { now: () => now },
      );
      expect(await client.getToken()).toBe('t0');
      now += 3539_000;
      expect(await client.getToken()).toBe('t0');
      now += 1000;
      expect(await client.getToken()).toBe('t1');
      // null: the opaque-token default of 60 seconds.
      now += 59_000;
      expect(await client.getToken()).toBe('t1');
    } finally {
      await server.close();
    }
  });
});
