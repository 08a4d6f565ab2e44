import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { isM2MError, type M2MError } from '../../src/errors.js';
import { resolveOptions } from '../../src/options/resolve.js';
import type { IntrospectionOptions, VerifierOptions } from '../../src/options/types.js';
import { Verifier } from '../../src/verifier.js';
import { startServer, type StubServer } from '../helpers/servers.js';
import {
  activeAnswer,
  AUDIENCE,
  sendJson,
  startStubAuthorizationServer,
  STUB_ISSUER,
  type StubAuthorizationServer,
} from './stub-server.js';

const OPAQUE = 'opaque-token-0123456789abcdefghijklmnopqrstuvwxyz';
const SECRET = 'introspection-secret';
let as: StubAuthorizationServer;
let elsewhere: StubServer;

beforeAll(async () => {
  as = await startStubAuthorizationServer();
  elsewhere = await startServer((_req, res) => sendJson(res, activeAnswer(Date.now())));
});
afterAll(async () => {
  await as.close();
  await elsewhere.close();
});
beforeEach(() => {
  as.received.length = 0;
});

function verifierWith(introspection: Partial<IntrospectionOptions> = {}, extra: VerifierOptions = {}): Verifier {
  return new Verifier(
    resolveOptions(
      {
        issuer: STUB_ISSUER,
        publicKey: as.publicJwk,
        audience: AUDIENCE,
        jwks: { timeout: 0.5, maxBytes: 4096 },
        introspection: { endpoint: as.endpoint, clientId: 'api', clientSecret: SECRET, ...introspection },
        ...extra,
      },
      {},
    ),
  );
}

async function refusal(verifier: Verifier, token = OPAQUE): Promise<M2MError> {
  const error: unknown = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isM2MError(error)) throw new Error(`expected a refusal, got ${String(error)}`);
  // No refusal ever carries the token, whatever the endpoint did.
  expect(error.message).not.toContain(OPAQUE);
  expect(JSON.stringify(error.headers)).not.toContain(OPAQUE);
  expect(String((error as { cause?: unknown }).cause)).not.toContain(OPAQUE);
  return error;
}

describe('introspection request', () => {
  it('posts token and token_type_hint with client_secret_post and asks for a signed or JSON answer', async () => {
    as.answer((res) => sendJson(res, activeAnswer(Date.now())));
    const auth = await verifierWith().verify(OPAQUE);
    expect(auth.clientId).toBe('worker');
    const [sent] = as.received;
    expect(Object.fromEntries(sent!.params)).toEqual({
      token: OPAQUE,
      token_type_hint: 'access_token',
      client_id: 'api',
      client_secret: SECRET,
    });
    expect(sent!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(sent!.headers.accept).toMatch(/^application\/token-introspection\+jwt, application\/json/);
  });

  it('authenticates with client_secret_basic when asked', async () => {
    as.answer((res) => sendJson(res, activeAnswer(Date.now())));
    await verifierWith({ tokenEndpointAuthMethod: 'client_secret_basic' }).verify(OPAQUE);
    const [sent] = as.received;
    expect(sent!.headers.authorization).toBe(`Basic ${Buffer.from(`api:${SECRET}`).toString('base64')}`);
    expect(sent!.params.has('client_secret')).toBe(false);
  });

  it('does not introspect JWT-shaped tokens in opaque mode', async () => {
    const jwtShaped = `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.e30.c2ln`;
    const error = await refusal(verifierWith(), jwtShaped);
    expect(error.status).toBe(401);
    expect(as.received).toHaveLength(0);
  });
});

describe('answers that refuse the token (401)', () => {
  it.each([
    ['inactive', () => ({ active: false }), 'token is not active'],
    ['another issuer', () => activeAnswer(Date.now(), { iss: 'https://evil.example.com/' }), 'unexpected issuer'],
    ['another audience', () => activeAnswer(Date.now(), { aud: 'https://other.example.com' }), 'unexpected audience'],
    ['expired', () => activeAnswer(Date.now(), {}, -60), 'token expired'],
    ['a user token', () => activeAnswer(Date.now(), { sub: 'auth0|user' }), 'client-credentials'],
  ])('%s', async (_name, body, description) => {
    as.answer((res) => sendJson(res, body()));
    const error = await refusal(verifierWith());
    expect(error.status).toBe(401);
    expect(error.code).toBe('invalid_token');
    expect(error.message).toContain(description);
  });
});

describe('endpoint faults (503 temporarily_unavailable, never inactive)', () => {
  const huge = JSON.stringify({ ...activeAnswer(Date.now()), padding: 'x'.repeat(10_000) });
  it.each([
    ['not JSON', (res: import('node:http').ServerResponse) => res.end('<html>oops</html>')],
    ['active as a string', (res: import('node:http').ServerResponse) => sendJson(res, { active: 'true' })],
    ['no active member', (res: import('node:http').ServerResponse) => sendJson(res, { scope: 'a' })],
    ['a JSON array', (res: import('node:http').ServerResponse) => sendJson(res, [{ active: true }])],
    [
      'active without exp',
      (res: import('node:http').ServerResponse) => sendJson(res, { ...activeAnswer(Date.now()), exp: undefined }),
    ],
    [
      'client_id of the wrong type',
      (res: import('node:http').ServerResponse) => sendJson(res, activeAnswer(Date.now(), { client_id: 42 })),
    ],
    [
      'scope of the wrong type',
      (res: import('node:http').ServerResponse) => sendJson(res, activeAnswer(Date.now(), { scope: ['a'] })),
    ],
    ['HTTP 500', (res: import('node:http').ServerResponse) => sendJson(res, { error: 'server_error' }, 500)],
    ['HTTP 401', (res: import('node:http').ServerResponse) => sendJson(res, { error: 'invalid_client' }, 401)],
    [
      'a body over the size cap (declared)',
      (res: import('node:http').ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(huge) });
        res.end(huge);
      },
    ],
    [
      'a body over the size cap (chunked)',
      (res: import('node:http').ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(huge.slice(0, 3000));
        res.end(huge.slice(3000));
      },
    ],
  ])('%s', async (_name, behaviour) => {
    as.answer(behaviour);
    const error = await refusal(verifierWith());
    expect(error.status).toBe(503);
    expect(error.code).toBe('temporarily_unavailable');
    expect(error.headers['Retry-After']).toBe('5');
  });

  it('a slow endpoint (past jwks.timeout)', async () => {
    as.answer(() => undefined);
    const started = Date.now();
    const error = await refusal(verifierWith());
    expect(error.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('an unreachable endpoint', async () => {
    const closed = await startServer(() => undefined);
    await closed.close();
    const error = await refusal(verifierWith({ endpoint: `${closed.url}/introspect` }));
    expect(error.status).toBe(503);
  });

  it('a redirect to another host: not followed, so neither token nor secret travel there', async () => {
    as.answer((res) => {
      res.writeHead(307, { location: `${elsewhere.url.replace('127.0.0.1', 'localhost')}/introspect` });
      res.end();
    });
    const error = await refusal(verifierWith());
    expect(error.status).toBe(503);
    expect(elsewhere.hits.size).toBe(0);
  });

  it('a failure is not cached: the next request asks again', async () => {
    as.answer((res) => res.end('oops'));
    const verifier = verifierWith();
    expect((await refusal(verifier)).status).toBe(503);
    as.answer((res) => sendJson(res, activeAnswer(Date.now())));
    await expect(verifier.verify(OPAQUE)).resolves.toMatchObject({ clientId: 'worker', introspected: true });
  });
});

describe('RFC 9701 signed answers', () => {
  const signedAnswer =
    (claims: () => Promise<string>) =>
    (res: import('node:http').ServerResponse): void => {
      void claims().then((jwt) => {
        res.writeHead(200, { 'content-type': 'application/token-introspection+jwt' });
        res.end(jwt);
      });
    };

  it('accepts an answer signed with the issuer key, claims under token_introspection', async () => {
    as.answer(signedAnswer(() => as.signed({ token_introspection: activeAnswer(Date.now()) })));
    const auth = await verifierWith().verify(OPAQUE);
    expect(auth).toMatchObject({ clientId: 'worker', scopes: ['read:orders'], introspected: true, header: {} });
  });

  it('an inactive signed answer is 401', async () => {
    as.answer(signedAnswer(() => as.signed({ token_introspection: { active: false } })));
    expect((await refusal(verifierWith())).status).toBe(401);
  });

  it.each([
    ['signed with another key', () => as.signed({ token_introspection: activeAnswer(Date.now()) }, { foreign: true })],
    ['another typ', () => as.signed({ token_introspection: activeAnswer(Date.now()) }, { typ: 'JWT' })],
    ['no token_introspection', () => as.signed(activeAnswer(Date.now()))],
    ['token_introspection with active "true"', () => as.signed({ token_introspection: { active: 'true' } })],
  ])('%s is 503', async (_name, jwt) => {
    as.answer(signedAnswer(jwt));
    expect((await refusal(verifierWith())).status).toBe(503);
  });

  it('an answer for another audience (another resource server) is 503', async () => {
    as.answer(signedAnswer(() => as.signed({ token_introspection: activeAnswer(Date.now()) })));
    const error = await refusal(verifierWith({ clientId: 'another-api' }));
    expect(error.status).toBe(503);
  });
});
