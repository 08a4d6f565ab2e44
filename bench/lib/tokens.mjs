/**
 * Keys and token minting for the benchmark. Tokens are signed directly with node:crypto over a
 * pre-encoded header (no jose on the minting path), which is what makes minting tens of
 * thousands of RS256 tokens (or a million HS256 ones) affordable.
 */
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export const AUDIENCE = 'https://api.bench.example/orders';
export const SCOPE = 'read:orders';

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An RS256 key pair with its public JWK (kid, alg, use). */
export function createRsaKey(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicKey, jwk };
}

/** Signs RS256 tokens with `privateKey`, announcing `kid` (which need not be the key's own). */
export function rs256Minter(privateKey, kid) {
  const header = b64({ alg: 'RS256', typ: 'JWT', kid });
  return (claims, headerOverride) => {
    const input = `${headerOverride === undefined ? header : b64(headerOverride)}.${b64(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  };
}

/** Signs HS256 tokens with `secret`. */
export function hs256Minter(secret) {
  const header = b64({ alg: 'HS256', typ: 'JWT' });
  return (claims) => {
    const input = `${header}.${b64(claims)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
}

/** A 32-character Auth0-like client id for client number `n`. */
export function clientId(n) {
  return `bench${String(n).padStart(27, '0')}`;
}

/**
 * Claims shaped like an Auth0 client-credentials access token: iss (with trailing slash),
 * sub "<client_id>@clients", aud, iat, exp (1 h), scope, gty, azp.
 */
export function auth0Claims({
  issuer,
  audience = AUDIENCE,
  client = clientId(0),
  scope = SCOPE,
  now = Math.floor(Date.now() / 1000),
  lifetime = 3600,
}) {
  return {
    iss: issuer,
    sub: `${client}@clients`,
    aud: audience,
    iat: now,
    exp: now + lifetime,
    scope,
    gty: 'client-credentials',
    azp: client,
  };
}

/** A random kid that no JWKS publishes. */
export function unknownKid(n) {
  return `unknown-${n}-${randomBytes(6).toString('hex')}`;
}
