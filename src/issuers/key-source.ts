/**
 * Where an issuer's verification keys come from: a remote key set (with or without
 * discovery) or static keys (a shared secret, a public key, a JWK or a JWKS).
 *
 * @module
 */
import type { JWSHeaderParameters } from 'jose';
import type { VerificationKey } from '../keys/key-set.js';

/** An issuer's keys. */
export interface KeySource {
  /** The expected `iss`: configured, or discovered; `undefined` until discovery succeeded. */
  readonly issuer: string | undefined;
  /** When the key set in use was fetched (ms); `undefined` for static keys. */
  readonly fetchedAt: number | undefined;
  /** Seconds a verification with these keys may be reused (the key set's `cacheMaxAge`; Infinity for static keys). */
  readonly maxAge: number;
  /** The key for `alg`/`kid` when it is known without waiting. */
  peekKey(alg: unknown, kid: unknown): VerificationKey | undefined;
  /**
   * The key that verifies a token with this header.
   *
   * @throws `KeySetUnavailableError` while no usable key set exists; jose's key-selection errors otherwise.
   */
  getKey(header: JWSHeaderParameters): Promise<VerificationKey>;
  /** Loads what is needed (discovery, the first key set); rejects with a message naming what failed. */
  ready(): Promise<void>;
  /** Runs discovery when the issuer is not known yet and the cooldown allows; never rejects. */
  learnIssuer(): Promise<void>;
  /** The `kid` the key set gives `key` (for revocation by key). */
  keyId(key: VerificationKey): string | undefined;
}
