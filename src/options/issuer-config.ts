/**
 * Reading one issuer's configuration: its key source (discovery, a JWKS URL, a shared secret
 * or a static public key), its audience, algorithms and key-set settings. Used for the
 * top-level options (the one-issuer case), for each entry of `issuers`, and for each answer of
 * an issuer resolver at run time.
 *
 * @module
 */
import { ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS, type Algorithm } from '../algorithms.js';
import { readIntrospection, type ResolvedIntrospection } from '../introspection/options.js';
import type { OptionProblems } from './readers.js';
import type { IssuerConfig, JwksOptions, PublicKeyInput } from './types.js';

/** Key-set settings after defaults. */
export interface ResolvedJwks {
  cacheMaxAge: number;
  cooldown: number;
  timeout: number;
  maxBytes: number;
  maxStale: number;
  onEvent: JwksOptions['onEvent'];
  fetch: typeof globalThis.fetch;
}

/** Where an issuer's keys come from. */
export type KeySourceSpec =
  /** Discovery from the tenant URL; `issuer` and `jwksUri`, when configured, override what it says. */
  | { kind: 'discovery'; issuerBaseURL: string; issuer: string | undefined; jwksUri: string | undefined }
  | { kind: 'jwks'; issuer: string; jwksUri: string }
  | { kind: 'secret'; issuer: string; secret: Uint8Array }
  | { kind: 'publicKey'; issuer: string; publicKey: PublicKeyInput };

/** One issuer, resolved. */
export interface IssuerSpec {
  /** How messages name this issuer: its tenant URL or its `iss`. */
  label: string;
  source: KeySourceSpec;
  audience: readonly string[];
  algorithms: readonly Algorithm[];
  jwks: ResolvedJwks;
  /** Token introspection (RFC 7662), when configured. */
  introspection: ResolvedIntrospection | undefined;
}

/** Defaults of the key-set settings (seconds and bytes). */
export const JWKS_DEFAULTS = {
  cacheMaxAge: 600,
  cooldown: 30,
  timeout: 5,
  maxBytes: 1024 * 1024,
  maxStale: 86_400,
} as const;

/** Upper bounds of the key-set durations (seconds). */
const JWKS_LIMITS = { cacheMaxAge: 86_400, cooldown: 3_600, timeout: 300, maxStale: 7 * 86_400 } as const;

const JWKS_KEYS = ['cacheMaxAge', 'cooldown', 'timeout', 'maxBytes', 'maxStale', 'onEvent'];
/** The members an entry of `issuers` may have. */
export const ISSUER_KEYS = [
  'issuerBaseURL',
  'issuer',
  'jwksUri',
  'secret',
  'publicKey',
  'audience',
  'algorithms',
  'jwks',
  'introspection',
];

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (32 bytes for HS256). */
const MIN_SECRET_BYTES = 32;

/** Reads `jwks` options over `base` (the global settings, for a per-issuer override). */
export function readJwks(
  problems: OptionProblems,
  value: unknown,
  name: string,
  base: ResolvedJwks | undefined,
  fetch: typeof globalThis.fetch,
): ResolvedJwks {
  const jwks = problems.object(value, name) ?? {};
  problems.unknownKeys(jwks, JWKS_KEYS, `${name}.`);
  const fallback = base ?? { ...JWKS_DEFAULTS, onEvent: undefined, fetch };
  return {
    cacheMaxAge: problems.seconds(jwks.cacheMaxAge, `${name}.cacheMaxAge`, {
      fallback: fallback.cacheMaxAge,
      max: JWKS_LIMITS.cacheMaxAge,
    }),
    cooldown: problems.seconds(jwks.cooldown, `${name}.cooldown`, {
      fallback: fallback.cooldown,
      max: JWKS_LIMITS.cooldown,
    }),
    timeout: problems.seconds(jwks.timeout, `${name}.timeout`, {
      fallback: fallback.timeout,
      max: JWKS_LIMITS.timeout,
      positive: true,
    }),
    maxBytes: problems.integer(jwks.maxBytes, `${name}.maxBytes`, fallback.maxBytes),
    maxStale: problems.seconds(jwks.maxStale, `${name}.maxStale`, {
      fallback: fallback.maxStale,
      max: JWKS_LIMITS.maxStale,
    }),
    onEvent: problems.function<JwksOptions['onEvent']>(jwks.onEvent, `${name}.onEvent`) ?? fallback.onEvent,
    fetch,
  };
}

/** What an issuer entry inherits from the global options. */
export interface IssuerDefaults {
  audience: readonly string[] | undefined;
  algorithms: readonly Algorithm[] | undefined;
  jwks: ResolvedJwks;
}

/**
 * Resolves one issuer. `name` prefixes option names in messages (`issuers[1].`, or `''` for
 * the top-level options); `env` names the environment variable of each top-level option.
 *
 * @returns the issuer, or `undefined` when a problem was recorded.
 */
export function readIssuer(
  problems: OptionProblems,
  config: IssuerConfig,
  defaults: IssuerDefaults,
  name: string,
  env: Partial<Record<'issuerBaseURL' | 'issuer' | 'jwksUri' | 'secret', string>> = {},
): IssuerSpec | undefined {
  const before = problems.ok;
  const issuerBaseURL = problems.url(config.issuerBaseURL, `${name}issuerBaseURL`, env.issuerBaseURL);
  const jwksUri = problems.url(config.jwksUri, `${name}jwksUri`, env.jwksUri);
  const issuer = problems.string(config.issuer, `${name}issuer`);
  const secret = readSecret(problems, config.secret, `${name}secret`, env.secret);
  const publicKey = config.publicKey;
  const audience = problems.list(config.audience, `${name}audience`) ?? defaults.audience;
  const jwks =
    config.jwks === undefined
      ? defaults.jwks
      : readJwks(problems, config.jwks, `${name}jwks`, defaults.jwks, defaults.jwks.fetch);
  const label = issuerBaseURL ?? issuer ?? name;

  let source: KeySourceSpec | undefined;
  const where = name === '' ? '' : ` in \`${name.replace(/\.$/, '')}\``;
  const sources = [jwksUri, secret, publicKey].filter((s) => s !== undefined).length;
  if (sources > 1) {
    problems.add(`\`jwksUri\`, \`secret\` and \`publicKey\` cannot be combined${where}: give one key source`);
  } else if (secret !== undefined) {
    // With a secret, the base URL is the expected issuer verbatim (trailing slash included).
    const expected = issuer ?? issuerBaseURL;
    if (expected === undefined)
      problems.add(
        `no issuer configured${where}: with \`secret\`, set \`issuer\`${hint(env.issuer)} or \`issuerBaseURL\`${hint(env.issuerBaseURL)}`,
      );
    else source = { kind: 'secret', issuer: expected, secret };
  } else if (publicKey !== undefined) {
    if (issuer === undefined)
      problems.add(`no issuer configured${where}: with \`publicKey\`, set \`issuer\`${hint(env.issuer)}`);
    else source = { kind: 'publicKey', issuer, publicKey };
  } else if (issuerBaseURL !== undefined) {
    source = { kind: 'discovery', issuerBaseURL, issuer, jwksUri };
    if (issuer !== undefined && jwksUri !== undefined) source = { kind: 'jwks', issuer, jwksUri };
  } else if (issuer !== undefined && jwksUri !== undefined) {
    source = { kind: 'jwks', issuer, jwksUri };
  } else if (problems.ok === before) {
    problems.add(
      `no issuer configured${where}: set \`issuerBaseURL\`${hint(env.issuerBaseURL)}, or both \`issuer\`${hint(env.issuer)} and \`jwksUri\`${hint(env.jwksUri)}`,
    );
  }
  if (audience === undefined) {
    problems.add(`no audience configured${where}: set the \`audience\` option or the AUDIENCE environment variable`);
  }
  const symmetric = source?.kind === 'secret';
  const algorithms = readAlgorithms(problems, config.algorithms ?? defaults.algorithms, symmetric, `${name}algorithms`);
  const introspection = readIntrospection(
    problems,
    config.introspection,
    `${name}introspection`,
    source?.kind === 'discovery',
  );
  if (source === undefined || audience === undefined || problems.ok !== before) return undefined;
  return { label, source, audience, algorithms, jwks, introspection };
}

function hint(envName: string | undefined): string {
  return envName === undefined ? '' : ` (${envName})`;
}

/** The allowed algorithms: HS* only with a secret, asymmetric ones only without; `none` never. */
export function readAlgorithms(
  problems: OptionProblems,
  requested: unknown,
  symmetric: boolean,
  name: string,
): readonly Algorithm[] {
  const allowed: readonly Algorithm[] = symmetric ? SYMMETRIC_ALGORITHMS : ASYMMETRIC_ALGORITHMS;
  if (requested === undefined) return allowed;
  if (!Array.isArray(requested) || requested.length === 0) {
    problems.add(`\`${name}\` must be a non-empty array`);
    return allowed;
  }
  for (const alg of requested) {
    if (allowed.includes(alg as Algorithm)) continue;
    const reason =
      String(alg).toLowerCase() === 'none'
        ? '"none" is never allowed'
        : symmetric
          ? 'with `secret` only HS256, HS384 and HS512 are allowed'
          : 'without `secret` only RS*, PS*, ES* and EdDSA are allowed';
    problems.add(`unsupported algorithm in \`${name}\`: ${reason}`);
    return allowed;
  }
  return Object.freeze([...new Set(requested as Algorithm[])]);
}

function readSecret(problems: OptionProblems, value: unknown, name: string, envName?: string): Uint8Array | undefined {
  if (value === undefined || value === '') return undefined;
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  if (!(bytes instanceof Uint8Array)) {
    problems.add(`\`${name}\` must be a string or Uint8Array`);
    return undefined;
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    problems.add(`\`${name}\`${hint(envName)} must be at least ${MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)`);
    return undefined;
  }
  return bytes;
}
