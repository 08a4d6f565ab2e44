import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../algorithms.js';
import { isJsonObject } from '../json.js';
import { ExpiringSet } from './expiring-set.js';
import { OAuthError } from './oauth-error.js';

/** A proof's `iat` may be at most this many seconds old (RFC 9449 §11.1 suggests minutes; APIs default to 60). */
export const DPOP_MAX_AGE = 60;
/** Clock leeway for a proof's `iat` and `exp`, in seconds. */
const CLOCK_TOLERANCE = 5;
/** Server nonces stay valid this long, in seconds. */
export const DPOP_NONCE_LIFETIME = 300;
const MAX_PROOF_LENGTH = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

/** A proof that passed every check but replay; {@link DPoPProofChecker.consume} records it. */
export interface CheckedProof {
  readonly jkt: string;
  readonly jti: string;
}

const invalidProof = (description: string): OAuthError => new OAuthError(400, 'invalid_dpop_proof', description);

// Only scheme, host, port and path take part: RFC 9449 §4.3 compares htu without query and fragment.
function normalizeUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return undefined;
  }
}

/**
 * DPoP proofs (RFC 9449 §4.3) at the test issuer's token endpoint, checked as an API would:
 * exactly one compact `DPoP` header, `typ` `dpop+jwt`, an asymmetric `alg`, a public `jwk`,
 * a valid signature, `htm` POST, `htu` the endpoint, a recent `iat`, a fresh `jti` and, when
 * nonces are on, a nonce this issuer handed out. Failures are 400 `invalid_dpop_proof` or 400
 * `use_dpop_nonce` with a `DPoP-Nonce` header.
 */
export class DPoPProofChecker {
  readonly #usedJtis = new ExpiringSet();
  readonly #nonces = new ExpiringSet();
  readonly #requireNonce: boolean;

  constructor(requireNonce: boolean) {
    this.#requireNonce = requireNonce;
  }

  #newNonce(): string {
    const nonce = randomBytes(16).toString('base64url');
    this.#nonces.add(nonce, ExpiringSet.now() + DPOP_NONCE_LIFETIME);
    return nonce;
  }

  /** Checks the request's proof for a `POST` to `endpoint`; `undefined` when it carries none. */
  async check(req: IncomingMessage, endpoint: string): Promise<CheckedProof | undefined> {
    const headers = req.headersDistinct.dpop;
    if (headers === undefined || headers.length === 0) return undefined;
    if (headers.length > 1) throw invalidProof('exactly one DPoP header is allowed');
    const proof = headers[0] ?? '';
    if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) {
      throw invalidProof('DPoP proof is not a compact JWS');
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(proof);
    } catch {
      throw invalidProof('DPoP proof header is malformed');
    }
    if (header.typ !== 'dpop+jwt') throw invalidProof('DPoP proof typ must be dpop+jwt');
    if (!(ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(header.alg)) {
      throw invalidProof('DPoP proof alg is not an allowed asymmetric algorithm');
    }
    const jwk: unknown = header.jwk;
    if (!isJsonObject(jwk)) {
      throw invalidProof('DPoP proof must carry a jwk header');
    }
    if (PRIVATE_MEMBERS.some((name) => name in jwk)) throw invalidProof('DPoP proof jwk must be a public key');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        clockTolerance: CLOCK_TOLERANCE,
      }));
    } catch {
      throw invalidProof('DPoP proof signature or claims are invalid');
    }

    const now = ExpiringSet.now();
    if (payload.htm !== 'POST') throw invalidProof('DPoP proof htm does not match the request method');
    const htu = typeof payload.htu === 'string' ? normalizeUrl(payload.htu) : undefined;
    if (htu === undefined || htu !== normalizeUrl(endpoint)) {
      throw invalidProof('DPoP proof htu does not match the token endpoint');
    }
    const { iat, jti } = payload;
    if (typeof iat !== 'number' || iat < now - DPOP_MAX_AGE - CLOCK_TOLERANCE || iat > now + CLOCK_TOLERANCE) {
      throw invalidProof('DPoP proof iat is missing or outside the acceptable window');
    }
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
      throw invalidProof('DPoP proof jti must be a string of 1 to 256 characters');
    }
    if (this.#requireNonce && (typeof payload.nonce !== 'string' || !this.#nonces.has(payload.nonce))) {
      throw new OAuthError(400, 'use_dpop_nonce', 'authorization server requires nonce in DPoP proof', {
        'dpop-nonce': this.#newNonce(),
      });
    }
    return { jkt: await calculateJwkThumbprint(jwk as JWK, 'sha256'), jti };
  }

  /**
   * Records the proof's `jti` (after every other check of the request passed, so refused
   * requests cannot fill the store); a `jti` seen within the proof window is a replay.
   */
  consume(proof: CheckedProof): void {
    const keepUntil = ExpiringSet.now() + DPOP_MAX_AGE + 2 * CLOCK_TOLERANCE;
    if (!this.#usedJtis.add(proof.jti, keepUntil)) throw invalidProof('DPoP proof replayed');
  }
}
