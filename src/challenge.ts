/**
 * Rendering refusals as HTTP errors: the one place that knows the request's challenge (realm,
 * `Bearer` or `DPoP` scheme with its `algs`, RFC 9728 `resource_metadata`).
 *
 * @module
 */
import {
  InsufficientScopeError,
  InvalidDPoPProofError,
  InvalidRequestError,
  InvalidTokenError,
  isM2MError,
  ServiceUnavailableError,
  UnauthorizedError,
  UseDPoPNonceError,
  type M2MError,
  type M2MErrorOptions,
} from './errors.js';
import { Refusal } from './refusal.js';

/** The challenge of one `requireM2M` / verifier. `resourceMetadata` is set later by `protectedResourceMetadata`. */
export interface Challenge {
  readonly realm: string;
  /** Proof algorithms, listed in `DPoP` challenges. */
  readonly dpopAlgorithms: readonly string[];
  /** Absolute URL of the protected resource metadata document. */
  resourceMetadata?: string;
}

const FORBIDDEN = new Set([
  'insufficient_scope',
  'client_not_allowed',
  'claim_not_satisfied',
  'organization_not_allowed',
]);

/**
 * The HTTP error for a refusal (or any error thrown while verifying: an unexpected one fails
 * closed as `invalid_token`).
 */
export function toHttpError(error: unknown, challenge: Challenge, scheme: 'Bearer' | 'DPoP' = 'Bearer'): M2MError {
  if (isM2MError(error)) return error;
  const refusal =
    error instanceof Refusal ? error : new Refusal('malformed_token', 'token could not be verified', { cause: error });
  const { reason, description, extra } = refusal;
  const options: M2MErrorOptions = {
    realm: challenge.realm,
    reason,
    details: extra.details,
    cause: extra.cause,
    scheme,
    algs: scheme === 'DPoP' ? challenge.dpopAlgorithms : undefined,
    resourceMetadata: challenge.resourceMetadata,
  };
  if (reason === 'keys_unavailable' || reason === 'store_unavailable') {
    return new ServiceUnavailableError(description, { ...options, retryAfter: extra.retryAfter });
  }
  if (FORBIDDEN.has(reason)) return new InsufficientScopeError(description, { ...options, scope: extra.scope });
  if (reason === 'malformed_request' || reason === 'token_too_large')
    return new InvalidRequestError(description, options);
  if (reason === 'missing_token') return new UnauthorizedError(description, options);
  if (reason === 'use_dpop_nonce') return new UseDPoPNonceError(description, { ...options, nonce: extra.nonce ?? '' });
  if (reason === 'invalid_dpop_proof' || reason === 'dpop_replay' || extra.code === 'invalid_dpop_proof') {
    return new InvalidDPoPProofError(description, options);
  }
  return new InvalidTokenError(description, options);
}
