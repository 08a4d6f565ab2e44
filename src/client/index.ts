/**
 * The caller side: a client-credentials token client for the application that calls an API.
 *
 * @module
 */
export { createTokenClient, type TokenClient, type TokenClientOptions, type GetTokenOptions } from './token-client.js';
export { TokenRequestError, type TokenRequestErrorCode, type TokenRequestErrorInit } from './errors.js';
export type { TokenEndpointAuthMethod, ClientAssertionAlgorithm } from './client-auth.js';
