/**
 * A remote key source: discovery (when the issuer or the JWKS location must come from the
 * tenant's metadata) and a {@link JwksCache}. The metadata is refreshed on the key set's
 * schedule — every `cacheMaxAge`, and before an unknown-`kid` refetch — so when an issuer
 * moves its `jwks_uri`, the key cache follows it without a restart.
 *
 * @module
 */
import type { JWSHeaderParameters } from 'jose';
import { discover, type IssuerMetadata } from '../keys/discovery.js';
import { createEventSink, type EventSink } from '../keys/events.js';
import { JwksCache } from '../keys/jwks-cache.js';
import type { VerificationKey } from '../keys/key-set.js';
import type { ResolvedJwks } from '../options/issuer-config.js';
import type { KeySource } from './key-source.js';

/** Where the keys are: a tenant URL to discover, and/or a configured issuer and JWKS URL. */
export interface RemoteKeyLocation {
  issuerBaseURL: string | undefined;
  issuer: string | undefined;
  jwksUri: string | undefined;
}

/** Keys fetched from a JWKS URL, found by discovery unless configured. */
export class JwksKeySource implements KeySource {
  private readonly cache: JwksCache;
  private readonly events: EventSink;
  private metadata: IssuerMetadata | undefined;

  constructor(
    private readonly location: RemoteKeyLocation,
    private readonly settings: ResolvedJwks,
    private readonly label: string,
    now: () => number = Date.now,
  ) {
    this.events = createEventSink(settings.onEvent, settings.cooldown, now);
    this.cache = new JwksCache(() => this.locate(), settings, this.events, now);
  }

  get issuer(): string | undefined {
    return this.location.issuer ?? this.metadata?.issuer;
  }

  get fetchedAt(): number | undefined {
    return this.cache.fetchedAt;
  }

  get maxAge(): number {
    return this.settings.cacheMaxAge;
  }

  /** The discovered metadata, once known. */
  get discovered(): IssuerMetadata | undefined {
    return this.metadata;
  }

  peekKey(alg: unknown, kid: unknown): VerificationKey | undefined {
    return this.cache.peekKey(alg, kid);
  }

  getKey(header: JWSHeaderParameters): Promise<VerificationKey> {
    return this.cache.getKey(header);
  }

  keyId(key: VerificationKey): string | undefined {
    return this.cache.keyId(key);
  }

  async ready(): Promise<void> {
    try {
      await this.cache.ready();
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'unknown error';
      throw new Error(`express-m2m: cannot obtain the signing keys of ${this.label}: ${reason}`, { cause: error });
    }
  }

  /**
   * The discovered RFC 7662 `introspection_endpoint`, running discovery first when it has not
   * run yet (at most once per cooldown); `undefined` when unknown.
   */
  async introspectionEndpoint(): Promise<string | undefined> {
    if (this.metadata === undefined) await this.cache.warm();
    return this.metadata?.introspection_endpoint;
  }

  async learnIssuer(): Promise<void> {
    if (this.issuer !== undefined) return;
    await this.cache.warm();
  }

  /** The JWKS URL, running discovery when the issuer or the URL must come from the metadata. */
  private async locate(): Promise<string> {
    const { issuerBaseURL, issuer, jwksUri } = this.location;
    if (issuerBaseURL === undefined || (issuer !== undefined && jwksUri !== undefined)) return jwksUri as string;
    try {
      const { url, ...metadata } = await discover(issuerBaseURL, this.settings, issuer !== undefined);
      this.metadata = metadata;
      this.events.report({ type: 'fetched', resource: 'discovery', url });
    } catch (error) {
      this.events.report({
        type: 'fetch_failed',
        resource: 'discovery',
        url: issuerBaseURL,
        error: error as Error,
        servingStale: this.metadata !== undefined && this.cache.fetchedAt !== undefined,
      });
      // Stale-if-error for the metadata too: keep using the JWKS URL it gave last time.
      if (this.metadata === undefined) throw error;
    }
    return jwksUri ?? this.metadata.jwks_uri;
  }
}
