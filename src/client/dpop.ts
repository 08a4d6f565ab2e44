/**
 * DPoP proofs (RFC 9449) for the caller side: one key per client, a fresh signed proof per
 * request, and the nonces servers hand out, remembered per origin.
 *
 * @module
 */
import { createHash, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { isJsonObject } from '../json.js';
import type { OptionProblems } from '../options/readers.js';
import { NQCHAR, runOf } from '../syntax.js';
import { chooseAlgorithm, importPrivateKey } from './client-auth.js';
import type { DPoPOption } from './options.js';
import { Redactor } from './redact.js';

/** The factory named in option problems. */
const FACTORY = 'createTokenClient';
/** Lifetime of a proof, in seconds (`exp` − `iat`). */
export const PROOF_LIFETIME = 60;
/** Origins whose nonce is remembered; the oldest is forgotten beyond this. */
const MAX_NONCE_ORIGINS = 100;
/** RFC 9449 §8: a nonce is a non-empty string of visible ASCII (NQCHAR). */
const NONCE = runOf(NQCHAR, 1, 256);
/** Public JWK members per key type: nothing else ever goes into a proof header. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['kty', 'crv', 'x', 'y'],
  RSA: ['kty', 'n', 'e'],
  OKP: ['kty', 'crv', 'x'],
};

/** Options of {@link DPoPSigner.proof}. */
export interface ProofOptions {
  /** The access token the request carries: adds `ath`. */
  accessToken?: string | undefined;
  /** The nonce to include; default: the one remembered for the URL's origin. */
  nonce?: string | undefined;
}

/** Signs DPoP proofs with one client's key; the key stays in this object's private fields. */
export class DPoPSigner {
  readonly #key: KeyObject;
  readonly #alg: string;
  readonly #jwk: JWK;
  readonly #nonces = new Map<string, string>();
  readonly #now: () => number;

  constructor(key: KeyObject, alg: string, now: () => number) {
    this.#key = key;
    this.#now = now;
    this.#alg = alg === 'Ed25519' ? 'EdDSA' : alg;
    const full = createPublicKey(key).export({ format: 'jwk' }) as Record<string, unknown>;
    const members = PUBLIC_MEMBERS[String(full.kty)] ?? [];
    this.#jwk = Object.freeze(Object.fromEntries(members.map((name) => [name, full[name]]))) as JWK;
  }

  /** The public key proofs carry (public members only). */
  get publicJwk(): JWK {
    return { ...this.#jwk };
  }

  /**
   * A proof for `method` and `url`: header `typ: dpop+jwt`, `alg`, the public `jwk`; claims
   * `jti` (random), `htm`, `htu` (without query and fragment), `iat`, `exp` (`iat` + 60 s), and
   * `ath` and `nonce` when given or remembered.
   */
  async proof(method: string, url: string | URL, options: ProofOptions = {}): Promise<string> {
    const target = new URL(url);
    const nonce = options.nonce ?? this.#nonces.get(target.origin);
    target.search = '';
    target.hash = '';
    const iat = Math.floor(this.#now() / 1000);
    const claims: Record<string, unknown> = { jti: randomUUID(), htm: method.toUpperCase(), htu: target.href };
    if (options.accessToken !== undefined) {
      claims.ath = createHash('sha256').update(options.accessToken, 'ascii').digest('base64url');
    }
    if (nonce !== undefined) claims.nonce = nonce;
    return new SignJWT(claims)
      .setProtectedHeader({ typ: 'dpop+jwt', alg: this.#alg, jwk: this.#jwk })
      .setIssuedAt(iat)
      .setExpirationTime(iat + PROOF_LIFETIME)
      .sign(this.#key);
  }

  /**
   * Remembers the `DPoP-Nonce` a server at `url`'s origin sent (replacing the previous one).
   *
   * @returns true when the answer carried a usable nonce different from the remembered one.
   */
  rememberNonce(url: string | URL, headers: Headers): boolean {
    const nonce = headers.get('dpop-nonce');
    if (nonce === null || !NONCE.test(nonce)) return false;
    const { origin } = new URL(url);
    const previous = this.#nonces.get(origin);
    this.#nonces.delete(origin);
    this.#nonces.set(origin, nonce);
    if (this.#nonces.size > MAX_NONCE_ORIGINS) this.#nonces.delete(this.#nonces.keys().next().value as string);
    return nonce !== previous;
  }

  /** Only the algorithm and the public key: the private key never shows. */
  toJSON(): { alg: string; jwk: JWK } {
    return { alg: this.#alg, jwk: this.publicJwk };
  }
}

/**
 * The signer for the `dpop` option: `true` makes an ES256 (P-256) key pair now, once per client.
 * Problems (an unusable key or algorithm, an unknown member) are recorded in `problems`, named
 * after the option, never quoting the key.
 *
 * @returns the signer, or `undefined` when a problem was recorded.
 */
export function readDPoPSigner(problems: OptionProblems, option: unknown, now: () => number): DPoPSigner | undefined {
  if (option === true) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return new DPoPSigner(privateKey, 'ES256', now);
  }
  if (!isJsonObject(option)) {
    problems.add('`dpop` must be true or { privateKey, algorithm }');
    return undefined;
  }
  problems.unknownKeys(option, ['privateKey', 'algorithm'], 'dpop.');
  const { privateKey, algorithm } = option as Exclude<DPoPOption, true>;
  return problems.collect(() => {
    // The redactor is only needed by importPrivateKey's contract; DPoP keys never leave the process.
    const { key } = importPrivateKey(privateKey, new Redactor(), FACTORY, 'dpop.privateKey');
    return new DPoPSigner(key, chooseAlgorithm(key, algorithm, FACTORY, 'dpop.algorithm'), now);
  });
}
