import { describe, expect, it } from '@jest/globals';
import createError from 'http-errors';
import {
  InsufficientScopeError,
  InvalidRequestError,
  InvalidDPoPProofError,
  InvalidTokenError,
  ServiceUnavailableError,
  UnauthorizedError,
  UseDPoPNonceError,
  isM2MError,
} from '../src/errors.js';
import { NQCHAR, NQSCHAR, runOf } from '../src/syntax.js';

describe('error classes', () => {
  it.each([
    [new InvalidRequestError('bad header'), 400, 'invalid_request'],
    [new InvalidTokenError('token expired'), 401, 'invalid_token'],
    [new UnauthorizedError(), 401, undefined],
    [new InsufficientScopeError('missing required scope'), 403, 'insufficient_scope'],
    [new ServiceUnavailableError(), 503, 'temporarily_unavailable'],
  ])('%p is an exposed http-errors compatible error', (error, status, code) => {
    expect(createError.isHttpError(error)).toBe(true);
    expect(isM2MError(error)).toBe(true);
    expect(error).toBeInstanceOf(Error);
    expect(error.status).toBe(status);
    expect(error.statusCode).toBe(status);
    expect(error.expose).toBe(true);
    expect(error.code).toBe(code);
    expect(typeof error.headers['WWW-Authenticate']).toBe('string');
  });

  it('renders RFC 6750 challenges', () => {
    expect(new UnauthorizedError().headers['WWW-Authenticate']).toBe('Bearer realm="api"');
    expect(new InvalidTokenError('token expired', { realm: 'orders' }).headers['WWW-Authenticate']).toBe(
      'Bearer realm="orders", error="invalid_token", error_description="token expired"',
    );
    expect(
      new InsufficientScopeError('missing required scope', { scope: ['a', 'b'] }).headers['WWW-Authenticate'],
    ).toBe('Bearer realm="api", error="insufficient_scope", error_description="missing required scope", scope="a b"');
  });

  it('sets Retry-After on 503, rounded up to whole seconds', () => {
    const error = new ServiceUnavailableError('keys unavailable', { retryAfter: 2.1 });
    expect(error.headers['Retry-After']).toBe('3');
    expect(error.retryAfter).toBe(3);
    expect(error.headers['WWW-Authenticate']).toBe('Bearer realm="api"');
  });

  it('replaces characters RFC 6750 forbids, so a header can never be split', () => {
    const error = new InvalidTokenError('bad "alg"\r\nSet-Cookie: x=1 \\ é');
    expect(error.description).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/);
    expect(error.headers['WWW-Authenticate']).not.toMatch(/[\r\n]/);
  });

  it('serialises to the RFC 6750 JSON body', () => {
    expect(new InvalidTokenError('token expired').toJSON()).toEqual({
      error: 'invalid_token',
      error_description: 'token expired',
    });
    expect(new UnauthorizedError().toJSON()).toEqual({
      error: 'unauthorized',
      error_description: 'authentication required',
    });
  });

  it('is not fooled by other errors', () => {
    expect(isM2MError(new Error('x'))).toBe(false);
    expect(isM2MError(createError(401))).toBe(false);
  });
});

describe('error classes: http-errors, hierarchy, reasons', () => {
  it('are real http-errors errors', () => {
    for (const error of [new InvalidTokenError('x'), new ServiceUnavailableError(), new InvalidDPoPProofError()]) {
      expect(error).toBeInstanceOf(createError.HttpError);
      expect(createError.isHttpError(error)).toBe(true);
    }
  });

  it("extend UnauthorizedError as express-oauth2-jwt-bearer's do, so a migrated instanceof still catches them", () => {
    for (const error of [
      new InvalidRequestError(),
      new InvalidTokenError(),
      new InsufficientScopeError(),
      new InvalidDPoPProofError(),
      new UseDPoPNonceError('DPoP nonce required', { nonce: 'n' }),
    ]) {
      expect(error).toBeInstanceOf(UnauthorizedError);
    }
    expect(new ServiceUnavailableError()).not.toBeInstanceOf(UnauthorizedError);
  });

  it('carry a stable reason (a default per class, or the one given) and details for logs only', () => {
    expect(new UnauthorizedError().reason).toBe('missing_token');
    expect(new InvalidRequestError().reason).toBe('malformed_request');
    expect(new ServiceUnavailableError().reason).toBe('keys_unavailable');
    const error = new InvalidTokenError('unexpected audience', {
      reason: 'unexpected_audience',
      details: { claim: 'aud', expected: ['a'], actual: 'x'.repeat(500) },
    });
    expect(error.reason).toBe('unexpected_audience');
    expect((error.details?.actual as string).length).toBe(200);
    expect(JSON.stringify(error.toJSON())).not.toContain('xxxx');
    expect(error.headers['WWW-Authenticate']).not.toContain('unexpected_audience');
  });

  it('render DPoP challenges with algs, and use_dpop_nonce with its DPoP-Nonce header', () => {
    const proof = new InvalidDPoPProofError('DPoP proof replayed', { scheme: 'DPoP', algs: ['ES256', 'EdDSA'] });
    expect(proof.status).toBe(401);
    expect(proof.code).toBe('invalid_dpop_proof');
    expect(proof.headers['WWW-Authenticate']).toBe(
      'DPoP realm="api", error="invalid_dpop_proof", error_description="DPoP proof replayed", algs="ES256 EdDSA"',
    );
    const nonce = new UseDPoPNonceError('DPoP nonce required', { nonce: 'abc', scheme: 'DPoP', algs: ['ES256'] });
    expect(nonce.code).toBe('use_dpop_nonce');
    expect(nonce.headers['DPoP-Nonce']).toBe('abc');
  });

  it('add resource_metadata to 401 challenges only', () => {
    const resourceMetadata = 'https://api.example.com/.well-known/oauth-protected-resource';
    expect(new InvalidTokenError('x', { resourceMetadata }).headers['WWW-Authenticate']).toContain(
      `resource_metadata="${resourceMetadata}"`,
    );
    expect(new InsufficientScopeError('x', { resourceMetadata }).headers['WWW-Authenticate']).not.toContain(
      'resource_metadata',
    );
  });

  it.each([NaN, Infinity, -5, 'soon' as never, 1e12])('never sends an invalid Retry-After (%p)', (retryAfter) => {
    const value = new ServiceUnavailableError('x', { retryAfter }).headers['Retry-After'] as string;
    expect(value).toMatch(/^[1-9][0-9]*$/);
    expect(Number(value)).toBeLessThanOrEqual(86400);
  });

  it("keep their stack to one line for 4xx, so Express's default logging stays short", () => {
    expect(new InvalidTokenError('token expired').stack).toBe('InvalidTokenError: token expired');
  });
});

describe('OAuth character classes', () => {
  it('NQSCHAR allows printable ASCII and space except `"` and `\\`; NQCHAR also refuses the space', () => {
    const text = runOf(NQSCHAR, 0);
    const token = runOf(NQCHAR, 1);
    expect(text.test('insufficient scope: read:orders ~!#')).toBe(true);
    expect(token.test('read:orders')).toBe(true);
    for (const bad of ['a"b', 'a\\b', 'tab\there', 'é', 'line\nbreak']) {
      expect(text.test(bad)).toBe(false);
      expect(token.test(bad)).toBe(false);
    }
    expect(token.test('two words')).toBe(false);
    expect(token.test('')).toBe(false);
    expect(runOf(NQCHAR, 1, 3).test('abcd')).toBe(false);
  });
});
