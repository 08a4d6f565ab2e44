/**
 * Client authentication at the token endpoint: `client_secret_post`, `client_secret_basic`
 * (RFC 6749 §2.3.1) and `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9).
 *
 * The secret or private key is captured once, in a closure, and never stored on an object
 * that could be logged or serialized.
 *
 * @module
 */
import { createPrivateKey, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import type { Redactor } from './redact.js';

/** How the client authenticates at the token endpoint. */
export type TokenEndpointAuthMethod = 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt';

/** JWS algorithms usable for a `private_key_jwt` client assertion. */
export type ClientAssertionAlgorithm =
  'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'Ed25519';

/** `client_assertion_type` of RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Lifetime of a client assertion: short, because it is a bearer credential for the token endpoint. */
const ASSERTION_LIFETIME = 60;

/** What one token request needs from client authentication. */
export interface AuthenticatedRequest {
  /** Extra request headers (`Authorization: Basic …`). */
  headers: Record<string, string>;
  /** Extra form parameters (`client_id`, `client_secret`, `client_assertion`, …). */
  params: Record<string, string>;
}

/** Applies a client's authentication to token requests; holds the credential privately. */
export interface ClientAuthentication {
  readonly method: TokenEndpointAuthMethod;
  /** The assertion's JWS algorithm, for `private_key_jwt`. */
  readonly algorithm: ClientAssertionAlgorithm | undefined;
  /**
   * Headers and parameters for one request to `tokenEndpoint`. A `private_key_jwt`
   * assertion is new for every call (fresh `jti`), so retries are never replays.
   */
  authenticate(tokenEndpoint: string): Promise<AuthenticatedRequest>;
}

/** Settings of {@link createClientAuthentication}; validated by the caller's option parser. */
export interface ClientAuthenticationSettings {
  method: TokenEndpointAuthMethod;
  clientId: string;
  clientSecret?: string | undefined;
  privateKey?: string | JWK | KeyObject | undefined;
  privateKeyAlg?: string | undefined;
  privateKeyId?: string | undefined;
  /** `aud` of the assertion; default: the token endpoint. */
  assertionAudience?: string | undefined;
}

/**
 * Builds the client authentication for a method, registering its credentials with
 * `redactor` so that they can be removed from anything a server sends back.
 *
 * @throws TypeError when the method's credential is missing or unusable; the message never
 *   contains the credential.
 */
export function createClientAuthentication(
  settings: ClientAuthenticationSettings,
  redactor: Redactor,
): ClientAuthentication {
  const { method, clientId } = settings;
  switch (method) {
    case 'client_secret_post':
    case 'client_secret_basic': {
      const secret = settings.clientSecret;
      if (typeof secret !== 'string' || secret === '') {
        throw new TypeError(`express-m2m: createTokenClient: \`clientSecret\` is required for ${method}`);
      }
      redactor.addSecret(secret);
      if (method === 'client_secret_post') {
        return {
          method,
          algorithm: undefined,
          authenticate: () => Promise.resolve({ headers: {}, params: { client_id: clientId, client_secret: secret } }),
        };
      }
      // RFC 6749 §2.3.1: both parts are form-urlencoded before base64, so a ':' in the id or
      // non-ASCII in the secret cannot be misread. (Sending them raw breaks such credentials.)
      const credentials = Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`, 'utf8').toString('base64');
      redactor.addSecret(credentials);
      const authorization = `Basic ${credentials}`;
      return {
        method,
        algorithm: undefined,
        authenticate: () => Promise.resolve({ headers: { authorization }, params: {} }),
      };
    }
    case 'private_key_jwt':
      return privateKeyJwt(settings, redactor);
    default:
      throw new TypeError(
        "express-m2m: createTokenClient: `tokenEndpointAuthMethod` must be 'client_secret_post', 'client_secret_basic' or 'private_key_jwt'",
      );
  }
}

function privateKeyJwt(settings: ClientAuthenticationSettings, redactor: Redactor): ClientAuthentication {
  const { clientId, privateKeyId, assertionAudience } = settings;
  const { key, jwk } = importPrivateKey(settings.privateKey, redactor);
  const conflicting =
    settings.privateKeyAlg !== undefined && jwk?.alg !== undefined && jwk.alg !== settings.privateKeyAlg;
  const alg = chooseAlgorithm(key, settings.privateKeyAlg ?? jwk?.alg, conflicting);
  const kid = privateKeyId ?? jwk?.kid;
  return {
    method: 'private_key_jwt',
    algorithm: alg,
    async authenticate(tokenEndpoint) {
      const now = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({})
        .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(assertionAudience ?? tokenEndpoint)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + ASSERTION_LIFETIME)
        .sign(key);
      redactor.addAssertion(assertion);
      return {
        headers: {},
        params: { client_id: clientId, client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: assertion },
      };
    },
  };
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

function importPrivateKey(
  privateKey: ClientAuthenticationSettings['privateKey'],
  redactor: Redactor,
): { key: KeyObject; jwk: JWK | undefined } {
  const invalid = (): TypeError =>
    new TypeError(
      'express-m2m: createTokenClient: `privateKey` must be a PEM-encoded (PKCS#8) private key, a private JWK or a private KeyObject',
    );
  if (privateKey === undefined || privateKey === null || privateKey === '') {
    throw new TypeError('express-m2m: createTokenClient: `privateKey` is required for private_key_jwt');
  }
  let key: KeyObject;
  let jwk: JWK | undefined;
  try {
    if (typeof privateKey === 'string') {
      redactor.addSecret(privateKey);
      key = createPrivateKey({ key: privateKey, format: 'pem' });
    } else if (isKeyObject(privateKey)) {
      key = privateKey;
    } else if (typeof privateKey === 'object') {
      jwk = privateKey;
      for (const member of PRIVATE_JWK_MEMBERS) {
        const value = privateKey[member];
        if (typeof value === 'string') redactor.addSecret(value);
      }
      key = createPrivateKey({ key: privateKey as JsonWebKey, format: 'jwk' });
    } else {
      throw invalid();
    }
  } catch {
    // node:crypto's own messages are safe, but a uniform one cannot ever quote key material.
    throw invalid();
  }
  if (key.type !== 'private') throw invalid();
  return { key, jwk };
}

function isKeyObject(value: unknown): value is KeyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as KeyObject).asymmetricKeyType === 'string' &&
    typeof (value as KeyObject).export === 'function'
  );
}

const EC_ALGORITHMS: Record<string, ClientAssertionAlgorithm> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};
const RSA_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

/** The assertion algorithm: the configured one when it suits the key, else the key's natural one. */
function chooseAlgorithm(
  key: KeyObject,
  requested: string | undefined,
  conflicting: boolean,
): ClientAssertionAlgorithm {
  if (conflicting) {
    throw new TypeError("express-m2m: createTokenClient: `privateKeyAlg` differs from the JWK's own `alg`");
  }
  const type = key.asymmetricKeyType;
  let allowed: readonly string[];
  let natural: ClientAssertionAlgorithm;
  if (type === 'rsa') {
    allowed = RSA_ALGORITHMS;
    natural = 'RS256';
  } else if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const alg = curve === undefined ? undefined : EC_ALGORITHMS[curve];
    if (alg === undefined)
      throw new TypeError(
        'express-m2m: createTokenClient: unsupported EC curve for `privateKey` (use P-256, P-384 or P-521)',
      );
    allowed = [alg];
    natural = alg;
  } else if (type === 'ed25519') {
    allowed = ['EdDSA', 'Ed25519'];
    natural = 'EdDSA';
  } else {
    throw new TypeError(
      'express-m2m: createTokenClient: `privateKey` must be an RSA, EC (P-256/384/521) or Ed25519 key',
    );
  }
  if (requested === undefined) return natural;
  if (!allowed.includes(requested)) {
    throw new TypeError(
      `express-m2m: createTokenClient: \`privateKeyAlg\` must be one of ${allowed.join(', ')} for this key`,
    );
  }
  return requested as ClientAssertionAlgorithm;
}

/** `application/x-www-form-urlencoded` encoding of one value (spaces as `+`). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
