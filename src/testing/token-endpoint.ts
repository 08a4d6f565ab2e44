import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createLocalJWKSet,
  decodeJwt,
  jwtVerify,
  type JWK,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
} from 'jose';
import type { RegisteredClient } from './clients.js';
import { readBody, sendJson } from './http.js';

/** `client_assertion_type` of RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Algorithms accepted for `private_key_jwt` assertions (asymmetric only). */
export const ASSERTION_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

const PARAMETERS = [
  'grant_type',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'audience',
  'scope',
  'organization',
] as const;

type Parameter = (typeof PARAMETERS)[number];
type Params = Partial<Record<Parameter, string>>;

/** What the token endpoint needs from its issuer. */
export interface TokenEndpointContext {
  readonly issuer: string;
  readonly issuerBaseURL: string;
  readonly tokenEndpoint: string;
  readonly tokenLifetime: number;
  findClient(clientId: string): RegisteredClient | undefined;
  issue(request: { clientId: string; audience: string; scopes: string[]; organization?: string }): Promise<string>;
}

/** An RFC 6749 §5.2 error response, thrown inside the handler and rendered once. */
class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    readonly basicChallenge = false,
  ) {
    super(description);
  }
}

const invalidRequest = (description: string): OAuthError => new OAuthError(400, 'invalid_request', description);

// RFC 6749 §5.2 limits error_description to %x20-21 / %x23-5B / %x5D-7E; anything echoed from
// the request must fit too, or it is replaced by a generic phrase.
function describable(value: string, fallback: string): string {
  return value.length <= 200 && /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/.test(value) ? value : fallback;
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function parseParams(req: IncomingMessage, body: Buffer): Params {
  const type = mediaType(req);
  const raw: [string, unknown][] = [];
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw invalidRequest('request body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw invalidRequest('request body must be a JSON object');
    }
    raw.push(...Object.entries(parsed));
  } else if (type === 'application/x-www-form-urlencoded' || type === '') {
    raw.push(...new URLSearchParams(body.toString('utf8')));
  } else {
    throw invalidRequest('content type must be application/x-www-form-urlencoded or application/json');
  }

  const params: Params = {};
  const seen = new Set<string>();
  for (const [name, value] of raw) {
    // RFC 6749 §3.2: parameters must not be repeated, whatever they are.
    if (seen.has(name)) throw invalidRequest('request parameters must not be repeated');
    seen.add(name);
    if (!(PARAMETERS as readonly string[]).includes(name)) continue;
    if (typeof value !== 'string') throw invalidRequest(`${name} must be a string`);
    // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
    if (value !== '') params[name as Parameter] = value;
  }
  return params;
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
  const bad = new OAuthError(401, 'invalid_client', 'malformed Basic credentials', true);
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

/** Single-use bookkeeping for assertion `jti`s, forgotten once the assertion has expired. */
class JtiRegistry {
  readonly #seen = new Map<string, number>();

  /** Records `jti`; false when it was already used by this client and is still live. */
  claim(clientId: string, jti: string, exp: number): boolean {
    const now = Date.now() / 1000;
    for (const [key, expiry] of this.#seen) if (expiry < now) this.#seen.delete(key);
    const key = `${clientId}\u0000${jti}`;
    if (this.#seen.has(key)) return false;
    this.#seen.set(key, exp);
    return true;
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

/** The RFC 6749 §4.4 client-credentials token endpoint, as a plain node:http handler. */
export class TokenEndpoint {
  readonly #ctx: TokenEndpointContext;
  readonly #jtis = new JtiRegistry();

  constructor(ctx: TokenEndpointContext) {
    this.#ctx = ctx;
  }

  /** Answers one `POST /oauth/token`; never throws. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
    try {
      const read = await readBody(req);
      if (read.kind === 'aborted') return;
      if (read.kind === 'too-large') {
        sendJson(
          res,
          413,
          { error: 'invalid_request', error_description: 'request body too large' },
          { ...noStore, connection: 'close' },
        );
        return;
      }
      const body = await this.#grant(req, parseParams(req, read.body));
      sendJson(res, 200, body, noStore);
    } catch (err) {
      if (res.headersSent) return;
      if (err instanceof OAuthError) {
        const headers = err.basicChallenge ? { ...noStore, 'www-authenticate': 'Basic realm="test-issuer"' } : noStore;
        sendJson(res, err.status, { error: err.code, error_description: err.description }, headers);
      } else {
        sendJson(
          res,
          500,
          { error: 'server_error', error_description: 'unexpected error in the test issuer' },
          noStore,
        );
      }
    }
  }

  async #grant(req: IncomingMessage, params: Params): Promise<Record<string, unknown>> {
    if (params.grant_type === undefined) throw invalidRequest('grant_type is required');
    if (params.grant_type !== 'client_credentials') {
      throw new OAuthError(400, 'unsupported_grant_type', 'only the client_credentials grant is supported');
    }
    const client = await this.#authenticate(req, params);

    const audience = params.audience;
    if (audience === undefined) throw invalidRequest('audience is required');
    const granted = client.grants.get(audience);
    if (!granted) {
      throw new OAuthError(
        403,
        'access_denied',
        `Client is not authorized to access ${describable(audience, 'the requested audience')}`,
      );
    }

    let scopes: string[] = [...new Set(granted)];
    if (params.scope !== undefined) {
      const requested = [...new Set(params.scope.split(' ').filter((s) => s.length > 0))];
      if (requested.some((s) => !granted.includes(s))) {
        throw new OAuthError(400, 'invalid_scope', 'a requested scope is not granted to this client for this audience');
      }
      scopes = requested;
    }

    const organization = params.organization;
    if (organization !== undefined && client.organization !== undefined && organization !== client.organization) {
      throw invalidRequest('the client is not a member of the requested organization');
    }

    const accessToken = await this.#ctx.issue({
      clientId: client.clientId,
      audience,
      scopes,
      ...(organization !== undefined ? { organization } : {}),
    });
    const response: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.#ctx.tokenLifetime,
    };
    if (scopes.length > 0) response.scope = scopes.join(' ');
    return response;
  }

  async #authenticate(req: IncomingMessage, params: Params): Promise<RegisteredClient> {
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
    if (usesJwt) return this.#checkAssertion(params);
    throw new OAuthError(401, 'invalid_client', 'client authentication is required');
  }

  #checkSecret(clientId: string, secret: string, basic: boolean): RegisteredClient {
    const client = this.#ctx.findClient(clientId);
    if (!client) throw new OAuthError(401, 'invalid_client', 'unknown client', basic);
    if (client.clientSecret === undefined) {
      throw new OAuthError(401, 'invalid_client', 'client has no secret; use private_key_jwt', basic);
    }
    if (!secretsEqual(secret, client.clientSecret)) {
      throw new OAuthError(401, 'invalid_client', 'client authentication failed', basic);
    }
    return client;
  }

  async #checkAssertion(params: Params): Promise<RegisteredClient> {
    const assertion = params.client_assertion;
    if (assertion === undefined || params.client_assertion_type === undefined) {
      throw invalidRequest('client_assertion and client_assertion_type go together');
    }
    if (params.client_assertion_type !== JWT_BEARER_ASSERTION_TYPE) {
      throw invalidRequest('unsupported client_assertion_type');
    }
    let claims: ReturnType<typeof decodeJwt>;
    try {
      claims = decodeJwt(assertion);
    } catch {
      throw new OAuthError(401, 'invalid_client', 'client assertion is not a valid JWT');
    }
    const clientId = params.client_id ?? claims.sub;
    if (typeof clientId !== 'string' || claims.iss !== clientId || claims.sub !== clientId) {
      throw new OAuthError(401, 'invalid_client', 'client assertion iss and sub must both be the client_id');
    }
    const client = this.#ctx.findClient(clientId);
    if (!client) throw new OAuthError(401, 'invalid_client', 'unknown client');
    const registered = client.publicJwk;
    if (!registered) throw new OAuthError(401, 'invalid_client', 'client has no publicJwk; use a client secret');

    const { issuer, issuerBaseURL, tokenEndpoint } = this.#ctx;
    // A registered JWK without kid still matches an assertion that names one.
    const keyFor = (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
      const jwk: JWK = { ...registered };
      if (jwk.kid === undefined && typeof header.kid === 'string') jwk.kid = header.kid;
      return createLocalJWKSet({ keys: [jwk] })(header, token);
    };
    let exp: number;
    let jti: unknown;
    try {
      const { payload } = await jwtVerify(assertion, keyFor, {
        issuer: clientId,
        subject: clientId,
        audience: [tokenEndpoint, issuer, issuerBaseURL],
        requiredClaims: ['exp'],
        algorithms: ASSERTION_ALGORITHMS,
        clockTolerance: 5,
      });
      exp = payload.exp as number;
      jti = payload.jti;
    } catch (err) {
      throw new OAuthError(401, 'invalid_client', assertionFailure(err));
    }
    if (typeof jti === 'string' && !this.#jtis.claim(clientId, jti, exp)) {
      throw new OAuthError(401, 'invalid_client', 'client assertion jti was already used');
    }
    return client;
  }
}
