/**
 * Sender-constrained tokens from a real, independent authorization server: node-oidc-provider 9
 * with its DPoP feature (RFC 9449) and certificate-bound access tokens (RFC 8705 §3), issuing
 * RFC 9068 JWT access tokens to the client-credentials grant. Our token client obtains them;
 * our middleware checks them over 127.0.0.1 (the certificate-bound ones through real HTTPS).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Request, Response } from 'express';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK } from 'jose';
import { createTokenClient, type FetchImplementation } from '../../src/client/index.js';
import { m2mErrorHandler, requireM2M } from '../../src/index.js';
import { makeCertificates, opensslThumbprint, type TestCertificates } from '../helpers/certificates.js';
import { express } from '../helpers/express.js';

/** The little of oidc-provider's API this test uses (the package ships no type declarations). */
interface OidcProviderModule {
  default: new (
    issuer: string,
    configuration: Record<string, unknown>,
  ) => { callback(): (req: IncomingMessage, res: ServerResponse) => void };
}

const API = 'https://api.example.com';
const SECRET = 'dpop-worker-secret-0123456789abcdef';

let pki: TestCertificates;
let issuer: string;
let apiUrl: string;
let mtlsApiUrl: string;
const servers: Server[] = [];
const restoreConsole: (() => void)[] = [];

async function listen(server: Server, scheme = 'http'): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const client = (clientId: string) => ({
  client_id: clientId,
  client_secret: SECRET,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: 'client_secret_post',
  scope: 'read:orders',
});

beforeAll(async () => {
  // oidc-provider prints notices about development defaults, and on Node 20 an "Unsupported
  // runtime" notice when imported: expected here, so silenced for this file only.
  for (const method of ['warn', 'info'] as const) {
    const spy = jest.spyOn(console, method).mockImplementation(() => undefined);
    restoreConsole.push(() => spy.mockRestore());
  }
  const specifier = 'oidc-provider';
  const { default: Provider } = (await import(specifier)) as OidcProviderModule;
  pki = makeCertificates();

  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  issuer = await listen(createServer((req, res) => handler?.(req, res)));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const configuration = {
    clients: [
      client('dpop-worker'),
      client('nonce-worker'),
      { ...client('mtls-worker'), tls_client_certificate_bound_access_tokens: true },
    ],
    scopes: ['read:orders'],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'interop-key', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: ['interop-test-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: {
        enabled: true,
        nonceSecret: Buffer.alloc(32, 7),
        requireNonce: (ctx: { oidc?: { client?: { clientId: string } } }) =>
          ctx.oidc?.client?.clientId === 'nonce-worker',
      },
      // The provider sits behind a TLS-terminating proxy that forwards the client certificate
      // as nginx does ($ssl_client_escaped_cert): the provider needs no TLS setup of its own.
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        getCertificate: (ctx: { get(name: string): string }) => {
          const escaped = ctx.get('x-ssl-client-cert');
          return escaped === '' ? undefined : decodeURIComponent(escaped);
        },
      },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: () => ({
          scope: 'read:orders',
          audience: API,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  };
  // See oidc-provider.test.ts: the provider's structuredClone must stay in Jest's realm.
  const nativeClone = globalThis.structuredClone;
  globalThis.structuredClone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  try {
    handler = new Provider(issuer, configuration).callback();
  } finally {
    globalThis.structuredClone = nativeClone;
  }

  const app = express();
  const describeCaller = (req: Request, res: Response) => {
    res.json({ caller: req.auth?.clientId, binding: req.auth?.binding });
  };
  app.get('/orders', requireM2M({ issuerBaseURL: issuer, audience: API, dpop: { mode: 'required' } }), describeCaller);
  app.get(
    '/nonce/orders',
    requireM2M({ issuerBaseURL: issuer, audience: API, dpop: { mode: 'required', nonce: { secret: 'x'.repeat(32) } } }),
    describeCaller,
  );
  app.get('/mtls/orders', requireM2M({ issuerBaseURL: issuer, audience: API }), describeCaller);
  app.use(m2mErrorHandler());
  apiUrl = await listen(createServer(app));
  const tls = { key: pki.server.key, cert: pki.server.cert, requestCert: true, rejectUnauthorized: false };
  mtlsApiUrl = await listen(createHttpsServer(tls, app), 'https');
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const restore of restoreConsole) restore();
  pki.cleanup();
});

const dpopWorker = (clientId = 'dpop-worker') =>
  createTokenClient({
    issuerBaseURL: issuer,
    clientId,
    clientSecret: SECRET,
    resource: API,
    scope: 'read:orders',
    dpop: true,
  });

describe('oidc-provider DPoP → createTokenClient → requireM2M (dpop.mode required)', () => {
  it('gets a DPoP-bound JWT access token and calls the API with it through client.fetch', async () => {
    const worker = dpopWorker();
    const token = await worker.getToken();
    const { cnf } = decodeJwt(token) as { cnf?: { jkt?: string } };
    expect(cnf?.jkt).toMatch(/^[\w-]{43}$/);
    const res = await worker.fetch(`${apiUrl}/orders`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ caller: 'dpop-worker', binding: { type: 'dpop', thumbprint: cnf?.jkt } });
  });

  it('refuses the same token as Bearer, and a replayed proof', async () => {
    const worker = dpopWorker();
    const token = await worker.getToken();
    const url = `${apiUrl}/orders`;
    const asBearer = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers.get('www-authenticate')).toMatch(
      /^DPoP realm="api", error="invalid_token", error_description="DPoP-bound token required", algs="/,
    );
    // An API that also takes bearer tokens refuses the downgrade all the same.
    const allowed = await fetch(`${apiUrl}/mtls/orders`, { headers: { authorization: `Bearer ${token}` } });
    expect(allowed.status).toBe(401);
    expect(await allowed.json()).toEqual({
      error: 'invalid_token',
      error_description: 'DPoP-bound token sent as a bearer token',
    });
    const headers = await worker.createProof('GET', url, { accessToken: token });
    expect((await fetch(url, { headers: { ...headers } })).status).toBe(200);
    const replayed = await fetch(url, { headers: { ...headers } });
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toEqual({ error: 'invalid_dpop_proof', error_description: 'DPoP proof replayed' });
  });

  it('nonces on both sides: the provider demands one for the token, the API for the call', async () => {
    const answers: string[] = [];
    const recording: FetchImplementation = async (input, init) => {
      const res = await fetch(input, init);
      answers.push(`${new URL(String(input)).pathname} ${res.status}`);
      return res;
    };
    const worker = createTokenClient({
      issuerBaseURL: issuer,
      clientId: 'nonce-worker',
      clientSecret: SECRET,
      resource: API,
      scope: 'read:orders',
      dpop: true,
      fetch: recording,
    });
    const res = await worker.fetch(`${apiUrl}/nonce/orders`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ caller: 'nonce-worker', binding: { type: 'dpop' } });
    // Each side refused the first proof for want of its nonce; the client retried once with it.
    expect(answers.filter((answer) => !answer.startsWith('/.well-known'))).toEqual([
      '/token 400',
      '/token 200',
      '/nonce/orders 401',
      '/nonce/orders 200',
    ]);
  });
});

describe('oidc-provider certificate-bound tokens → requireM2M over HTTPS', () => {
  /** The token request goes through the "proxy": the client certificate travels in a header. */
  const withCertificate =
    (cert: string): FetchImplementation =>
    (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('x-ssl-client-cert', encodeURIComponent(cert));
      return fetch(input, { ...init, headers });
    };

  function call(token: string, cert?: { key: string; cert: string }): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const options = {
        agent: false as const,
        ca: pki.ca.cert,
        headers: { authorization: `Bearer ${token}` },
        ...cert,
      };
      httpsRequest(`${mtlsApiUrl}/mtls/orders`, options, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      })
        .on('error', reject)
        .end();
    });
  }

  it('accepts its x5t#S256 token with the same client certificate only', async () => {
    const worker = createTokenClient({
      issuerBaseURL: issuer,
      clientId: 'mtls-worker',
      clientSecret: SECRET,
      resource: API,
      scope: 'read:orders',
      fetch: withCertificate(pki.client.cert),
    });
    const token = await worker.getToken();
    const thumbprint = opensslThumbprint(pki.client.certPath);
    expect(decodeJwt(token).cnf).toEqual({ 'x5t#S256': thumbprint });
    expect(await call(token, pki.client)).toEqual({
      status: 200,
      body: { caller: 'mtls-worker', binding: { type: 'mtls', thumbprint } },
    });
    const refused = { error: 'invalid_token', error_description: 'certificate does not match token' };
    expect(await call(token, pki.selfSignedClient)).toEqual({ status: 401, body: refused });
    expect(await call(token)).toEqual({ status: 401, body: refused });
  });
});
