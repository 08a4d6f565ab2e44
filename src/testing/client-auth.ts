import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  createLocalJWKSet,
  decodeJwt,
  jwtVerify,
  type FlattenedJWSInput,
  type JWK,
  type JWSHeaderParameters,
  type JWTPayload,
} from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../algorithms.js';
import type { RegisteredClient } from './clients.js';
import { ExpiringSet } from './expiring-set.js';
import { describable, invalidClient, invalidRequest } from './oauth-error.js';

/** `client_assertion_type` of RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Algorithms accepted for `private_key_jwt` assertions: asymmetric only (`Ed25519` as an alias of EdDSA). */
export const ASSERTION_ALGORITHMS: readonly string[] = [...ASYMMETRIC_ALGORITHMS, 'Ed25519'];

/**
 * Longest accepted client-assertion lifetime, in seconds: `exp` at most this long after `iat`
 * and after now. An assertion is a bearer credential for the token endpoint; a short life
 * bounds both a stolen assertion's use and the memory of used `jti`s.
 */
export const MAX_ASSERTION_LIFETIME = 300;

/** Leeway for the assertion's time claims, in seconds. */
const CLOCK_TOLERANCE = 5;

/** The client-authentication parameters of a token or introspection request. */
export const CLIENT_AUTH_PARAMETERS = [
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
] as const;

/** Client-authentication parameters, as read from the request body. */
export type ClientAuthParams = Partial<Record<(typeof CLIENT_AUTH_PARAMETERS)[number], string>>;

/** What client authentication needs from its issuer. */
export interface ClientAuthContext {
  readonly issuer: string;
  readonly issuerBaseURL: string;
  findClient(clientId: string): RegisteredClient | undefined;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

// Hashing first gives equal-length inputs, so timingSafeEqual leaks neither content nor length.
function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** Credentials from `Authorization: Basic`, decoded per RFC 6749 §2.3.1. */
function parseBasic(header: string): { clientId: string; clientSecret: string } {
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  const bad = invalidClient('malformed Basic credentials', true);
  if (!match?.[1]) throw bad;
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(match[1], 'base64'));
  } catch {
    throw bad;
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) throw bad;
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw bad;
  }
}

function assertionFailure(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const claim = (err as { claim?: unknown } | null)?.claim;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'client assertion expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'aud') return 'client assertion aud must be the token endpoint or the issuer';
      if (claim === 'exp') return 'client assertion must carry exp';
      if (claim === 'jti') return 'client assertion must carry jti';
      return typeof claim === 'string'
        ? describable(`client assertion ${claim} claim is invalid`, 'client assertion claims are invalid')
        : 'client assertion claims are invalid';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'client assertion signature is invalid';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'client assertion is not signed with the registered key';
    default:
      return 'client assertion is invalid';
  }
}

/**
 * Client authentication shared by the token and introspection endpoints:
 * `client_secret_basic`, `client_secret_post` and `private_key_jwt` (RFC 7523 §2.2 with the
 * single-use `jti` and bounded lifetime of RFC 7523 §3). Every failure is an `OAuthError`
 * (401 `invalid_client`, or 400 `invalid_request` for a malformed combination).
 */
export class ClientAuthenticator {
  readonly #ctx: ClientAuthContext;
  readonly #usedJtis = new ExpiringSet();

  constructor(ctx: ClientAuthContext) {
    this.#ctx = ctx;
  }

  /**
   * Authenticates the client of a request whose body parameters are `params`; `endpoint` is
   * the URL the request was sent to (a valid assertion `aud`, besides the issuer).
   */
  async authenticate(req: IncomingMessage, params: ClientAuthParams, endpoint: string): Promise<RegisteredClient> {
    const authorization = req.headers.authorization;
    const usesBasic = authorization !== undefined;
    const usesPost = params.client_secret !== undefined;
    const usesJwt = params.client_assertion !== undefined || params.client_assertion_type !== undefined;
    if (Number(usesBasic) + Number(usesPost) + Number(usesJwt) > 1) {
      throw invalidRequest('use exactly one client authentication method');
    }
    if (usesBasic) {
      if (!/^basic(?: |$)/i.test(authorization)) throw invalidRequest('unsupported Authorization scheme');
      const { clientId, clientSecret } = parseBasic(authorization);
      if (params.client_id !== undefined && params.client_id !== clientId) {
        throw invalidRequest('client_id does not match the Authorization header');
      }
      return this.#checkSecret(clientId, clientSecret, true);
    }
    if (usesPost) {
      if (params.client_id === undefined) throw invalidRequest('client_id is required');
      return this.#checkSecret(params.client_id, params.client_secret ?? '', false);
    }
    if (usesJwt) return this.#checkAssertion(params, endpoint);
    throw invalidClient('client authentication is required');
  }

  #checkSecret(clientId: string, secret: string, basic: boolean): RegisteredClient {
    const client = this.#ctx.findClient(clientId);
    if (!client) throw invalidClient('unknown client', basic);
    if (client.clientSecret === undefined) throw invalidClient('client has no secret; use private_key_jwt', basic);
    if (!secretsEqual(secret, client.clientSecret)) throw invalidClient('client authentication failed', basic);
    return client;
  }

  async #checkAssertion(params: ClientAuthParams, endpoint: string): Promise<RegisteredClient> {
    const assertion = params.client_assertion;
    if (assertion === undefined || params.client_assertion_type === undefined) {
      throw invalidRequest('client_assertion and client_assertion_type go together');
    }
    if (params.client_assertion_type !== JWT_BEARER_ASSERTION_TYPE) {
      throw invalidRequest('unsupported client_assertion_type');
    }
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(assertion);
    } catch {
      throw invalidClient('client assertion is not a valid JWT');
    }
    const clientId = params.client_id ?? unverified.sub;
    if (typeof clientId !== 'string' || unverified.iss !== clientId || unverified.sub !== clientId) {
      throw invalidClient('client assertion iss and sub must both be the client_id');
    }
    const client = this.#ctx.findClient(clientId);
    if (!client) throw invalidClient('unknown client');
    const registered = client.publicJwk;
    if (!registered) throw invalidClient('client has no publicJwk; use a client secret');

    // A registered JWK without kid still matches an assertion that names one.
    const keyFor = (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
      const jwk: JWK = { ...registered };
      if (jwk.kid === undefined && typeof header.kid === 'string') jwk.kid = header.kid;
      return createLocalJWKSet({ keys: [jwk] })(header, token);
    };
    const { issuer, issuerBaseURL } = this.#ctx;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(assertion, keyFor, {
        issuer: clientId,
        subject: clientId,
        audience: [endpoint, issuer, issuerBaseURL],
        requiredClaims: ['exp', 'jti'],
        algorithms: [...ASSERTION_ALGORITHMS],
        clockTolerance: CLOCK_TOLERANCE,
      }));
    } catch (err) {
      throw invalidClient(assertionFailure(err));
    }
    const { jti, exp, iat } = payload as { jti: unknown; exp: number; iat?: number };
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
      throw invalidClient('client assertion jti must be a string of 1 to 256 characters');
    }
    const now = ExpiringSet.now();
    const tooLong =
      exp > now + MAX_ASSERTION_LIFETIME + CLOCK_TOLERANCE || (iat !== undefined && exp - iat > MAX_ASSERTION_LIFETIME);
    if (tooLong) throw invalidClient('client assertion lifetime exceeds 5 minutes');
    // Remembered until the assertion can no longer be accepted anyway (exp plus leeway).
    if (!this.#usedJtis.add(`${clientId}\u0000${jti}`, exp + CLOCK_TOLERANCE)) {
      throw invalidClient('client assertion jti was already used');
    }
    return client;
  }
}
