/**
 * Static keys: a shared secret (HS*), or a public key given in the configuration — a PEM
 * public key or certificate, a `KeyObject`, a JWK or a JWKS. Nothing is fetched, so
 * air-gapped services and tests verify without any network.
 *
 * @module
 */
import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import type { JWK, JWSHeaderParameters } from 'jose';
import { isJsonObject } from '../json.js';
import { createKeySet, type KeySet, type VerificationKey } from '../keys/key-set.js';
import type { PublicKeyInput } from '../options/types.js';
import type { KeySource } from './key-source.js';

/** Members only a private or symmetric JWK has. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Keys given in the configuration: nothing to fetch, nothing to refresh. */
class StaticKeySource implements KeySource {
  readonly fetchedAt = undefined;
  readonly maxAge = Number.POSITIVE_INFINITY;
  constructor(
    readonly issuer: string,
    private readonly keys: KeySet,
  ) {}
  peekKey(alg: unknown, kid: unknown): VerificationKey | undefined {
    return this.keys.peek(alg, kid);
  }
  getKey(header: JWSHeaderParameters): Promise<VerificationKey> {
    return this.keys.select(header);
  }
  async ready(): Promise<void> {}
  async learnIssuer(): Promise<void> {}
  keyId(key: VerificationKey): string | undefined {
    return this.keys.keyId(key);
  }
}

/** A single key used for every token of its issuer (a secret, a PEM key or certificate, a `KeyObject`). */
function singleKey(issuer: string, key: VerificationKey): KeySource {
  return new StaticKeySource(issuer, {
    size: 1,
    peek: () => key,
    select: async () => key,
    keyId: () => undefined,
  });
}

/** The key source of a shared secret. */
export function secretKeySource(issuer: string, secret: Uint8Array): KeySource {
  return singleKey(issuer, createSecretKey(secret));
}

/**
 * The key source of a configured public key.
 *
 * @throws TypeError for a private key, an unparsable key or an invalid JWK/JWKS — at construction, never per request.
 */
export function publicKeySource(issuer: string, input: PublicKeyInput, name: string): KeySource {
  if (input instanceof KeyObject) {
    if (input.type !== 'public') throw new TypeError(`express-m2m: \`${name}\` must be a public key`);
    return singleKey(issuer, input);
  }
  if (typeof input === 'string') {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(input)) {
      throw new TypeError(`express-m2m: \`${name}\` must be a public key or certificate, not a private key`);
    }
    try {
      // A PEM public key or an X.509 certificate (whose public key is used).
      return singleKey(issuer, createPublicKey(input));
    } catch (error) {
      throw new TypeError(`express-m2m: \`${name}\` is not a PEM public key or certificate`, { cause: error });
    }
  }
  if (!isJsonObject(input))
    throw new TypeError(`express-m2m: \`${name}\` must be a PEM string, a JWK, a JWKS or a KeyObject`);
  const jwks = Array.isArray((input as { keys?: unknown }).keys)
    ? (input as { keys: JWK[] })
    : { keys: [input as JWK] };
  for (const jwk of jwks.keys) {
    if (!isJsonObject(jwk) || PRIVATE_JWK_MEMBERS.some((member) => Object.hasOwn(jwk, member))) {
      throw new TypeError(`express-m2m: \`${name}\` must hold public JWKs only`);
    }
  }
  try {
    return new StaticKeySource(issuer, createKeySet(jwks));
  } catch (error) {
    throw new TypeError(`express-m2m: \`${name}\` is not a valid JWK or JWKS`, { cause: error });
  }
}
