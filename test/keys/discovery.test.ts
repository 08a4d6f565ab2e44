import { afterEach, describe, expect, it } from '@jest/globals';
import { discover, discoveryUrls, withoutTrailingSlash } from '../../src/keys/discovery.js';
import { KeyFetchError } from '../../src/keys/fetch-json.js';
import { json, startServer, type StubServer } from '../helpers/servers.js';

const LIMITS = { timeout: 5, maxBytes: 65536 };

let stub: StubServer | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

/** A metadata server; `documents` maps a path to the JSON it serves (anything else is 404). */
async function metadataServer(documents: (base: string) => Record<string, unknown>): Promise<StubServer> {
  const server = await startServer((req, res) => {
    const document = documents(server.url)[req.url ?? ''];
    if (document === undefined) json(res, { error: 'not found' }, 404);
    else json(res, document);
  });
  return server;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => {
      throw new Error('expected discovery to fail');
    },
    (reason: unknown) => reason as Error,
  );
  expect(error).toBeInstanceOf(KeyFetchError);
  return error;
}

describe('discoveryUrls', () => {
  it('tries OpenID Connect first, then RFC 8414 with the path inserted after the well-known segment', () => {
    expect(discoveryUrls('https://as.example.com/tenant/a/')).toEqual([
      'https://as.example.com/tenant/a/.well-known/openid-configuration',
      'https://as.example.com/.well-known/oauth-authorization-server/tenant/a',
    ]);
    expect(discoveryUrls('https://as.example.com')).toEqual([
      'https://as.example.com/.well-known/openid-configuration',
      'https://as.example.com/.well-known/oauth-authorization-server',
    ]);
  });

  it('withoutTrailingSlash removes one slash only', () => {
    expect(withoutTrailingSlash('https://a.example.com/')).toBe('https://a.example.com');
    expect(withoutTrailingSlash('https://a.example.com//')).toBe('https://a.example.com/');
  });
});

describe('discover', () => {
  it('uses the OpenID Connect document when there is one', async () => {
    stub = await metadataServer((base) => ({
      '/.well-known/openid-configuration': { issuer: `${base}/`, jwks_uri: `${base}/oidc-keys` },
      '/.well-known/oauth-authorization-server': { issuer: `${base}/`, jwks_uri: `${base}/rfc8414-keys` },
    }));
    await expect(discover(stub.url, LIMITS)).resolves.toEqual({
      issuer: `${stub.url}/`,
      jwks_uri: `${stub.url}/oidc-keys`,
      url: `${stub.url}/.well-known/openid-configuration`,
    });
    expect(stub.hits.get('/.well-known/oauth-authorization-server')).toBeUndefined();
  });

  it('falls back to the RFC 8414 document of a tenant path', async () => {
    stub = await metadataServer((base) => ({
      '/.well-known/oauth-authorization-server/tenant': {
        issuer: `${base}/tenant`,
        jwks_uri: `${base}/tenant/keys`,
        introspection_endpoint: `${base}/tenant/introspect`,
      },
    }));
    await expect(discover(`${stub.url}/tenant/`, LIMITS)).resolves.toEqual({
      issuer: `${stub.url}/tenant`,
      jwks_uri: `${stub.url}/tenant/keys`,
      introspection_endpoint: `${stub.url}/tenant/introspect`,
      url: `${stub.url}/.well-known/oauth-authorization-server/tenant`,
    });
    expect(stub.hits.get('/tenant/.well-known/openid-configuration')).toBe(1);
  });

  it("keeps the document's issuer verbatim, accepting one trailing slash of difference either way", async () => {
    stub = await metadataServer((base) => ({
      '/a/.well-known/openid-configuration': { issuer: `${base}/a/`, jwks_uri: `${base}/keys` },
      '/b/.well-known/openid-configuration': { issuer: `${base}/b`, jwks_uri: `${base}/keys` },
    }));
    await expect(discover(`${stub.url}/a`, LIMITS)).resolves.toMatchObject({ issuer: `${stub.url}/a/` });
    await expect(discover(`${stub.url}/b/`, LIMITS)).resolves.toMatchObject({ issuer: `${stub.url}/b` });
  });

  it('refuses a document naming another issuer unless `issuer` is configured', async () => {
    stub = await metadataServer((base) => ({
      '/.well-known/openid-configuration': { issuer: 'https://other.example.com/', jwks_uri: `${base}/keys` },
      '/double/.well-known/openid-configuration': { issuer: `${base}/double//`, jwks_uri: `${base}/keys` },
      '/case/.well-known/openid-configuration': { issuer: `${base}/CASE`, jwks_uri: `${base}/keys` },
    }));
    for (const base of [stub.url, `${stub.url}/double`, `${stub.url}/case`]) {
      const error = await rejection(discover(base, LIMITS));
      expect(error.message).toContain('metadata names another issuer (configure `issuer` to accept it)');
    }
    await expect(discover(stub.url, LIMITS, true)).resolves.toMatchObject({ issuer: 'https://other.example.com/' });
  });

  it('refuses an http: jwks_uri for an https: issuer, and drops an http: introspection endpoint', async () => {
    const https = 'https://tenant.example.com';
    const served =
      (document: unknown): typeof fetch =>
      async () =>
        Response.json(document);
    const downgrade = served({ issuer: `${https}/`, jwks_uri: 'http://tenant.example.com/keys' });
    const error = await rejection(discover(https, { ...LIMITS, fetch: downgrade }));
    expect(error.message).toContain('metadata has no valid https jwks_uri');
    const introspection = served({
      issuer: `${https}/`,
      jwks_uri: `${https}/keys`,
      introspection_endpoint: 'http://tenant.example.com/introspect',
    });
    await expect(discover(https, { ...LIMITS, fetch: introspection })).resolves.toEqual({
      issuer: `${https}/`,
      jwks_uri: `${https}/keys`,
      url: `${https}/.well-known/openid-configuration`,
    });
    // A jwks_uri carrying credentials is refused too.
    const userinfo = served({ issuer: `${https}/`, jwks_uri: 'https://user:pass@tenant.example.com/keys' });
    await rejection(discover(https, { ...LIMITS, fetch: userinfo }));
  });

  it('accepts an http: jwks_uri for an http: issuer (a loopback test issuer)', async () => {
    stub = await metadataServer((base) => ({
      '/.well-known/openid-configuration': { issuer: base, jwks_uri: `${base}/keys` },
    }));
    await expect(discover(stub.url, LIMITS)).resolves.toMatchObject({ jwks_uri: `${stub.url}/keys` });
  });

  it('names every URL tried and the cause once when both fail alike', async () => {
    const closed = await startServer(() => undefined);
    await closed.close();
    const error = await rejection(discover(`${closed.url}/tenant`, LIMITS));
    expect(error.message).toBe(
      `discovery failed for ${closed.url}/tenant: ${closed.url}/tenant/.well-known/openid-configuration and ` +
        `${closed.url}/.well-known/oauth-authorization-server/tenant: ECONNREFUSED`,
    );
    expect(error.message.match(/ECONNREFUSED/g)).toHaveLength(1);
    expect(error.cause).toBeInstanceOf(KeyFetchError);
  });

  it('names each URL with its own cause when they differ', async () => {
    stub = await metadataServer(() => ({ '/.well-known/oauth-authorization-server': { jwks_uri: 'x' } }));
    const error = await rejection(discover(stub.url, LIMITS));
    expect(error.message).toBe(
      `discovery failed for ${stub.url}: ${stub.url}/.well-known/openid-configuration: HTTP 404; ` +
        `${stub.url}/.well-known/oauth-authorization-server: metadata has no issuer`,
    );
  });

  it('refuses metadata that is not a JSON object', async () => {
    const array: typeof fetch = async () => Response.json([1, 2]);
    const error = await rejection(discover('https://tenant.example.com', { ...LIMITS, fetch: array }));
    expect(error.message).toContain('metadata is not a JSON object');
  });
});
