/**
 * Verifier options: their types, environment fallbacks, defaults and validation. Everything
 * here runs once, when a verifier is built, so a misconfiguration fails at start-up with a
 * message that names the option and its environment variable.
 *
 * @module
 */
import type { JWTPayload } from 'jose';
import { ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS, type Algorithm } from './algorithms.js';
import type { TokenLocation } from './bearer.js';
import { DEFAULT_REALM, isQuotable } from './errors.js';
import { httpUrlProblem } from './http-url.js';
import type { KeySetEvent } from './keys/events.js';

export type { Algorithm };

/** Key-set caching and fetching (all durations in seconds). */
export interface JwksOptions {
  /** How long a fetched key set is used before it is refreshed. Default 600. */
  cacheMaxAge?: number;
  /** Minimum time between two fetches, measured from the last one. Default 30. */
  cooldown?: number;
  /** Timeout of each discovery or JWKS request. Default 5. */
  timeout?: number;
  /** Largest discovery or JWKS response accepted, in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Called on key-set fetches, failures and stale serving: the hook for logs and alerts. Must not throw. */
  onEvent?: (event: KeySetEvent) => void;
}

/** Options of the verified-token cache. */
export interface TokenCacheOptions {
  /** Most entries kept (least recently used go first). Default 10,000. */
  max?: number;
}

/** Options of {@link createVerifier}. Every duration is a number of seconds. */
export interface VerifierOptions {
  /** Tenant URL used for discovery. Env `ISSUER_BASE_URL`. */
  issuerBaseURL?: string;
  /** Exact expected `iss`. Env `ISSUER`. Default: from discovery. */
  issuer?: string;
  /** JWKS location. Env `JWKS_URI`. Default: from discovery. */
  jwksUri?: string;
  /** Accepted audiences; the token's `aud` must contain one. Env `AUDIENCE`. Required. */
  audience?: string | readonly string[];
  /** Allowed `alg` values. `none` is never allowed. */
  algorithms?: readonly Algorithm[];
  /** Shared secret for HS256/384/512 tokens. Env `SECRET`. */
  secret?: string | Uint8Array;
  /** Leeway for `exp`, `nbf` and `iat`. Default 5. */
  clockTolerance?: number;
  /** Reject tokens whose `iat` is older than this. */
  maxTokenAge?: number;
  /** Enforce the RFC 9068 JWT access-token profile. Default false. */
  strict?: boolean;
  /** Reject tokens not issued by the client-credentials grant. Default true. */
  m2mOnly?: boolean;
  /** Replaces the built-in client-credentials detection. */
  isM2M?: (payload: JWTPayload) => boolean;
  /** Only these client ids may call. */
  allowedClients?: string | readonly string[];
  /** The token's `org_id` (or, ignoring case, `org_name`) must be one of these. */
  organization?: string | readonly string[];
  /** Key-set caching. */
  jwks?: JwksOptions;
  /** Verified-token cache; `false` disables it. */
  cache?: TokenCacheOptions | false;
  /** `realm` of `WWW-Authenticate`. Default `"api"`. */
  realm?: string;
  /**
   * Check RS/PS/ES/EdDSA signatures on libuv's thread pool (node:crypto's callback form), so
   * the event loop serves other requests meanwhile. Default true. `false` checks them on the
   * event loop: less CPU per token in total, which suits a single-core container.
   */
  offloadSignatures?: boolean;
}

/** Options of `requireM2M`: the verifier's, plus where tokens come from and whether one is required. */
export interface RequireM2MOptions extends VerifierOptions {
  /** false: requests without a token continue with `req.auth` unset. Default true. */
  authRequired?: boolean;
  /** Where a token may be sent. Default `['header']`. */
  tokenLocations?: readonly TokenLocation[];
}

/** Options after defaults, environment fallbacks and validation. */
export interface ResolvedOptions {
  issuerBaseURL: string | undefined;
  issuer: string | undefined;
  jwksUri: string | undefined;
  audience: readonly string[];
  algorithms: readonly Algorithm[];
  secret: Uint8Array | undefined;
  clockTolerance: number;
  maxTokenAge: number | undefined;
  strict: boolean;
  m2mOnly: boolean;
  isM2M: ((payload: JWTPayload) => boolean) | undefined;
  allowedClients: readonly string[] | undefined;
  organizations: readonly string[] | undefined;
  jwks: Required<Omit<JwksOptions, 'onEvent'>> & Pick<JwksOptions, 'onEvent'>;
  cacheMax: number;
  realm: string;
  offloadSignatures: boolean;
}

const PREFIX = 'express-m2m:';

/** Defaults of {@link JwksOptions}. */
export const JWKS_DEFAULTS = { cacheMaxAge: 600, cooldown: 30, timeout: 5, maxBytes: 1024 * 1024 } as const;
const DEFAULT_CACHE_MAX = 10_000;
const DEFAULT_CLOCK_TOLERANCE = 5;

/**
 * Applies environment fallbacks and defaults, and validates everything.
 *
 * @throws TypeError naming the missing or invalid option (and its environment variable).
 */
export function resolveOptions(options: VerifierOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const issuerBaseURL = optionalUrl(options.issuerBaseURL ?? env.ISSUER_BASE_URL, 'issuerBaseURL', 'ISSUER_BASE_URL');
  const jwksUri = optionalUrl(options.jwksUri ?? env.JWKS_URI, 'jwksUri', 'JWKS_URI');
  const issuer = optionalString(options.issuer ?? env.ISSUER, 'issuer');
  const secretValue = options.secret ?? env.SECRET;
  const secret = secretValue === undefined || secretValue === '' ? undefined : toBytes(secretValue);

  const audience = list(options.audience ?? env.AUDIENCE, 'audience');
  if (audience === undefined) {
    throw new TypeError(
      `${PREFIX} no audience configured: set the \`audience\` option or the AUDIENCE environment variable`,
    );
  }

  if (secret !== undefined) {
    if (jwksUri !== undefined)
      throw new TypeError(`${PREFIX} \`secret\` and \`jwksUri\` (JWKS_URI) cannot be combined`);
    if (issuer === undefined && issuerBaseURL === undefined) {
      throw new TypeError(
        `${PREFIX} no issuer configured: with \`secret\`, set \`issuer\` (ISSUER) or \`issuerBaseURL\` (ISSUER_BASE_URL)`,
      );
    }
  } else if (issuerBaseURL === undefined && (issuer === undefined || jwksUri === undefined)) {
    throw new TypeError(
      `${PREFIX} no issuer configured: set \`issuerBaseURL\` (ISSUER_BASE_URL), or both \`issuer\` (ISSUER) and \`jwksUri\` (JWKS_URI)`,
    );
  }

  const algorithms = resolveAlgorithms(options.algorithms, secret !== undefined);
  const jwks = options.jwks ?? {};
  const realm = options.realm ?? DEFAULT_REALM;
  if (typeof realm !== 'string' || realm === '' || !isQuotable(realm)) {
    throw new TypeError(
      `${PREFIX} \`realm\` must be a non-empty string of printable ASCII without quotes or backslashes`,
    );
  }
  if (options.isM2M !== undefined && typeof options.isM2M !== 'function') {
    throw new TypeError(`${PREFIX} \`isM2M\` must be a function`);
  }
  const offloadSignatures = options.offloadSignatures ?? true;
  if (typeof offloadSignatures !== 'boolean') throw new TypeError(`${PREFIX} \`offloadSignatures\` must be a boolean`);
  const cache = options.cache;
  const cacheMax = cache === false ? 0 : integer(cache?.max, 'cache.max', DEFAULT_CACHE_MAX);

  return {
    // A trailing slash is ignored for discovery; with `secret` the base URL is the issuer verbatim.
    issuerBaseURL,
    issuer: issuer ?? (secret !== undefined ? issuerBaseURL : undefined),
    jwksUri,
    audience,
    algorithms,
    secret,
    clockTolerance: seconds(options.clockTolerance, 'clockTolerance', DEFAULT_CLOCK_TOLERANCE),
    maxTokenAge: options.maxTokenAge === undefined ? undefined : seconds(options.maxTokenAge, 'maxTokenAge', 0),
    strict: options.strict ?? false,
    m2mOnly: options.m2mOnly ?? true,
    isM2M: options.isM2M,
    allowedClients: list(options.allowedClients, 'allowedClients'),
    organizations: list(options.organization, 'organization'),
    jwks: {
      cacheMaxAge: seconds(jwks.cacheMaxAge, 'jwks.cacheMaxAge', JWKS_DEFAULTS.cacheMaxAge),
      cooldown: seconds(jwks.cooldown, 'jwks.cooldown', JWKS_DEFAULTS.cooldown),
      timeout: positive(jwks.timeout, 'jwks.timeout', JWKS_DEFAULTS.timeout),
      maxBytes: integer(jwks.maxBytes, 'jwks.maxBytes', JWKS_DEFAULTS.maxBytes),
      onEvent: jwks.onEvent,
    },
    cacheMax,
    realm,
    offloadSignatures,
  };
}

function resolveAlgorithms(requested: readonly string[] | undefined, symmetric: boolean): readonly Algorithm[] {
  const allowed: readonly string[] = symmetric ? SYMMETRIC_ALGORITHMS : ASYMMETRIC_ALGORITHMS;
  if (requested === undefined) return allowed as readonly Algorithm[];
  if (!Array.isArray(requested) || requested.length === 0) {
    throw new TypeError(`${PREFIX} \`algorithms\` must be a non-empty array`);
  }
  for (const alg of requested) {
    if (!allowed.includes(alg)) {
      const reason =
        String(alg).toLowerCase() === 'none'
          ? '"none" is never allowed'
          : symmetric
            ? 'with `secret` only HS256, HS384 and HS512 are allowed'
            : 'without `secret` only RS*, PS*, ES* and EdDSA are allowed';
      throw new TypeError(`${PREFIX} unsupported algorithm in \`algorithms\`: ${reason}`);
    }
  }
  return [...new Set(requested)] as Algorithm[];
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new TypeError(`${PREFIX} \`${name}\` must be a string`);
  return value;
}

function optionalUrl(value: unknown, name: string, envName: string): string | undefined {
  const text = optionalString(value, name);
  if (text === undefined) return undefined;
  const problem = httpUrlProblem(text);
  if (problem !== undefined) throw new TypeError(`${PREFIX} \`${name}\` (${envName}) ${problem}`);
  return text;
}

function list(value: unknown, name: string): readonly string[] | undefined {
  if (value === undefined || value === '') return undefined;
  const values = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string' && v !== '')) {
    throw new TypeError(`${PREFIX} \`${name}\` must be a non-empty string or array of non-empty strings`);
  }
  return Object.freeze([...values]);
}

function seconds(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${PREFIX} \`${name}\` must be a non-negative number of seconds`);
  }
  return value;
}

function positive(value: unknown, name: string, fallback: number): number {
  const result = seconds(value, name, fallback);
  if (result === 0) throw new TypeError(`${PREFIX} \`${name}\` must be greater than 0`);
  return result;
}

function integer(value: unknown, name: string, fallback: number): number {
  const result = seconds(value, name, fallback);
  if (!Number.isInteger(result) || result < 1) throw new TypeError(`${PREFIX} \`${name}\` must be a positive integer`);
  return result;
}

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (32 bytes for HS256). */
const MIN_SECRET_BYTES = 32;

function toBytes(secret: unknown): Uint8Array {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${PREFIX} \`secret\` must be a string or Uint8Array`);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new TypeError(`${PREFIX} \`secret\` (SECRET) must be at least ${MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)`);
  }
  return bytes;
}
