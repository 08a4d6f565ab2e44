/**
 * Sender-constrained tokens on every request: DPoP (RFC 9449) and certificate-bound tokens
 * (RFC 8705 §3). One rule covers both — a bound token is never accepted without its proof,
 * whatever the options say — and the order of the answers is fixed: a bearer request for a
 * DPoP-only API, a downgrade of a DPoP token to Bearer, a DPoP request with an unbound token, a
 * stray proof, then the proof itself (structure, signature, request, token hash, key, nonce),
 * and last its `jti` in the replay store (only once every other check passed, so junk cannot
 * fill the store). The verified-token cache may skip the token's signature, never this.
 *
 * @module
 */
import type { JWTPayload } from 'jose';
import type { M2MAuth, VerificationRequest } from './auth.js';
import { readConfirmation } from './binding/confirmation.js';
import { createNonceSource, type NonceSource } from './binding/dpop-nonce.js';
import {
  ProofFailure,
  verifyDPoPProof,
  verifyDPoPProofOffThread,
  type VerifiedDPoPProof,
} from './binding/dpop-proof.js';
import { certificateThumbprint } from './binding/mtls.js';
import type { ResolvedOptions } from './options/resolve.js';
import type { ReplayStore } from './options/types.js';
import { Refusal } from './refusal.js';
import { createMemoryReplayStore } from './stores/replay-store.js';

/** What a token's `cnf` binds it to, read once when the token is verified. */
export interface TokenConfirmation {
  /** False when a `cnf` is present but cannot be understood: the token is refused. */
  readonly valid: boolean;
  readonly jkt?: string;
  readonly x5t?: string;
  /** `req.auth.binding` once the request proves it (DPoP first when both). */
  readonly binding?: { readonly type: 'dpop' | 'mtls'; readonly thumbprint: string };
}

/** A verified token as the cache keeps it. */
export interface VerifiedToken {
  readonly auth: M2MAuth;
  readonly payload: JWTPayload;
  readonly clientId: string;
  readonly issuer: string;
  /** The `kid` of the key that verified the token, for revocation by key. */
  readonly keyId: string | undefined;
  readonly confirmation: TokenConfirmation;
}

/** Answers that concern the token's binding; `dpop` makes the challenge a DPoP one. */
function mismatch(description: string, code: 'invalid_token' | 'invalid_dpop_proof' = 'invalid_token'): Refusal {
  return new Refusal('binding_mismatch', description, { code });
}

/** How long a replay store may take before the request is refused (fail closed, 503). */
const REPLAY_STORE_TIMEOUT_MS = 2000;

/** Applies the DPoP and mTLS rules of one verifier. */
export class SenderConstraint {
  private readonly dpop: ResolvedOptions['dpop'];
  private readonly mtls: ResolvedOptions['mtls'];
  private readonly clockTolerance: number;
  private readonly nonces: NonceSource | undefined;
  private readonly replayStore: ReplayStore | undefined;
  /** Checks a proof: its signature on libuv's thread pool with `offloadSignatures`, like an access token's. */
  private readonly verifyProof: typeof verifyDPoPProofOffThread;

  constructor(options: ResolvedOptions) {
    this.dpop = options.dpop;
    this.verifyProof = options.offloadSignatures ? verifyDPoPProofOffThread : verifyDPoPProof;
    this.mtls = options.mtls;
    this.clockTolerance = options.clockTolerance;
    this.nonces = options.dpop.nonce === undefined ? undefined : createNonceSource(options.dpop.nonce);
    this.replayStore =
      options.dpop.mode === 'off' ? undefined : (options.dpop.replayStore ?? createMemoryReplayStore());
  }

  /** Reads a verified token's `cnf`. */
  confirmation(payload: JWTPayload): TokenConfirmation {
    const read = readConfirmation(payload);
    if (!read.valid) return { valid: false };
    const { jkt, x5t } = read;
    const binding =
      jkt !== undefined
        ? ({ type: 'dpop', thumbprint: jkt } as const)
        : x5t !== undefined
          ? ({ type: 'mtls', thumbprint: x5t } as const)
          : undefined;
    return { valid: true, jkt, x5t, binding };
  }

  /** Before the token is looked at: a DPoP-only API refuses the Bearer scheme. */
  checkScheme(request: VerificationRequest | undefined): void {
    if (this.dpop.mode === 'required' && (request?.scheme ?? 'Bearer') !== 'DPoP') {
      throw new Refusal('binding_mismatch', 'DPoP-bound token required');
    }
  }

  /** The challenge scheme for a refused request (RFC 9449 §7.1). */
  challengeScheme(request: VerificationRequest | undefined, error: unknown): 'Bearer' | 'DPoP' {
    if (this.dpop.mode === 'off') return 'Bearer';
    if (this.dpop.mode === 'required' || request?.scheme === 'DPoP' || request?.dpopProof !== undefined) return 'DPoP';
    return error instanceof Refusal && error.extra.challenge === 'DPoP' ? 'DPoP' : 'Bearer';
  }

  /**
   * The checks every request makes for a verified token (cached or not).
   *
   * @param now - the current time in seconds.
   * @returns `req.auth`, or a promise when the replay store answers asynchronously.
   * @throws {@link Refusal}.
   */
  check(entry: VerifiedToken, request: VerificationRequest | undefined, now: number): M2MAuth | Promise<M2MAuth> {
    const { confirmation } = entry;
    if (!confirmation.valid) throw mismatch('token binding not supported');
    const scheme = request?.scheme ?? 'Bearer';
    const { jkt, x5t } = confirmation;
    if (this.dpop.mode === 'off') {
      if (jkt !== undefined) throw mismatch('DPoP-bound tokens are not accepted');
    } else if (scheme === 'Bearer') {
      if (jkt !== undefined) {
        throw new Refusal('binding_mismatch', 'DPoP-bound token sent as a bearer token', { challenge: 'DPoP' });
      }
      if (request?.dpopProof !== undefined) throw mismatch('DPoP proof sent with a bearer token', 'invalid_dpop_proof');
    } else if (jkt === undefined) {
      throw mismatch('token is not DPoP-bound');
    }
    if (x5t !== undefined) this.checkCertificate(x5t, request);
    else if (this.mtls.mode === 'required') throw mismatch('certificate-bound token required');
    if (jkt === undefined) return entry.auth;
    return this.checkProof(entry, jkt, request as VerificationRequest, now);
  }

  private checkCertificate(x5t: string, request: VerificationRequest | undefined): void {
    if (this.mtls.mode === 'off') throw mismatch('certificate-bound tokens are not accepted');
    const certificate = request?.certificate;
    const thumbprint = certificate === undefined ? undefined : certificateThumbprint(certificate);
    if (thumbprint !== x5t) throw mismatch('certificate does not match token');
  }

  private checkProof(
    entry: VerifiedToken,
    jkt: string,
    request: VerificationRequest,
    now: number,
  ): M2MAuth | Promise<M2MAuth> {
    let proof: VerifiedDPoPProof | Promise<VerifiedDPoPProof>;
    try {
      proof = this.verifyProof(request.dpopProof, {
        method: request.method,
        url: request.url,
        accessToken: entry.auth.token,
        expectedJkt: jkt,
        algorithms: this.dpop.algorithms,
        maxAge: this.dpop.maxAge,
        clockTolerance: this.clockTolerance,
        now,
        nonces: this.nonces,
      });
    } catch (error) {
      throw this.proofRefusal(error, now);
    }
    if (!(proof instanceof Promise)) return this.recordProof(entry, proof, request, now);
    return proof.then(
      (verified) => this.recordProof(entry, verified, request, now),
      (error: unknown) => {
        throw this.proofRefusal(error, now);
      },
    );
  }

  /** A verified proof: a fresh nonce when due, then its `jti` into the replay store. */
  private recordProof(
    entry: VerifiedToken,
    proof: VerifiedDPoPProof,
    request: VerificationRequest,
    now: number,
  ): M2MAuth | Promise<M2MAuth> {
    if (proof.nonceStatus === 'renew' && this.nonces !== undefined) {
      request.responseHeaders = { ...request.responseHeaders, 'DPoP-Nonce': this.nonces.issue(now) };
    }
    const store = this.replayStore as ReplayStore;
    let recorded: boolean | Promise<boolean>;
    try {
      recorded = store.add(proof.replayKey, proof.replayTtl);
    } catch (error) {
      throw storeUnavailable(error);
    }
    if (typeof recorded === 'boolean') return admitted(entry.auth, recorded);
    return withTimeout(recorded).then(
      (first) => admitted(entry.auth, first),
      (error: unknown) => {
        throw storeUnavailable(error);
      },
    );
  }

  private proofRefusal(error: unknown, now: number): Refusal {
    if (!(error instanceof ProofFailure))
      return new Refusal('invalid_dpop_proof', 'invalid DPoP proof', { cause: error });
    if (error.reason === 'use_dpop_nonce' && this.nonces !== undefined) {
      return new Refusal('use_dpop_nonce', error.description, { nonce: this.nonces.issue(now) });
    }
    return new Refusal(
      error.reason === 'binding_mismatch' ? 'binding_mismatch' : 'invalid_dpop_proof',
      error.description,
      {
        code: 'invalid_dpop_proof',
      },
    );
  }
}

function admitted(auth: M2MAuth, firstUse: boolean): M2MAuth {
  if (!firstUse) throw new Refusal('dpop_replay', 'DPoP proof replayed');
  return auth;
}

function storeUnavailable(cause: unknown): Refusal {
  return new Refusal('store_unavailable', 'replay store unavailable', { cause, retryAfter: 1 });
}

/** A replay store that never answers must not hold the request: refuse after a bound. */
function withTimeout(answer: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('replay store timed out')), REPLAY_STORE_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
}
