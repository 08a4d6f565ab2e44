import type { JWK } from 'jose';
import { isJsonObject } from '../json.js';
import { toPublicJwk } from './keys.js';
import type { TestClient, TokenFormat } from './types.js';

/** A validated, defensively copied client registration. */
export interface RegisteredClient {
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly publicJwk: JWK | undefined;
  readonly grants: ReadonlyMap<string, readonly string[]>;
  readonly organization: string | undefined;
  readonly tokenFormat: TokenFormat;
}

function fail(message: string): never {
  throw new TypeError(`test issuer client: ${message}`);
}

/**
 * Validates a {@link TestClient} and copies it, so later mutation of the caller's object
 * cannot change what the running issuer accepts.
 */
export function registerClient(client: TestClient): RegisteredClient {
  if (typeof client !== 'object' || client === null) fail('expected an object');
  const { clientId, clientSecret, publicJwk, grants, organization, tokenFormat = 'jwt' } = client;
  if (typeof clientId !== 'string' || clientId.length === 0) fail('clientId must be a non-empty string');
  if (clientSecret !== undefined && (typeof clientSecret !== 'string' || clientSecret.length === 0)) {
    fail('clientSecret must be a non-empty string');
  }
  if (organization !== undefined && (typeof organization !== 'string' || organization.length === 0)) {
    fail('organization must be a non-empty string');
  }
  if (tokenFormat !== 'jwt' && tokenFormat !== 'opaque') fail("tokenFormat must be 'jwt' or 'opaque'");
  let jwk: JWK | undefined;
  if (publicJwk !== undefined) {
    if (!isJsonObject(publicJwk) || typeof publicJwk.kty !== 'string') {
      fail('publicJwk must be a JWK object');
    }
    // A symmetric JWK would turn private_key_jwt into a shared-secret scheme; refuse it.
    if (publicJwk.kty === 'oct') fail('publicJwk must be an asymmetric (RSA, EC or OKP) key');
    jwk = toPublicJwk(publicJwk);
  }
  const grantMap = new Map<string, readonly string[]>();
  for (const [audience, scopes] of Object.entries(grants ?? {})) {
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string')) {
      fail(`grants for ${audience} must be an array of strings`);
    }
    grantMap.set(audience, [...scopes]);
  }
  return { clientId, clientSecret, publicJwk: jwk, grants: grantMap, organization, tokenFormat };
}
