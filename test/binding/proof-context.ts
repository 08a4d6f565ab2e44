/**
 * The request context of the DPoP proof tests and an assertion for refusals.
 */
import { expect } from '@jest/globals';
import { ProofFailure, verifyDPoPProof, type DPoPProofContext } from '../../src/binding/dpop-proof.js';
import { makeKeyPair, NOW, PROOF_ALGORITHMS, thumbprint, TOKEN, URL, type ProofKeyPair } from './proofs.js';

export const es256 = makeKeyPair('ES256');

export function context(pair: ProofKeyPair = es256, overrides: Partial<DPoPProofContext> = {}): DPoPProofContext {
  return {
    method: 'GET',
    url: URL,
    accessToken: TOKEN,
    expectedJkt: thumbprint(pair.publicJwk),
    algorithms: PROOF_ALGORITHMS,
    maxAge: 60,
    clockTolerance: 5,
    now: NOW,
    ...overrides,
  };
}

/** The ProofFailure thrown by `run`, or a test failure when it does not throw one. */
export function failureOf(run: () => unknown): ProofFailure {
  try {
    run();
  } catch (error) {
    if (error instanceof ProofFailure) return error;
    throw error;
  }
  throw new Error('expected a ProofFailure');
}

export function expectRefused(
  proof: string | string[] | undefined,
  description: string,
  ctx: DPoPProofContext = context(),
  reason = 'invalid_dpop_proof',
): void {
  const failure = failureOf(() => verifyDPoPProof(proof, ctx));
  expect({ description: failure.description, reason: failure.reason }).toEqual({ description, reason });
  expect(failure.code).toBe(reason === 'use_dpop_nonce' ? 'use_dpop_nonce' : 'invalid_dpop_proof');
  expect(failure.message).toBe(description);
}
