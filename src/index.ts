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
  protectedResourceMetadata,
  type ProtectedResourceMetadataOptions,
  type ProtectedResourceMetadataHandler,
  type SignedMetadataOptions,
} from './express/index.js';
export { createVerifier, type M2MAuth, type TokenVerifier, type VerificationRequest } from './verifier.js';
export {
  M2MError,
  InvalidRequestError,
  InvalidTokenError,
  UnauthorizedError,
  InsufficientScopeError,
  InvalidDPoPProofError,
  UseDPoPNonceError,
  ServiceUnavailableError,
  isM2MError,
  type ErrorDetails,
  type M2MErrorReason,
  type M2MErrorOptions,
  type UseDPoPNonceErrorOptions,
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
  type CreateProofOptions,
  type DPoPHeaders,
  type DPoPOption,
  type FetchImplementation,
} from './client/index.js';
export { certificateThumbprint, certificateFromXfcc } from './binding/mtls.js';
export type {
  RequireM2MOptions,
  VerifierOptions,
  JwksOptions,
  TokenCacheOptions,
  IssuerConfig,
  IssuerResolver,
  PublicKeyInput,
  DPoPOptions,
  MtlsOptions,
  ReplayStore,
  RevocationCheck,
  RevocationSource,
  IntrospectionOptions,
} from './options/types.js';
export type { Algorithm } from './algorithms.js';
export { REASONS } from './reasons.js';
export { JWKS_CHANNEL, VERIFY_CHANNEL, type VerifyTraceContext } from './diagnostics.js';
export {
  createMemoryReplayStore,
  type MemoryReplayStore,
  type MemoryReplayStoreOptions,
} from './stores/replay-store.js';
export { StoreUnavailableError } from './stores/errors.js';
export {
  createRevocationList,
  type RevocationList,
  type MemoryRevocationList,
  type RevocationListOptions,
} from './stores/revocation-list.js';
export type { RevocationEntry, RevokeClientOptions, RevokeOptions } from './stores/revocation-entry.js';
export type { TokenLocation } from './bearer.js';
export type { KeySetEvent } from './keys/events.js';
