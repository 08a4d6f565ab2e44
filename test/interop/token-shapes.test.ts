/**
 * The "Works with" configurations (docs/WORKS-WITH.md), checked against tokens shaped like each
 * vendor's client-credentials tokens, as their documentation describes them. Signed by the test
 * issuer, verified through real discovery and JWKS.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JWTPayload } from 'jose';
import { createVerifier, InvalidTokenError, type TokenVerifier } from '../../src/index.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';

const AUDIENCE = 'https://orders.example.com';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

const verifierWith = (options: { strict?: boolean; isM2M?: (payload: JWTPayload) => boolean } = {}): TokenVerifier =>
  createVerifier({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, ...options });

/** Claims of the test issuer's default (Auth0) shape that other vendors do not have. */
const NOT_AUTH0 = { azp: undefined, gty: undefined };

describe('Auth0', () => {
  it('default profile: accepted with the defaults; permissions and org_id are read', async () => {
    const token = await issuer.mint(
      { permissions: ['read:orders'], org_id: 'org_1' },
      { audience: AUDIENCE, clientId: 'abc', scope: 'create:orders' },
    );
    const auth = await verifierWith().verify(token);
    expect(auth).toMatchObject({ clientId: 'abc', organization: 'org_1' });
    expect([...auth.scopes].sort()).toEqual(['create:orders', 'read:orders']);
  });

  it('RFC 9068 profile: accepted with the defaults (sub === client_id@clients), also strict', async () => {
    const token = await issuer.mint(
      { ...NOT_AUTH0, sub: 'abc@clients', client_id: 'abc', jti: 'j-1' },
      { audience: AUDIENCE, scope: 'read:orders', header: { typ: 'at+jwt' } },
    );
    expect(await verifierWith().verify(token)).toMatchObject({ clientId: 'abc', scopes: ['read:orders'] });
    expect(await verifierWith({ strict: true }).verify(token)).toMatchObject({
      clientId: 'abc',
      scopes: ['read:orders'],
    });
    // A user's token of the same profile stays out.
    const user = await issuer.mint(
      { ...NOT_AUTH0, sub: 'auth0|123', client_id: 'abc', jti: 'j-2' },
      { audience: AUDIENCE, header: { typ: 'at+jwt' } },
    );
    await expect(verifierWith({ strict: true }).verify(user)).rejects.toBeInstanceOf(InvalidTokenError);
  });
});

describe('Okta custom authorization server', () => {
  it('accepted with the defaults; scopes from scp', async () => {
    const token = await issuer.mint(
      { ...NOT_AUTH0, sub: '0oa1abc', cid: '0oa1abc', scp: ['read:orders'], ver: 1 },
      { audience: AUDIENCE },
    );
    expect(await verifierWith().verify(token)).toMatchObject({ clientId: '0oa1abc', scopes: ['read:orders'] });
  });
});

describe('Microsoft Entra ID (v2 app-only token)', () => {
  const isM2M = (p: JWTPayload) => p.idtyp === 'app' || (typeof p.oid === 'string' && p.oid === p.sub);

  it('accepted with the documented isM2M, by oid === sub or by idtyp', async () => {
    const appOnly = {
      ...NOT_AUTH0,
      azp: 'caller-app-id',
      azpacr: '1',
      oid: 'sp-oid',
      sub: 'sp-oid',
      tid: 'tenant',
      roles: ['Orders.Read'],
      ver: '2.0',
    };
    const auth = await verifierWith({ isM2M }).verify(await issuer.mint(appOnly, { audience: AUDIENCE }));
    expect(auth.clientId).toBe('caller-app-id');
    expect(auth.payload.roles).toEqual(['Orders.Read']);
    // Roles are not scopes: guard them with requireClaim('roles', …).
    expect(auth.scopes).toEqual([]);
    const withIdtyp = await issuer.mint({ ...appOnly, sub: 'pairwise', idtyp: 'app' }, { audience: AUDIENCE });
    expect((await verifierWith().verify(withIdtyp)).clientId).toBe('caller-app-id');
  });

  it('a delegated (user) token is refused', async () => {
    const user = await issuer.mint(
      { ...NOT_AUTH0, azp: 'spa-app-id', oid: 'user-oid', sub: 'pairwise-sub', scp: 'Orders.Read', ver: '2.0' },
      { audience: AUDIENCE },
    );
    await expect(verifierWith({ isM2M }).verify(user)).rejects.toThrow('token was not issued to a client');
  });
});

describe('Keycloak service account', () => {
  const isM2M = (p: JWTPayload) => typeof p.azp === 'string' && (p.client_id === p.azp || p.clientId === p.azp);

  it('accepted with the documented isM2M (client_id or the older clientId claim)', async () => {
    const base = {
      ...NOT_AUTH0,
      sub: '2b8a6f1e-uuid',
      azp: 'orders-worker',
      preferred_username: 'service-account-orders-worker',
      typ: 'Bearer',
      scope: 'profile email',
    };
    for (const claim of ['client_id', 'clientId']) {
      const token = await issuer.mint({ ...base, [claim]: 'orders-worker' }, { audience: AUDIENCE });
      expect(await verifierWith({ isM2M }).verify(token)).toMatchObject({ clientId: 'orders-worker' });
    }
  });

  it('a user token is refused', async () => {
    const user = await issuer.mint(
      { ...NOT_AUTH0, sub: 'user-uuid', azp: 'web-app', preferred_username: 'alice', typ: 'Bearer' },
      { audience: AUDIENCE },
    );
    await expect(verifierWith({ isM2M }).verify(user)).rejects.toThrow('token was not issued to a client');
  });
});
