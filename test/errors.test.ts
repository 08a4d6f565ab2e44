import { describe, expect, it } from '@jest/globals';
import createError from 'http-errors';
import {
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  ServiceUnavailableError,
  UnauthorizedError,
  isM2MError,
} from '../src/errors.js';

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
