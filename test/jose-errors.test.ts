import { describe, expect, it } from '@jest/globals';
import { errors } from 'jose';
import { describeVerificationError } from '../src/jose-errors.js';

const claims = {};

describe('describeVerificationError', () => {
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
    expect(describeVerificationError(error)).toBe(description);
  });
});
