import { describe, expect, it } from '@jest/globals';
import { errors } from 'jose';
import { refusalFor } from '../src/jose-errors.js';

const claims = {};

describe('refusalFor: jose errors as fixed descriptions and stable reasons', () => {
  it.each<[string, unknown, string]>([
    ['expired', new errors.JWTExpired('x', claims, 'exp', 'check_failed'), 'token expired'],
    ['too old', new errors.JWTExpired('x', claims, 'iat', 'check_failed'), 'token too old'],
    [
      'iat in the future',
      new errors.JWTClaimValidationFailed('x', claims, 'iat', 'check_failed'),
      'token issued in the future',
    ],
    ['malformed iat', new errors.JWTClaimValidationFailed('x', claims, 'iat', 'invalid'), 'malformed iat claim'],
    ['not yet valid', new errors.JWTClaimValidationFailed('x', claims, 'nbf', 'check_failed'), 'token not yet valid'],
    ['malformed nbf', new errors.JWTClaimValidationFailed('x', claims, 'nbf', 'invalid'), 'malformed nbf claim'],
    ['malformed exp', new errors.JWTClaimValidationFailed('x', claims, 'exp', 'invalid'), 'malformed exp claim'],
    ['issuer', new errors.JWTClaimValidationFailed('x', claims, 'iss', 'check_failed'), 'unexpected issuer'],
    ['audience', new errors.JWTClaimValidationFailed('x', claims, 'aud', 'check_failed'), 'unexpected audience'],
    ['typ', new errors.JWTClaimValidationFailed('x', claims, 'typ', 'check_failed'), 'unexpected token type'],
    ['named missing claim', new errors.JWTClaimValidationFailed('x', claims, 'jti', 'missing'), 'missing jti claim'],
    [
      'unnamed missing claim',
      new errors.JWTClaimValidationFailed('x', claims, 'evil"\r\n', 'missing'),
      'missing required claim',
    ],
    ['other named claim', new errors.JWTClaimValidationFailed('x', claims, 'sub', 'check_failed'), 'invalid sub claim'],
    [
      'other unnamed claim',
      new errors.JWTClaimValidationFailed('x', claims, 'custom', 'check_failed'),
      'invalid claim',
    ],
    ['signature', new errors.JWSSignatureVerificationFailed(), 'signature verification failed'],
    ['alg', new errors.JOSEAlgNotAllowed('x'), 'algorithm not allowed'],
    ['no key', new errors.JWKSNoMatchingKey(), 'no matching signing key'],
    ['several keys', new errors.JWKSMultipleMatchingKeys(), 'several signing keys match the token'],
    ['invalid key set', new errors.JWKSInvalid('x'), 'invalid signing key'],
    ['unsupported', new errors.JOSENotSupported('x'), 'unsupported token'],
    ['malformed JWS', new errors.JWSInvalid('x'), 'malformed token'],
    ['malformed JWT', new errors.JWTInvalid('x'), 'malformed token'],
    [
      'unusable key',
      new TypeError('RS256 requires key modulusLength to be 2048 bits or larger'),
      'invalid signing key',
    ],
    ['anything else', new Error('?'), 'token could not be verified'],
  ])('%s', (_name, error, description) => {
    expect(refusalFor(error).description).toBe(description);
  });
});

describe('refusalFor: reasons and details', () => {
  it.each<[unknown, string]>([
    [new errors.JWTExpired('x', { exp: 1 }, 'exp', 'check_failed'), 'expired'],
    [new errors.JWTExpired('x', { iat: 1 }, 'iat', 'check_failed'), 'too_old'],
    [new errors.JWTClaimValidationFailed('x', {}, 'aud', 'check_failed'), 'unexpected_audience'],
    [new errors.JWTClaimValidationFailed('x', {}, 'iss', 'check_failed'), 'unexpected_issuer'],
    [new errors.JWTClaimValidationFailed('x', {}, 'nbf', 'check_failed'), 'not_yet_valid'],
    [new errors.JWTClaimValidationFailed('x', {}, 'iat', 'check_failed'), 'issued_in_future'],
    [new errors.JWTClaimValidationFailed('x', {}, 'jti', 'missing'), 'missing_claim'],
    [new errors.JWTClaimValidationFailed('x', {}, 'typ', 'check_failed'), 'invalid_typ'],
    [new errors.JWSSignatureVerificationFailed(), 'invalid_signature'],
    [new errors.JOSEAlgNotAllowed('x'), 'alg_not_allowed'],
    [new errors.JWKSNoMatchingKey(), 'unknown_key'],
    [new errors.JWSInvalid('x'), 'malformed_token'],
  ])('%p has reason %s', (error, reason) => {
    expect(refusalFor(error).reason).toBe(reason);
  });

  it('says which claim failed, with what was expected and what the token had', () => {
    const payload = { aud: 'https://other.example.com', secret_claim: 'kept out' };
    const refusal = refusalFor(new errors.JWTClaimValidationFailed('x', payload, 'aud', 'check_failed'), {
      aud: ['https://api.example.com'],
    });
    expect(refusal.extra.details).toEqual({
      claim: 'aud',
      expected: ['https://api.example.com'],
      actual: 'https://other.example.com',
    });
    // The cause kept for logs no longer carries the decoded payload.
    expect(JSON.stringify(refusal.extra.cause)).not.toContain('kept out');
    expect((refusal.extra.cause as Record<string, unknown>).payload).toBeUndefined();
  });
});
