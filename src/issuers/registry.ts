/**
 * The issuer registry: picks a token's issuer from its (unverified) `iss` before any key
 * lookup. An `iss` that matches no trusted issuer is refused without any network request, so
 * a token can never steer our fetches; only an `iss` equal to a configured tenant URL (one
 * trailing slash aside) may trigger that tenant's discovery, at most once per cooldown.
 *
 * @module
 */
import { ALGORITHMS } from '../algorithms.js';
import { withoutTrailingSlash } from '../keys/discovery.js';
import { LruMap } from '../lru.js';
import { ISSUER_KEYS, readIssuer, type IssuerDefaults, type IssuerSpec } from '../options/issuer-config.js';
import { OptionProblems } from '../options/readers.js';
import type { IssuerConfig, IssuerResolver } from '../options/types.js';
import { Refusal } from '../refusal.js';
import { IssuerContext, type SharedClaimRules } from './context.js';

/** Chooses the issuer of each token. */
export interface IssuerRegistry {
  /**
   * The context of the issuer named by `iss`.
   *
   * @throws {@link Refusal} `unexpected_issuer` for an `iss` we do not trust; `keys_unavailable` when a
   *   trusted issuer cannot be reached or a resolver fails.
   */
  select(iss: unknown): IssuerContext | Promise<IssuerContext>;
  /** Prepares every listed issuer (discovery and first key set); rejects naming the one that failed. */
  ready(): Promise<void>;
  /** The listed issuers (empty for a resolver). */
  readonly listed: readonly IssuerContext[];
  /** Algorithms some trusted issuer allows (every one for a resolver): others are refused before `select`. */
  readonly algorithms: readonly string[];
}

/** The strict profile's required claims (RFC 9068 §2.2). */
const RFC9068_REQUIRED = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];

/** The claim rules every issuer applies, from the global options (`strict` adds the RFC 9068 profile). */
export function sharedClaimRules(options: {
  clockTolerance: number;
  maxTokenAge: number | undefined;
  strict: boolean;
}): SharedClaimRules {
  return {
    clockTolerance: options.clockTolerance,
    maxTokenAge: options.maxTokenAge,
    requiredClaims: options.strict ? RFC9068_REQUIRED : ['exp'],
    typ: options.strict ? 'at+jwt' : undefined,
  };
}

/** Longest `iss` a resolver is ever called with. */
export const MAX_ISS_LENGTH = 2048;
/** Answers a resolver's registry remembers. */
const RESOLVER_CACHE_SIZE = 1000;

function unexpectedIssuer(iss: unknown, expected: readonly string[]): Refusal {
  if (iss === undefined) {
    return new Refusal('missing_claim', 'missing iss claim', {
      details: { claim: 'iss', expected, actual: undefined },
    });
  }
  return new Refusal('unexpected_issuer', 'unexpected issuer', {
    details: { claim: 'iss', expected, actual: typeof iss === 'string' ? iss : typeof iss },
  });
}

function unavailable(description: string, retryAfter: number, cause?: unknown): Refusal {
  return new Refusal('keys_unavailable', description, { retryAfter, cause });
}

/** A fixed list of issuers (the one-issuer configuration is a list of one). */
class ListRegistry implements IssuerRegistry {
  /** Configured or discovered `iss` → issuer. */
  private readonly byIssuer = new Map<string, IssuerContext>();
  /** Tenant URL (no trailing slash) → issuer whose `iss` comes from discovery. */
  private readonly byBaseURL = new Map<string, IssuerContext>();

  readonly algorithms: readonly string[];

  constructor(readonly listed: readonly IssuerContext[]) {
    this.algorithms = [...new Set(listed.flatMap((context) => context.spec.algorithms))];
    for (const context of listed) {
      const { source } = context.spec;
      if (source.kind === 'discovery' && source.issuer === undefined) {
        this.byBaseURL.set(withoutTrailingSlash(source.issuerBaseURL), context);
      } else {
        this.byIssuer.set(source.issuer as string, context);
      }
    }
  }

  select(iss: unknown): IssuerContext | Promise<IssuerContext> {
    if (typeof iss !== 'string') throw unexpectedIssuer(iss, this.expected());
    const known = this.byIssuer.get(iss);
    if (known !== undefined) return known;
    const context = this.byBaseURL.get(withoutTrailingSlash(iss));
    if (context === undefined) throw unexpectedIssuer(iss, this.expected());
    if (context.issuer !== undefined) {
      // Discovered already (by ready() or another token): only the exact `iss` it gave is this issuer.
      if (context.issuer !== iss) throw unexpectedIssuer(iss, [context.issuer]);
      this.byIssuer.set(iss, context);
      return context;
    }
    return context.keys.learnIssuer().then(() => {
      if (context.issuer === undefined) {
        throw unavailable('signing keys are temporarily unavailable', context.spec.jwks.cooldown);
      }
      if (context.issuer !== iss) throw unexpectedIssuer(iss, [context.issuer]);
      this.byIssuer.set(iss, context);
      return context;
    });
  }

  async ready(): Promise<void> {
    await Promise.all(this.listed.map((context) => context.keys.ready()));
  }

  private expected(): string[] {
    return this.listed.map((context) => context.identifier);
  }
}

/** Issuers chosen at run time by the application's resolver. */
class ResolverRegistry implements IssuerRegistry {
  readonly listed: readonly IssuerContext[] = [];
  readonly algorithms: readonly string[] = Object.keys(ALGORITHMS);
  private readonly answers = new LruMap<string, IssuerContext>(RESOLVER_CACHE_SIZE);
  /** Refused `iss` values until when (ms): kept apart so made-up values never evict real issuers. */
  private readonly refused = new LruMap<string, number>(RESOLVER_CACHE_SIZE);
  private readonly pending = new Map<string, Promise<IssuerContext>>();

  constructor(
    private readonly resolve: IssuerResolver,
    private readonly defaults: IssuerDefaults,
    private readonly rules: SharedClaimRules,
    private readonly now: () => number,
  ) {}

  select(iss: unknown): IssuerContext | Promise<IssuerContext> {
    if (typeof iss !== 'string' || iss.length > MAX_ISS_LENGTH || !isHttpUrl(iss)) throw unexpectedIssuer(iss, []);
    const known = this.answers.get(iss);
    if (known !== undefined) return known;
    const refusedUntil = this.refused.get(iss);
    if (refusedUntil !== undefined && refusedUntil > this.now()) throw unexpectedIssuer(iss, []);
    let pending = this.pending.get(iss);
    if (pending === undefined) {
      pending = this.ask(iss).finally(() => this.pending.delete(iss));
      this.pending.set(iss, pending);
    }
    return pending;
  }

  async ready(): Promise<void> {}

  private async ask(iss: string): Promise<IssuerContext> {
    const cooldown = this.defaults.jwks.cooldown;
    let config: IssuerConfig | undefined;
    try {
      config = await this.resolve(iss);
    } catch (error) {
      throw unavailable('issuer lookup failed', cooldown, error);
    }
    if (config === undefined) {
      this.refused.set(iss, this.now() + cooldown * 1000);
      throw unexpectedIssuer(iss, []);
    }
    let context: IssuerContext;
    try {
      context = new IssuerContext(this.readAnswer(config), this.rules, this.now);
    } catch (error) {
      throw unavailable('issuer lookup failed', cooldown, error);
    }
    this.answers.set(iss, context);
    await context.keys.learnIssuer();
    return context;
  }

  /** Validates a resolver's answer like a configured entry; garbage becomes a TypeError kept as the cause. */
  private readAnswer(config: unknown): IssuerSpec {
    const problems = new OptionProblems('issuer resolver');
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      problems.add('the resolver must return an issuer entry object or undefined');
      problems.throwIfAny();
    }
    // Held to the rules of a listed entry: a misspelled or foreign option must not be silently dropped.
    problems.unknownKeys(config as Record<string, unknown>, ISSUER_KEYS);
    const spec = readIssuer(problems, config as IssuerConfig, this.defaults, '');
    problems.throwIfAny();
    return spec as IssuerSpec;
  }
}

function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\//i.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** Builds the registry for the resolved `issuers` (a list, or a resolver). */
export function createIssuerRegistry(
  issuers: readonly IssuerSpec[] | IssuerResolver,
  defaults: IssuerDefaults,
  rules: SharedClaimRules,
  now: () => number = Date.now,
): IssuerRegistry {
  if (typeof issuers === 'function') return new ResolverRegistry(issuers, defaults, rules, now);
  return new ListRegistry(issuers.map((spec) => new IssuerContext(spec, rules, now)));
}
