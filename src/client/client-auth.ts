/**
 * Client authentication at an authorization server endpoint (token, introspection, …):
 * `client_secret_post`, `client_secret_basic` (RFC 6749 §2.3.1) and `private_key_jwt`
 * (RFC 7523 §2.2, OpenID Connect Core §9).
 *
 * The secret or private key is captured once, in a closure, and never stored on an object
 * that could be logged or serialized. The same object recognises the credentials in whatever a
 * server sends back, so that callers can keep them out of their errors.
 *
 * @module
 */
import { createPrivateKey, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { ALGORITHMS, ASYMMETRIC_ALGORITHMS, type AsymmetricAlgorithm } from '../algorithms.js';
import { optionError } from '../options/readers.js';
import { Redactor } from './redact.js';

/** How the client authenticates at the authorization server. */
export type TokenEndpointAuthMethod = 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt';

/** JWS algorithms usable for a `private_key_jwt` client assertion (`Ed25519` is an alias of `EdDSA`). */
export type ClientAssertionAlgorithm = AsymmetricAlgorithm | 'Ed25519';

/** `client_assertion_type` of RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Lifetime of a client assertion: short, because it is a bearer credential for the endpoint. */
const ASSERTION_LIFETIME = 60;

/** What one request needs from client authentication. */
export interface AuthenticatedRequest {
  /** Extra request headers (`authorization: Basic …`). */
  headers: Record<string, string>;
  /** Extra form parameters (`client_id`, `client_secret`, `client_assertion`, …). */
  params: Record<string, string>;
}

/** Options of {@link createClientAuthentication}; option names as the token client spells them. */
export interface ClientAuthenticationOptions {
  clientId: string;
  clientSecret?: string | undefined;
  privateKey?: string | JWK | KeyObject | undefined;
  privateKeyAlg?: ClientAssertionAlgorithm | undefined;
  privateKeyId?: string | undefined;
  /** `aud` of the assertion; default: the endpoint URL. */
  assertionAudience?: string | undefined;
  /** Default `client_secret_post`, or `private_key_jwt` when only `privateKey` is given. */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
}

/** A client's authentication; holds the credential privately. */
export interface ClientAuthentication {
  readonly method: TokenEndpointAuthMethod;
  /**
   * Headers and form parameters for one request to `endpoint`. A `private_key_jwt` assertion
   * is new for every call (fresh `jti`, `aud` = `endpoint` unless configured), so retries are
   * never replays.
   */
  authenticate(endpoint: string): Promise<AuthenticatedRequest>;
  /**
   * Server text (an `error_description`, an error code) made safe for an error message: replaced
   * as a whole when it echoes any recognisable fragment of the credential, else control
   * characters replaced and at most 300 characters.
   */
  sanitize(serverText: string): string;
  /** True when `serverText` echoes a recognisable fragment of the credential. */
  containsCredential(serverText: string): boolean;
}

/**
 * Builds the client authentication from validated-at-once options.
 *
 * @param factory - the public factory's name, for error messages (`express-m2m: <factory>: …`).
 * @throws TypeError when the method's credential is missing or unusable; the message never
 *   contains the credential.
 * @example
 * ```ts
 * const auth = createClientAuthentication({ clientId: 'api', clientSecret }, 'requireM2M');
 * const { headers, params } = await auth.authenticate('https://as.example.com/introspect');
 * ```
 */
export function createClientAuthentication(
  options: ClientAuthenticationOptions,
  factory = 'createTokenClient',
): ClientAuthentication {
  const method = chooseMethod(options, factory);
  const redactor = new Redactor();
  const { clientId } = options;
  const sanitize = (text: string): string => redactor.sanitize(text);
  const containsCredential = (text: string): boolean => redactor.containsCredential(text);
  const withCredential = (authenticate: ClientAuthentication['authenticate']): ClientAuthentication =>
    Object.freeze({ method, authenticate, sanitize, containsCredential });
  switch (method) {
    case 'client_secret_post':
    case 'client_secret_basic': {
      const secret = options.clientSecret;
      if (typeof secret !== 'string' || secret === '') {
        throw optionError(factory, `\`clientSecret\` is required for ${method}`);
      }
      redactor.addSecret(secret);
      if (method === 'client_secret_post') {
        return withCredential(() =>
          Promise.resolve({ headers: {}, params: { client_id: clientId, client_secret: secret } }),
        );
      }
      // RFC 6749 §2.3.1: both parts are form-urlencoded before base64, so a ':' in the id or
      // non-ASCII in the secret cannot be misread. (Sending them raw breaks such credentials.)
      const credentials = Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`, 'utf8').toString('base64');
      redactor.addSecret(credentials);
      const authorization = `Basic ${credentials}`;
      return withCredential(() => Promise.resolve({ headers: { authorization }, params: {} }));
    }
    case 'private_key_jwt':
      return withCredential(privateKeyJwt(options, redactor, factory));
    default:
      throw optionError(
        factory,
        "`tokenEndpointAuthMethod` must be 'client_secret_post', 'client_secret_basic' or 'private_key_jwt'",
      );
  }
}

function chooseMethod(options: ClientAuthenticationOptions, factory: string): TokenEndpointAuthMethod {
  const { tokenEndpointAuthMethod: method, clientSecret, privateKey } = options;
  if (method !== undefined) return method;
  const hasKey = privateKey !== undefined;
  if (clientSecret !== undefined && hasKey) {
    throw optionError(factory, 'both `clientSecret` and `privateKey` are set; choose with `tokenEndpointAuthMethod`');
  }
  return hasKey ? 'private_key_jwt' : 'client_secret_post';
}

function privateKeyJwt(
  options: ClientAuthenticationOptions,
  redactor: Redactor,
  factory: string,
): ClientAuthentication['authenticate'] {
  const { clientId, privateKeyId, assertionAudience } = options;
  const { key, jwk } = importPrivateKey(options.privateKey, redactor, factory);
  if (options.privateKeyAlg !== undefined && jwk?.alg !== undefined && jwk.alg !== options.privateKeyAlg) {
    throw optionError(factory, "`privateKeyAlg` differs from the JWK's own `alg`");
  }
  const alg = chooseAlgorithm(key, options.privateKeyAlg ?? jwk?.alg, factory);
  const kid = privateKeyId ?? jwk?.kid;
  return async (endpoint) => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(assertionAudience ?? endpoint)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_LIFETIME)
      .sign(key);
    redactor.addAssertion(assertion);
    return {
      headers: {},
      params: { client_id: clientId, client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: assertion },
    };
  };
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

/**
 * Imports a private key (PKCS#8 PEM, private JWK or private `KeyObject`) and registers every
 * form of its private material with `redactor`.
 *
 * @throws TypeError naming the option, never quoting the key.
 */
export function importPrivateKey(
  privateKey: ClientAuthenticationOptions['privateKey'],
  redactor: Redactor,
  factory: string,
  name = 'privateKey',
): { key: KeyObject; jwk: JWK | undefined } {
  const invalid = (): TypeError =>
    optionError(
      factory,
      `\`${name}\` must be a PEM-encoded (PKCS#8) private key, a private JWK or a private KeyObject`,
    );
  if (privateKey === undefined || privateKey === null || privateKey === '') {
    throw optionError(factory, `\`${name}\` is required`);
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
      key = createPrivateKey({ key: privateKey as JsonWebKey, format: 'jwk' });
    } else {
      throw invalid();
    }
  } catch {
    // node:crypto's own messages are safe, but a uniform one cannot ever quote key material.
    throw invalid();
  }
  if (key.type !== 'private') throw invalid();
  // Whatever form the key came in, the server could echo any other form of it.
  const exported = key.export({ format: 'jwk' });
  for (const member of PRIVATE_JWK_MEMBERS) {
    const value = exported[member];
    if (typeof value === 'string') redactor.addSecret(value);
  }
  redactor.addSecret(key.export({ type: 'pkcs8', format: 'der' }).toString('base64'));
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

/**
 * The signing algorithm: the requested one when it suits the key, else the key's natural one
 * (RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519).
 *
 * @throws TypeError when the key type or curve is unsupported or the algorithm does not suit it.
 */
export function chooseAlgorithm(
  key: KeyObject,
  requested: string | undefined,
  factory: string,
  name = 'privateKeyAlg',
): ClientAssertionAlgorithm {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const allowed: string[] = ASYMMETRIC_ALGORITHMS.filter((alg) => {
    const spec = ALGORITHMS[alg];
    return spec.keyType === type && (spec.curve === undefined || spec.curve === curve);
  });
  if (allowed.length === 0) {
    throw optionError(factory, `the key for \`${name}\` must be an RSA, EC (P-256/384/521) or Ed25519 key`);
  }
  if (type === 'ed25519') allowed.push('Ed25519');
  if (requested === undefined) return allowed[0] as ClientAssertionAlgorithm;
  if (!allowed.includes(requested)) {
    throw optionError(factory, `\`${name}\` must be one of ${allowed.join(', ')} for this key`);
  }
  return requested as ClientAssertionAlgorithm;
}

/** `application/x-www-form-urlencoded` encoding of one value (spaces as `+`). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
