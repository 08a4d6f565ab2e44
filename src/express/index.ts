/**
 * The Express layer.
 *
 * @module
 */
import './request.js';
export { requireM2M, type RequireM2MHandler } from './middleware.js';
export {
  requireScopes,
  requireAnyScope,
  requireClient,
  requireClaim,
  type ClaimPredicate,
  type JsonValue,
} from './guards.js';
export { m2mErrorHandler, type M2MErrorHandlerOptions } from './error-handler.js';
export {
  protectedResourceMetadata,
  type ProtectedResourceMetadataOptions,
  type ProtectedResourceMetadataHandler,
  type SignedMetadataOptions,
} from './resource-metadata.js';
