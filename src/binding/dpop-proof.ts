/**
 * Verification of a DPoP proof (RFC 9449 §4.3) presented with a DPoP-bound access token.
 *
 * The checks run in this order; the first that fails decides the answer:
 *
 * 1. exactly one `DPoP` header value (a value with a comma is several headers joined), at
 *    most 8 KB, before any parsing;
 * 2. structure: the canonical compact JWS form (three parts of unpadded base64url), a JSON
 *    object header, no `crit`; `typ` exactly `dpop+jwt`; `alg` allowed and asymmetric;
 * 3. the `jwk` header: a public key that fits `alg` (see `importProofKey`);
 * 4. the signature, with that key (node:crypto, synchronously or on libuv's thread pool);
 * 5. the claims, only now decoded: `htm`, `htu`, `iat` window, `exp` and `nbf` when present,
 *    `jti`, `ath`;
 * 6. the key thumbprint against the token's `cnf.jkt` — reason `binding_mismatch`;
 * 7. the server nonce, when nonces are on — code `use_dpop_nonce`. Last, so a nonce is only
 *    ever handed out for an otherwise valid proof by the key the token is bound to.
 *
 * The `jti` is not recorded here: the caller records {@link VerifiedDPoPProof.replayKey} in
 * its replay store after every other check of the request passed, so junk cannot fill it.
 *
 * @module
 */
import { createHash, type KeyObject } from 'node:crypto';
import { isAsymmetricAlgorithm } from '../algorithms.js';
import { decodeBase64url, decodeJsonObject, isCanonicalCompact } from '../jwt/compact.js';
import { verifySignature, verifySignatureOffThread } from '../jwt/signature.js';
import { StacklessError } from '../stackless.js';
import type { NonceSource } from './dpop-nonce.js';
import { normalizeHtu } from './htu.js';
import { importProofKey } from './proof-key.js';

/** Proofs longer than this (in characters) are refused before any parsing. */
export const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;

/** What the request a proof comes with must match. Times in seconds. */
export interface DPoPProofContext {
  /** The request method, as sent (`req.method`). */
  method: string;
  /** The absolute request URL (see `requestUrl`); normalised again here. */
  url: string;
  /** The access token the proof must hash in `ath`; `null` only at a token endpoint (no token yet, `ath` not checked). */
  accessToken: string | null;
  /** The token's `cnf.jkt`; `null` only at a token endpoint, which binds the token it issues to the returned `jkt`. */
  expectedJkt: string | null;
  /** Allowed proof algorithms; symmetric ones and `none` are never accepted, whatever this says. */
  algorithms: readonly string[];
  /** `iat` may be at most this many seconds old (plus `clockTolerance`). */
  maxAge: number;
  clockTolerance: number;
  now: number;
  /** When given, the proof must carry a nonce this source accepts. */
  nonces?: NonceSource | undefined;
}

/** A proof that passed every check; its `jti` is not recorded yet. */
export interface VerifiedDPoPProof {
  jti: string;
  /** RFC 7638 SHA-256 thumbprint of the proof key. */
  jkt: string;
  /** Key to record in the replay store: base64url(SHA-256(jkt "." jti)), 43 characters whatever the `jti`. */
  replayKey: string;
  /** Seconds to keep the `jti`: `maxAge` + 2 × `clockTolerance`, the span in which the same proof would pass again. */
  replayTtl: number;
  /** `renew`: answer with a fresh `DPoP-Nonce`; `off`: no nonce source was given. */
  nonceStatus: 'fresh' | 'renew' | 'off';
}

type FailureCode = 'invalid_dpop_proof' | 'use_dpop_nonce';
type FailureReason = 'invalid_dpop_proof' | 'binding_mismatch' | 'use_dpop_nonce';

/**
 * Why a proof was refused. `description` is a fixed sentence (never a value from the request),
 * made of characters allowed in an RFC 6750 `error_description`. An expected outcome, never a
 * bug: built without a stack trace.
 */
export class ProofFailure extends StacklessError {
  override readonly name = 'ProofFailure';
  readonly code: FailureCode;
  readonly reason: FailureReason;
  readonly description: string;

  constructor(description: string, reason: FailureReason = 'invalid_dpop_proof') {
    super(description);
    this.description = description;
    this.reason = reason;
    this.code = reason === 'use_dpop_nonce' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
  }
}

/** Every description a {@link ProofFailure} can carry. */
export const PROOF_FAILURES = Object.freeze({
  missing: 'DPoP proof missing',
  several: 'several DPoP proofs',
  tooLarge: 'DPoP proof too large',
  malformed: 'DPoP proof malformed',
  type: 'DPoP proof type not accepted',
  algorithm: 'DPoP proof algorithm not allowed',
  key: 'DPoP proof key not acceptable',
  signature: 'DPoP proof signature invalid',
  method: 'DPoP proof method mismatch',
  url: 'DPoP proof URL mismatch',
  issuedAt: 'DPoP proof issued outside the accepted window',
  expired: 'DPoP proof expired',
  notBefore: 'DPoP proof not yet valid',
  jti: 'DPoP proof identifier invalid',
  tokenHash: 'DPoP proof access token hash mismatch',
  keyMismatch: 'DPoP proof key does not match the token',
  nonceMissing: 'DPoP nonce required',
  nonceInvalid: 'DPoP nonce invalid or expired',
} as const);

/**
 * Verifies the `DPoP` header of a request, the signature synchronously.
 *
 * @param proofHeader - the header as Node gives it (`req.headers.dpop`); an array or a value
 *   with a comma means several headers. Count `req.rawHeaders` too, to be sure.
 * @returns the proof's `jti`, key thumbprint, replay-store key and time-to-live, nonce status.
 * @throws ProofFailure — nothing else, whatever the input.
 * @example
 * ```ts
 * const proof = verifyDPoPProof(req.headers.dpop, {
 *   method: req.method, url, accessToken: token, expectedJkt: confirmation.jkt,
 *   algorithms: ['ES256', 'EdDSA'], maxAge: 60, clockTolerance: 5, now, nonces,
 * });
 * if (!(await replayStore.add(proof.replayKey, proof.replayTtl))) throw replayed();
 * ```
 */
export function verifyDPoPProof(
  proofHeader: string | readonly string[] | undefined,
  context: DPoPProofContext,
): VerifiedDPoPProof {
  const signed = readSignedProof(proofHeader, context);
  return checkClaims(signed, verifySignature(signed.alg, signed.key, signed.signingInput, signed.signature), context);
}

/**
 * {@link verifyDPoPProof} with the signature checked on libuv's thread pool, so the event loop
 * serves other requests meanwhile (an ES256 check is the largest cost of a DPoP request). The
 * same checks in the same order: everything before the signature fails synchronously, the rest
 * through the promise.
 *
 * @throws ProofFailure, synchronously or through the promise — nothing else.
 */
export function verifyDPoPProofOffThread(
  proofHeader: string | readonly string[] | undefined,
  context: DPoPProofContext,
): VerifiedDPoPProof | Promise<VerifiedDPoPProof> {
  const signed = readSignedProof(proofHeader, context);
  const valid = verifySignatureOffThread(signed.alg, signed.key, signed.signingInput, signed.signature);
  if (typeof valid === 'boolean') return checkClaims(signed, valid, context);
  return valid.then((checked) => checkClaims(signed, checked, context));
}

/** A proof whose structure, header and key passed, ready for its signature check. */
interface SignedProof {
  alg: string;
  key: KeyObject;
  jkt: string;
  signingInput: Buffer;
  signature: Buffer;
  encodedPayload: string;
}

/** Steps 1–3: one well-formed proof, its header, its algorithm and key. */
function readSignedProof(proofHeader: unknown, context: DPoPProofContext): SignedProof {
  const proof = singleProof(proofHeader);
  if (!isCanonicalCompact(proof)) fail(PROOF_FAILURES.malformed);
  const [encodedHeader, encodedPayload, encodedSignature] = proof.split('.') as [string, string, string];

  const header = decodeJsonObject(encodedHeader);
  if (header === undefined || Object.hasOwn(header, 'crit')) fail(PROOF_FAILURES.malformed);
  if (header.typ !== 'dpop+jwt') fail(PROOF_FAILURES.type);
  const alg = verificationAlgorithm(header.alg, context.algorithms);
  const proofKey = importProofKey(header.jwk, alg, header.alg as string) ?? fail(PROOF_FAILURES.key);

  const signature = decodeBase64url(encodedSignature) ?? fail(PROOF_FAILURES.malformed);
  const signingInput = Buffer.from(proof.slice(0, encodedHeader.length + 1 + encodedPayload.length), 'latin1');
  return { alg, key: proofKey.key, jkt: proofKey.jkt, signingInput, signature, encodedPayload };
}

/** Steps 4–7: the signature's outcome, then the claims, the key binding and the nonce. */
function checkClaims(signed: SignedProof, signatureValid: boolean, context: DPoPProofContext): VerifiedDPoPProof {
  if (!signatureValid) fail(PROOF_FAILURES.signature);
  const claims = decodeJsonObject(signed.encodedPayload) ?? fail(PROOF_FAILURES.malformed);
  checkRequest(claims, context);
  checkTimes(claims, context);
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) fail(PROOF_FAILURES.jti);
  if (context.accessToken !== null && claims.ath !== sha256(context.accessToken)) fail(PROOF_FAILURES.tokenHash);

  if (context.expectedJkt !== null && signed.jkt !== context.expectedJkt) {
    fail(PROOF_FAILURES.keyMismatch, 'binding_mismatch');
  }
  const nonceStatus = checkNonce(claims.nonce, context);
  return Object.freeze({
    jti,
    jkt: signed.jkt,
    replayKey: sha256(`${signed.jkt}.${jti}`),
    replayTtl: context.maxAge + 2 * context.clockTolerance,
    nonceStatus,
  });
}

function fail(description: string, reason?: FailureReason): never {
  throw new ProofFailure(description, reason);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** The one proof a request carries, refused when missing, repeated or too large. */
function singleProof(proofHeader: unknown): string {
  let value = proofHeader;
  if (Array.isArray(value)) {
    if (value.length > 1) fail(PROOF_FAILURES.several);
    value = value[0];
  }
  if (typeof value !== 'string' || value === '') fail(PROOF_FAILURES.missing);
  // Length first: nothing about an oversized value is looked at, not even its characters.
  if (value.length > MAX_PROOF_LENGTH) fail(PROOF_FAILURES.tooLarge);
  // Node joins repeated unknown headers with ", "; a compact JWS never holds a comma.
  if (value.includes(',')) fail(PROOF_FAILURES.several);
  return value;
}

/**
 * The algorithm to verify with: in `algorithms` and asymmetric. `Ed25519` (the fully specified
 * name of EdDSA over Ed25519) is verified as `EdDSA` and allowed when either name is.
 */
function verificationAlgorithm(alg: unknown, algorithms: readonly string[]): string {
  if (typeof alg !== 'string') fail(PROOF_FAILURES.algorithm);
  const verifyAs = alg === 'Ed25519' ? 'EdDSA' : alg;
  const allowed = algorithms.includes(alg) || algorithms.includes(verifyAs);
  if (!allowed || !isAsymmetricAlgorithm(verifyAs)) fail(PROOF_FAILURES.algorithm);
  return verifyAs;
}

/** `htm` and `htu` against the request. */
function checkRequest(claims: Record<string, unknown>, context: DPoPProofContext): void {
  if (typeof claims.htm !== 'string' || claims.htm !== context.method) fail(PROOF_FAILURES.method);
  const expected = normalizeHtu(context.url);
  // An unusable request URL refuses the proof rather than matching an unusable htu.
  if (expected === undefined || normalizeHtu(claims.htu) !== expected) fail(PROOF_FAILURES.url);
}

/** `iat` within the window; `exp` and `nbf`, when present, numeric and current. */
function checkTimes(claims: Record<string, unknown>, context: DPoPProofContext): void {
  const { now, maxAge, clockTolerance } = context;
  const { iat, exp, nbf } = claims;
  if (!isNumericDate(iat) || iat < now - maxAge - clockTolerance || iat > now + clockTolerance) {
    fail(PROOF_FAILURES.issuedAt);
  }
  if (exp !== undefined && (!isNumericDate(exp) || exp <= now - clockTolerance)) fail(PROOF_FAILURES.expired);
  if (nbf !== undefined && (!isNumericDate(nbf) || nbf > now + clockTolerance)) fail(PROOF_FAILURES.notBefore);
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function checkNonce(nonce: unknown, context: DPoPProofContext): VerifiedDPoPProof['nonceStatus'] {
  if (context.nonces === undefined) return 'off';
  if (nonce === undefined) fail(PROOF_FAILURES.nonceMissing, 'use_dpop_nonce');
  const status = context.nonces.check(nonce, context.now);
  if (status === 'invalid') fail(PROOF_FAILURES.nonceInvalid, 'use_dpop_nonce');
  return status;
}
