import { generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../algorithms.js';
import type { AsymmetricAlgorithm, PublicJwks } from './types.js';

/** A private signing key together with the public JWK that advertises it. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: AsymmetricAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
}

interface KeySlot {
  current: SigningKey;
  /** Published ahead of use, so verifiers already hold it when a rotation promotes it. */
  next?: SigningKey;
  previous?: SigningKey;
}

// `Ed25519` is accepted as an alias of EdDSA (jose signs with either name).
const ASYMMETRIC: ReadonlySet<string> = new Set<string>([...ASYMMETRIC_ALGORITHMS, 'Ed25519']);

// Only these members ever reach the JWKS: a whitelist cannot leak d/p/q/... by accident.
const PUBLIC_MEMBERS = ['kty', 'crv', 'n', 'e', 'x', 'y'] as const;

/** Whether `alg` names an algorithm this module can generate keys for. */
export function isAsymmetricAlgorithm(alg: unknown): alg is AsymmetricAlgorithm {
  return typeof alg === 'string' && ASYMMETRIC.has(alg);
}

/** A fresh random key id: base64url of 8 random bytes. */
export function randomKid(): string {
  return randomBytes(8).toString('base64url');
}

/** Copies only the public members of a JWK (plus `kid`, `alg`, `use` when present). */
export function toPublicJwk(jwk: JWK): JWK {
  const out: JWK = {};
  for (const name of PUBLIC_MEMBERS) {
    if (jwk[name] !== undefined) out[name] = jwk[name];
  }
  if (jwk.kid !== undefined) out.kid = jwk.kid;
  if (jwk.alg !== undefined) out.alg = jwk.alg;
  if (jwk.use !== undefined) out.use = jwk.use;
  return out;
}

type KeyPairCallback = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) => void;

/**
 * A fresh key pair for `alg`. The async node:crypto generator runs in the thread pool, so RSA
 * keygen does not block the event loop that also serves the issuer's HTTP routes.
 */
export function generatePair(alg: AsymmetricAlgorithm): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    const done: KeyPairCallback = (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve({ publicKey, privateKey });
    };
    switch (alg) {
      case 'ES256':
        generateKeyPair('ec', { namedCurve: 'P-256' }, done);
        break;
      case 'ES384':
        generateKeyPair('ec', { namedCurve: 'P-384' }, done);
        break;
      case 'ES512':
        generateKeyPair('ec', { namedCurve: 'P-521' }, done);
        break;
      case 'EdDSA':
      case 'Ed25519':
        generateKeyPair('ed25519', undefined, done);
        break;
      default:
        generateKeyPair('rsa', { modulusLength: 2048 }, done);
    }
  });
}

/** Generates a signing key for `alg` with the given (or a random) `kid`. */
export async function generateSigningKey(alg: AsymmetricAlgorithm, kid: string = randomKid()): Promise<SigningKey> {
  const { publicKey, privateKey } = await generatePair(alg);
  const publicJwk: JWK = { ...toPublicJwk(publicKey.export({ format: 'jwk' }) as JWK), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

/**
 * Published signing keys per algorithm — current, next (published before it signs) and
 * previous — and unpublished "foreign" keys. Generation is cached as promises so that
 * concurrent `mint` calls share one keygen.
 */
export class KeyStore {
  readonly #slots = new Map<AsymmetricAlgorithm, KeySlot>();
  readonly #pending = new Map<AsymmetricAlgorithm, Promise<SigningKey>>();
  readonly #foreign = new Map<AsymmetricAlgorithm, Promise<SigningKey>>();
  readonly #publishNext: boolean;

  private constructor(publishNext: boolean) {
    this.#publishNext = publishNext;
  }

  /**
   * Creates the store with its initial RS256 key (and, with `publishNext`, the key the next
   * rotation will promote).
   */
  static async create(publishNext = true): Promise<KeyStore> {
    const store = new KeyStore(publishNext);
    await store.signingKey('RS256');
    return store;
  }

  #nextKey(alg: AsymmetricAlgorithm): Promise<SigningKey | undefined> {
    return this.#publishNext ? generateSigningKey(alg) : Promise.resolve(undefined);
  }

  /** The current published key for `alg`, generated (and published) on first use. */
  signingKey(alg: AsymmetricAlgorithm): Promise<SigningKey> {
    const slot = this.#slots.get(alg);
    if (slot) return Promise.resolve(slot.current);
    let pending = this.#pending.get(alg);
    if (!pending) {
      pending = Promise.all([generateSigningKey(alg), this.#nextKey(alg)]).then(
        ([current, next]) => {
          this.#slots.set(alg, next ? { current, next } : { current });
          this.#pending.delete(alg);
          return current;
        },
        (err: unknown) => {
          this.#pending.delete(alg);
          throw err;
        },
      );
      this.#pending.set(alg, pending);
    }
    return pending;
  }

  /** A key for `alg` that is never published; one per algorithm, reused. */
  foreignKey(alg: AsymmetricAlgorithm): Promise<SigningKey> {
    let key = this.#foreign.get(alg);
    if (!key) {
      key = generateSigningKey(alg);
      // Drop a failed generation so the next call can retry instead of replaying the error.
      key.catch(() => this.#foreign.delete(alg));
      this.#foreign.set(alg, key);
    }
    return key;
  }

  /**
   * Rotates `alg`, or every algorithm that has a key: the published next key becomes current
   * (so verifiers that fetched the key set already know it), a new next key is published, the
   * old current key stays published as previous, and the one before it is dropped.
   */
  async rotate(alg?: AsymmetricAlgorithm): Promise<void> {
    const algs = alg ? [alg] : [...new Set([...this.#slots.keys(), ...this.#pending.keys()])];
    await Promise.all(
      algs.map(async (a) => {
        // Let a first generation in flight land first, so it becomes "previous", not lost.
        await this.#pending.get(a);
        const slot = this.#slots.get(a);
        const [promoted, next] = await Promise.all([
          slot?.next ? Promise.resolve(slot.next) : generateSigningKey(a),
          this.#nextKey(a),
        ]);
        const rotated: KeySlot = { current: promoted };
        if (next) rotated.next = next;
        if (slot) rotated.previous = slot.current;
        this.#slots.set(a, rotated);
      }),
    );
  }

  /** The `kid` of the current key for `alg`, if one exists. */
  currentKid(alg: AsymmetricAlgorithm): string | undefined {
    return this.#slots.get(alg)?.current.kid;
  }

  /** The `kid` the next rotation of `alg` will promote, when next keys are published. */
  nextKid(alg: AsymmetricAlgorithm): string | undefined {
    return this.#slots.get(alg)?.next?.kid;
  }

  /** The JWK Set to serve: current keys first, then next ones, then previous ones. */
  publicJwks(): PublicJwks {
    const current: JWK[] = [];
    const next: JWK[] = [];
    const previous: JWK[] = [];
    for (const slot of this.#slots.values()) {
      current.push({ ...slot.current.publicJwk });
      if (slot.next) next.push({ ...slot.next.publicJwk });
      if (slot.previous) previous.push({ ...slot.previous.publicJwk });
    }
    return { keys: [...current, ...next, ...previous] };
  }

  /** The current RS256 key, which signs the issuer's own documents (introspection JWTs). */
  documentKey(): Promise<SigningKey> {
    return this.signingKey('RS256');
  }
}
