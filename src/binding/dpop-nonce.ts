/**
 * Stateless DPoP server nonces (RFC 9449 §8): a nonce is the second it was issued plus an
 * HMAC of that second under a shared secret, so every instance that shares the secret
 * accepts every other instance's nonces without any shared store.
 *
 * Format: base64url(version byte `1` ‖ issue time, 8 bytes big-endian ‖ the first 16 bytes
 * of HMAC-SHA-256(secret, "express-m2m dpop-nonce" ‖ version ‖ issue time)), 34 characters,
 * all of them allowed in a nonce (RFC 9449 §8.1 `NQCHAR`).
 *
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a server nonce check says. */
export type NonceStatus = 'fresh' | 'renew' | 'invalid';

/** Issues and checks server nonces. */
export interface NonceSource {
  /**
   * A nonce issued at `nowSeconds` (the same one for every call within a second).
   *
   * @throws TypeError when `nowSeconds` is not a non-negative finite number.
   */
  issue(nowSeconds: number): string;
  /**
   * `fresh`: valid; `renew`: valid but past half its lifetime (send a new `DPoP-Nonce` with
   * the successful response); `invalid`: forged, expired, malformed or not a string.
   */
  check(nonce: unknown, nowSeconds: number): NonceStatus;
}

/** Options of {@link createNonceSource}. */
export interface NonceSourceOptions {
  /** At least 32 bytes (a string counts its UTF-8 bytes). Shared by every instance that must accept the nonces. */
  secret: string | Uint8Array;
  /** Seconds a nonce stays valid after it was issued; more than 0, at most 3600. Default 300. */
  lifetime?: number;
}

const MIN_SECRET_BYTES = 32;
const MAX_LIFETIME = 3600;
const VERSION = 1;
const MAC_BYTES = 16;
const PAYLOAD_BYTES = 1 + 8;
const NONCE_LENGTH = Math.ceil(((PAYLOAD_BYTES + MAC_BYTES) * 4) / 3);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Domain separation: the same secret used elsewhere never yields a valid nonce, nor the reverse. */
const CONTEXT = Buffer.from('express-m2m dpop-nonce\0', 'latin1');
/**
 * Seconds a nonce may appear to be issued in the future: instances of a fleet never have
 * exactly the same clock. Beyond that a nonce is refused rather than living longer than its
 * lifetime.
 */
const ISSUER_CLOCK_SKEW = 5;

/**
 * Creates a nonce source.
 *
 * @throws TypeError when `secret` is shorter than 32 bytes or `lifetime` is not a number in (0, 3600].
 * @example
 * ```ts
 * const nonces = createNonceSource({ secret: process.env.DPOP_NONCE_SECRET!, lifetime: 300 });
 * const nonce = nonces.issue(Math.floor(Date.now() / 1000)); // send as DPoP-Nonce
 * nonces.check(proofPayload.nonce, now); // 'fresh' | 'renew' | 'invalid'
 * ```
 */
export function createNonceSource({ secret, lifetime = 300 }: NonceSourceOptions): NonceSource {
  const key = secretBytes(secret);
  if (typeof lifetime !== 'number' || !Number.isFinite(lifetime) || lifetime <= 0 || lifetime > MAX_LIFETIME) {
    throw new TypeError(`DPoP nonce lifetime must be a number of seconds in (0, ${MAX_LIFETIME}]`);
  }

  const mac = (payload: Buffer): Buffer =>
    createHmac('sha256', key).update(CONTEXT).update(payload).digest().subarray(0, MAC_BYTES);

  return Object.freeze({
    issue(nowSeconds: number): string {
      const payload = Buffer.alloc(PAYLOAD_BYTES);
      payload[0] = VERSION;
      payload.writeBigUInt64BE(BigInt(wholeSeconds(nowSeconds)), 1);
      return Buffer.concat([payload, mac(payload)]).toString('base64url');
    },

    check(nonce: unknown, nowSeconds: number): NonceStatus {
      if (typeof nonce !== 'string' || nonce.length !== NONCE_LENGTH || !BASE64URL.test(nonce)) return 'invalid';
      if (typeof nowSeconds !== 'number' || !Number.isFinite(nowSeconds)) return 'invalid';
      const bytes = Buffer.from(nonce, 'base64url');
      // A re-encoding with stray bits in the last character decodes to the same bytes: refuse
      // it so a nonce has one spelling.
      if (bytes.length !== PAYLOAD_BYTES + MAC_BYTES || bytes.toString('base64url') !== nonce) return 'invalid';
      const payload = bytes.subarray(0, PAYLOAD_BYTES);
      if (payload[0] !== VERSION || !timingSafeEqual(mac(payload), bytes.subarray(PAYLOAD_BYTES))) return 'invalid';
      const age = Math.floor(nowSeconds) - Number(payload.readBigUInt64BE(1));
      if (age < -ISSUER_CLOCK_SKEW || age >= lifetime) return 'invalid';
      return age >= lifetime / 2 ? 'renew' : 'fresh';
    },
  });
}

function secretBytes(secret: unknown): Buffer {
  let bytes: Buffer | undefined;
  if (typeof secret === 'string') bytes = Buffer.from(secret, 'utf8');
  else if (secret instanceof Uint8Array) bytes = Buffer.from(secret);
  if (bytes === undefined || bytes.length < MIN_SECRET_BYTES) {
    throw new TypeError(`DPoP nonce secret must be a string or bytes of at least ${MIN_SECRET_BYTES} bytes`);
  }
  return bytes;
}

function wholeSeconds(nowSeconds: number): number {
  if (typeof nowSeconds !== 'number' || !Number.isFinite(nowSeconds) || nowSeconds < 0) {
    throw new TypeError('nowSeconds must be a non-negative number of seconds');
  }
  return Math.floor(nowSeconds);
}
