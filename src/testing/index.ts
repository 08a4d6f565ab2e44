/**
 * `express-m2m/testing`: an in-process OAuth 2.0 authorization server for tests.
 *
 * @packageDocumentation
 */
export { createTestIssuer, DEFAULT_AUDIENCE } from './issuer.js';
export { DEFAULT_CLIENT_ID } from './mint.js';
export { createDPoPKey, type DPoPKey, type DPoPProofOptions } from './dpop-key.js';
export type {
  AsymmetricAlgorithm,
  MintAlgorithm,
  MintClaims,
  MintOptions,
  PublicJwks,
  RequestCounts,
  SymmetricAlgorithm,
  TestClient,
  TestIssuer,
  TestIssuerOptions,
  TokenFormat,
  TokenProfile,
} from './types.js';
