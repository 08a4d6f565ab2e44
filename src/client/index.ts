/**
 * The caller side: a client-credentials token client for the application that calls an API.
 *
 * @module
 */
export { createTokenClient } from './token-client.js';
export type {
  CreateProofOptions,
  DPoPHeaders,
  DPoPOption,
  FetchImplementation,
  GetTokenOptions,
  TokenClient,
  TokenClientOptions,
} from './options.js';
export { TokenRequestError, type TokenRequestErrorCode, type TokenRequestErrorInit } from './errors.js';
export type { ClientAssertionAlgorithm, TokenEndpointAuthMethod } from './client-auth.js';
