// The authorization server of the example: the package's own test issuer
// (express-m2m/testing), which speaks real OAuth 2.0 on 127.0.0.1 — discovery, a JWKS and a
// client-credentials token endpoint. In production this is Auth0, Okta, Keycloak, …
//
// In your own code: import { createTestIssuer } from 'express-m2m/testing';
import { randomBytes } from 'node:crypto';
import { createTestIssuer } from '../dist/testing/index.js';

/** The API identifier (the `audience` callers ask tokens for). */
export const ORDERS_API = 'https://orders.example.com';

/**
 * Which client may obtain which scopes for the orders API. This is what you configure in
 * your authorization server's dashboard ("authorize the M2M application for the API").
 */
export const CLIENTS = {
  'orders-worker': ['read:orders'],
  'billing-service': ['read:orders', 'create:orders'],
  // Registered with the authorization server, but never authorized for the orders API.
  intruder: null,
};

/**
 * Starts the authorization server on 127.0.0.1 (a random port unless `port` is given).
 * Every run gets fresh random client secrets: nothing secret is stored in this repository.
 *
 * @returns {Promise<{ issuer: import('../dist/testing/index.js').TestIssuer, secrets: Record<string, string> }>}
 */
export async function startAuthorizationServer({ port = 0 } = {}) {
  const secrets = {};
  const clients = Object.entries(CLIENTS).map(([clientId, scopes]) => {
    secrets[clientId] = randomBytes(18).toString('base64url');
    return { clientId, clientSecret: secrets[clientId], grants: scopes === null ? {} : { [ORDERS_API]: scopes } };
  });
  const issuer = await createTestIssuer({ clients, port, tokenLifetime: 3600 });
  return { issuer, secrets };
}
