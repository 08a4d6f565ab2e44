/**
 * An issuer's context: its expected `iss`, key source, algorithms and claim rules. The
 * one-issuer configuration is a registry with one context; nothing else differs.
 *
 * @module
 */
import type { ClaimsSetOptions } from '../jwt/claims-set.js';
import type { IssuerSpec } from '../options/issuer-config.js';
import { JwksKeySource } from './jwks-source.js';
import type { KeySource } from './key-source.js';
import { publicKeySource, secretKeySource } from './static-source.js';

/** The claim rules every issuer shares (from the global options). */
export type SharedClaimRules = Omit<ClaimsSetOptions, 'issuer' | 'audience'>;

/** One trusted issuer, ready to verify its tokens. */
export class IssuerContext {
  readonly keys: KeySource;
  private claims: ClaimsSetOptions | undefined;

  constructor(
    readonly spec: IssuerSpec,
    private readonly rules: SharedClaimRules,
    now: () => number = Date.now,
  ) {
    this.keys = createKeySource(spec, now);
  }

  /** The expected `iss`, once known (configured, or discovered). */
  get issuer(): string | undefined {
    return this.keys.issuer;
  }

  /** How this issuer is named to clients and operators: its `iss` when known, else its tenant URL. */
  get identifier(): string {
    return this.issuer ?? this.spec.label;
  }

  /**
   * The claims-set rules for this issuer's tokens, or `undefined` while its `iss` is unknown
   * (the caller then fails closed rather than skip the issuer check).
   */
  claimsOptions(): ClaimsSetOptions | undefined {
    const issuer = this.issuer;
    if (issuer === undefined) return undefined;
    if (this.claims?.issuer !== issuer) {
      this.claims = Object.freeze({ ...this.rules, issuer, audience: this.spec.audience });
    }
    return this.claims;
  }
}

function createKeySource(spec: IssuerSpec, now: () => number): KeySource {
  const { source } = spec;
  switch (source.kind) {
    case 'secret':
      return secretKeySource(source.issuer, source.secret);
    case 'publicKey':
      return publicKeySource(source.issuer, source.publicKey, 'publicKey');
    case 'jwks':
      return new JwksKeySource(
        { issuerBaseURL: undefined, issuer: source.issuer, jwksUri: source.jwksUri },
        spec.jwks,
        spec.label,
        now,
      );
    case 'discovery':
      return new JwksKeySource(source, spec.jwks, spec.label, now);
  }
}
