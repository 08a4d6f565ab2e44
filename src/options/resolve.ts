/**
 * `requireM2M` / `createVerifier` options: environment fallbacks, defaults and validation.
 * Everything here runs once, when a verifier is built, so a misconfiguration fails at
 * start-up, every problem in one message that names the option and its environment variable.
 *
 * @module
 */
import type { JWTPayload } from 'jose';
import { ASYMMETRIC_ALGORITHMS, DPOP_ALGORITHMS, type Algorithm } from '../algorithms.js';
import { DEFAULT_REALM, isQuotable } from '../errors.js';
import {
  ISSUER_KEYS,
  readAlgorithms,
  readIssuer,
  readJwks,
  type IssuerDefaults,
  type IssuerSpec,
} from './issuer-config.js';
import { PEER_DPOP_HINTS, PEER_OPTION_HINTS, warnAboutPeerEnvironment } from './migration.js';
import { OptionProblems } from './readers.js';
import type {
  DPoPOptions,
  IssuerConfig,
  IssuerResolver,
  MtlsOptions,
  ReplayStore,
  RevocationSource,
  VerifierOptions,
} from './types.js';

/** DPoP settings after defaults. */
export interface ResolvedDPoP {
  mode: 'allowed' | 'required' | 'off';
  algorithms: readonly Algorithm[];
  maxAge: number;
  replayStore: ReplayStore | undefined;
  nonce: { secret: Uint8Array; lifetime: number } | undefined;
  origin: string | undefined;
}

/** mTLS settings after defaults. */
export interface ResolvedMtls {
  mode: 'allowed' | 'required' | 'off';
  getCertificate: MtlsOptions['getCertificate'];
}

/** Options after defaults, environment fallbacks and validation. */
export interface ResolvedOptions {
  /** The trusted issuers (a list; the top-level options make a one-entry list), or a resolver. */
  issuers: readonly IssuerSpec[] | IssuerResolver;
  /** What a resolver's answers inherit. */
  issuerDefaults: IssuerDefaults;
  clockTolerance: number;
  maxTokenAge: number | undefined;
  strict: boolean;
  m2mOnly: boolean;
  isM2M: ((payload: JWTPayload) => boolean) | undefined;
  allowedClients: readonly string[] | undefined;
  organizations: readonly string[] | undefined;
  cacheMax: number;
  realm: string;
  offloadSignatures: boolean;
  revocations: RevocationSource | undefined;
  dpop: ResolvedDPoP;
  mtls: ResolvedMtls;
}

/** Every option `createVerifier` takes. */
export const VERIFIER_KEYS = [
  'issuerBaseURL',
  'issuer',
  'jwksUri',
  'issuers',
  'audience',
  'algorithms',
  'secret',
  'publicKey',
  'clockTolerance',
  'maxTokenAge',
  'strict',
  'm2mOnly',
  'isM2M',
  'allowedClients',
  'organization',
  'jwks',
  'cache',
  'realm',
  'fetch',
  'revocations',
  'dpop',
  'mtls',
  'introspection',
  'offloadSignatures',
];

const DEFAULT_CACHE_MAX = 10_000;
const DEFAULT_CLOCK_TOLERANCE = 5;
const MAX_CLOCK_TOLERANCE = 300;
const MAX_TOKEN_AGE = 30 * 86_400;
const TOP_LEVEL_ISSUER_OPTIONS = [
  'issuerBaseURL',
  'issuer',
  'jwksUri',
  'secret',
  'publicKey',
  'introspection',
] as const;

/**
 * Applies environment fallbacks and defaults, and validates everything.
 *
 * @param extraKeys - further options the caller (e.g. `requireM2M`) takes itself.
 * @throws TypeError listing every missing or invalid option (with its environment variable).
 */
export function resolveOptions(
  options: VerifierOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  factory = 'createVerifier',
  extraKeys: readonly string[] = factory === 'requireM2M' ? ['authRequired', 'tokenLocations'] : [],
): ResolvedOptions {
  const problems = new OptionProblems(factory);
  if (options === null || typeof options !== 'object') {
    problems.add('options must be an object');
    problems.throwIfAny();
  }
  problems.unknownKeys(options as Record<string, unknown>, [...VERIFIER_KEYS, ...extraKeys], '', PEER_OPTION_HINTS);
  warnAboutPeerEnvironment(env);

  const fetch = problems.function<typeof globalThis.fetch>(options.fetch, 'fetch') ?? globalThis.fetch;
  const issuerDefaults: IssuerDefaults = {
    audience: problems.list(options.audience ?? env.AUDIENCE, 'audience'),
    algorithms: options.algorithms,
    jwks: readJwks(problems, options.jwks, 'jwks', undefined, fetch),
  };
  const issuers = readIssuers(problems, options, env, issuerDefaults);

  const realm = options.realm ?? DEFAULT_REALM;
  if (typeof realm !== 'string' || realm === '' || !isQuotable(realm)) {
    problems.add('`realm` must be a non-empty string of printable ASCII without quotes or backslashes');
  }
  const cache = options.cache === false ? undefined : problems.object(options.cache, 'cache');
  if (cache !== undefined) problems.unknownKeys(cache, ['max'], 'cache.');
  const revocations = options.revocations;
  if (revocations !== undefined && typeof (revocations as RevocationSource)?.isRevoked !== 'function') {
    problems.add('`revocations` must be a revocation list (from `createRevocationList()` or `express-m2m/redis`)');
  }
  const clockTolerance = problems.seconds(options.clockTolerance, 'clockTolerance', {
    fallback: DEFAULT_CLOCK_TOLERANCE,
    max: MAX_CLOCK_TOLERANCE,
  });
  const resolved: ResolvedOptions = {
    issuers,
    issuerDefaults,
    clockTolerance,
    maxTokenAge:
      options.maxTokenAge === undefined
        ? undefined
        : problems.seconds(options.maxTokenAge, 'maxTokenAge', { fallback: 0, max: MAX_TOKEN_AGE }),
    strict: problems.boolean(options.strict, 'strict', false),
    m2mOnly: problems.boolean(options.m2mOnly, 'm2mOnly', true),
    isM2M: problems.function(options.isM2M, 'isM2M'),
    allowedClients: problems.list(options.allowedClients, 'allowedClients'),
    organizations: problems.list(options.organization, 'organization'),
    cacheMax: options.cache === false ? 0 : problems.integer(cache?.max, 'cache.max', DEFAULT_CACHE_MAX),
    realm,
    offloadSignatures: problems.boolean(options.offloadSignatures, 'offloadSignatures', true),
    revocations,
    dpop: readDPoP(problems, options.dpop),
    mtls: readMtls(problems, options.mtls),
  };
  problems.throwIfAny();
  return resolved;
}

function readIssuers(
  problems: OptionProblems,
  options: VerifierOptions,
  env: NodeJS.ProcessEnv,
  defaults: IssuerDefaults,
): readonly IssuerSpec[] | IssuerResolver {
  const { issuers } = options;
  if (issuers === undefined) {
    // The one-issuer case: the top-level options (with environment fallbacks) are the only entry.
    const single = readIssuer(
      problems,
      {
        issuerBaseURL: options.issuerBaseURL ?? env.ISSUER_BASE_URL,
        issuer: options.issuer ?? env.ISSUER,
        jwksUri: options.jwksUri ?? env.JWKS_URI,
        secret: options.secret ?? env.SECRET,
        publicKey: options.publicKey,
        algorithms: options.algorithms,
        introspection: options.introspection,
      },
      defaults,
      '',
      { issuerBaseURL: 'ISSUER_BASE_URL', issuer: 'ISSUER', jwksUri: 'JWKS_URI', secret: 'SECRET' },
    );
    return single === undefined ? [] : [single];
  }
  const mixed = TOP_LEVEL_ISSUER_OPTIONS.filter((name) => options[name] !== undefined);
  if (mixed.length > 0) {
    problems.add(
      `\`issuers\` cannot be combined with ${mixed.map((name) => `\`${name}\``).join(', ')}: move them into an entry of \`issuers\``,
    );
  }
  if (typeof issuers === 'function') {
    if (defaults.audience === undefined) {
      problems.add('no audience configured: with an issuer resolver, set the `audience` option');
    }
    return issuers;
  }
  if (!Array.isArray(issuers) || issuers.length === 0) {
    problems.add('`issuers` must be a non-empty array of issuer entries or a resolver function');
    return [];
  }
  const resolved: IssuerSpec[] = [];
  issuers.forEach((entry: IssuerConfig, index) => {
    const name = `issuers[${index}].`;
    const config = problems.object(entry, name.slice(0, -1));
    if (config === undefined) return;
    problems.unknownKeys(config, ISSUER_KEYS, name);
    const spec = readIssuer(problems, config as IssuerConfig, defaults, name);
    if (spec !== undefined) resolved.push(spec);
  });
  const seen = new Set<string>();
  for (const spec of resolved) {
    const key = spec.source.kind === 'discovery' ? spec.source.issuerBaseURL.replace(/\/$/, '') : spec.source.issuer;
    if (seen.has(key)) problems.add(`\`issuers\` lists ${spec.label} twice`);
    seen.add(key);
  }
  return resolved;
}

function readDPoP(problems: OptionProblems, value: unknown): ResolvedDPoP {
  const dpop = problems.object(value, 'dpop') ?? {};
  problems.unknownKeys(
    dpop,
    ['mode', 'algorithms', 'maxAge', 'replayStore', 'nonce', 'origin'],
    'dpop.',
    PEER_DPOP_HINTS,
  );
  const options = dpop as DPoPOptions;
  const replayStore = options.replayStore;
  if (replayStore !== undefined && typeof replayStore?.add !== 'function') {
    problems.add('`dpop.replayStore` must have an `add(key, ttl)` method');
  }
  const nonce = problems.object(options.nonce, 'dpop.nonce');
  let resolvedNonce: ResolvedDPoP['nonce'];
  if (nonce !== undefined) {
    problems.unknownKeys(nonce, ['secret', 'lifetime'], 'dpop.nonce.');
    const secret = typeof nonce.secret === 'string' ? new TextEncoder().encode(nonce.secret) : nonce.secret;
    if (!(secret instanceof Uint8Array) || secret.length < 32) {
      problems.add('`dpop.nonce.secret` must be a string or Uint8Array of at least 32 bytes');
    } else {
      resolvedNonce = {
        secret,
        lifetime: problems.seconds(nonce.lifetime, 'dpop.nonce.lifetime', {
          fallback: 300,
          max: 3_600,
          positive: true,
        }),
      };
    }
  }
  let origin = problems.url(options.origin, 'dpop.origin');
  if (origin !== undefined) {
    const url = new URL(origin);
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      problems.add('`dpop.origin` must be an origin such as https://api.example.com (no path)');
    }
    origin = url.origin;
  }
  return {
    mode: problems.oneOf(options.mode, 'dpop.mode', ['allowed', 'required', 'off'], 'allowed'),
    algorithms:
      options.algorithms === undefined
        ? DPOP_ALGORITHMS
        : readAlgorithms(problems, options.algorithms, false, 'dpop.algorithms'),
    maxAge: problems.seconds(options.maxAge, 'dpop.maxAge', { fallback: 60, max: 300, positive: true }),
    replayStore,
    nonce: resolvedNonce,
    origin,
  };
}

function readMtls(problems: OptionProblems, value: unknown): ResolvedMtls {
  const mtls = problems.object(value, 'mtls') ?? {};
  problems.unknownKeys(mtls, ['mode', 'getCertificate'], 'mtls.');
  return {
    mode: problems.oneOf(mtls.mode, 'mtls.mode', ['allowed', 'required', 'off'], 'allowed'),
    getCertificate: problems.function(mtls.getCertificate, 'mtls.getCertificate'),
  };
}

/** Every algorithm any issuer may allow: the early refusal before an issuer is chosen. */
export const ALL_TOKEN_ALGORITHMS: readonly string[] = [...ASYMMETRIC_ALGORITHMS, 'HS256', 'HS384', 'HS512'];
