/**
 * Stable reason codes: why a request was refused, for logs, metrics and traces. They are
 * finer than the RFC 6750 error codes (which stay deliberately vague for the caller) and are
 * never rendered to the client.
 *
 * @module
 */

/** Every reason an error of this package can carry. */
export const REASONS = [
  'missing_token',
  'malformed_request',
  'token_too_large',
  'malformed_token',
  'alg_not_allowed',
  'unknown_key',
  'invalid_signature',
  'unexpected_issuer',
  'unexpected_audience',
  'expired',
  'not_yet_valid',
  'issued_in_future',
  'too_old',
  'missing_claim',
  'invalid_typ',
  'not_m2m',
  'no_client_id',
  'revoked',
  'invalid_dpop_proof',
  'dpop_replay',
  'use_dpop_nonce',
  'binding_mismatch',
  'insufficient_scope',
  'client_not_allowed',
  'claim_not_satisfied',
  'organization_not_allowed',
  'keys_unavailable',
  'store_unavailable',
] as const;

/** A stable reason code (see {@link REASONS}). */
export type M2MErrorReason = (typeof REASONS)[number];
