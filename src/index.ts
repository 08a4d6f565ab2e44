/**
 * express-m2m: accept machine-to-machine (OAuth 2.0 client-credentials) access tokens in Express.
 *
 * @packageDocumentation
 */
export {
  requireM2M,
  requireScopes,
  requireAnyScope,
  requireClient,
  requireClaim,
  m2mErrorHandler,
  type RequireM2MHandler,
  type ClaimPredicate,
  type JsonValue,
  type M2MErrorHandlerOptions,
} from './express/index.js';
export { createVerifier, type M2MAuth, type TokenVerifier } from './verifier.js';
export {
  M2MError,
  InvalidRequestError,
  InvalidTokenError,
  UnauthorizedError,
  InsufficientScopeError,
  ServiceUnavailableError,
  isM2MError,
  type M2MErrorOptions,
  type InsufficientScopeErrorOptions,
  type ServiceUnavailableErrorOptions,
} from './errors.js';
export {
  createTokenClient,
  TokenRequestError,
  type TokenClient,
  type TokenClientOptions,
  type GetTokenOptions,
  type TokenRequestErrorCode,
  type TokenRequestErrorInit,
  type TokenEndpointAuthMethod,
  type ClientAssertionAlgorithm,
} from './client/index.js';
export type { RequireM2MOptions, VerifierOptions, JwksOptions, TokenCacheOptions, Algorithm } from './options.js';
export type { TokenLocation } from './bearer.js';
export type { KeySetEvent } from './keys/events.js';
