import { describe, expect, it } from '@jest/globals';
import { extractAccessToken, MAX_TOKEN_LENGTH, type BearerSources, type TokenLocation } from '../src/bearer.js';
import { toHttpError } from '../src/challenge.js';
import { InvalidRequestError } from '../src/errors.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
const FORM = 'application/x-www-form-urlencoded';

function extract(sources: BearerSources, locations: TokenLocation[] = ['header'], dpop = false): string | undefined {
  return extractAccessToken(sources, locations, dpop)?.token;
}

/** The HTTP error `requireM2M` answers with for a refused request. */
function rejection(sources: BearerSources, locations: TokenLocation[] = ['header'], dpop = false): InvalidRequestError {
  try {
    extract(sources, locations, dpop);
  } catch (error) {
    const http = toHttpError(error, { realm: 'api', dpopAlgorithms: [] });
    expect(http).toBeInstanceOf(InvalidRequestError);
    return http as InvalidRequestError;
  }
  throw new Error('expected an InvalidRequestError');
}

describe('extractAccessToken: Authorization header (RFC 6750 §2.1)', () => {
  it('returns the token of a Bearer header', () => {
    expect(extract({ authorization: `Bearer ${TOKEN}` })).toBe(TOKEN);
  });

  it.each(['bearer', 'BEARER', 'BeArEr'])('matches the scheme %s case-insensitively', (scheme) => {
    expect(extract({ authorization: `${scheme} ${TOKEN}` })).toBe(TOKEN);
  });

  it('accepts several spaces between scheme and token (RFC 7235 1*SP)', () => {
    expect(extract({ authorization: `Bearer   ${TOKEN}` })).toBe(TOKEN);
  });

  it('accepts b64token padding and the full b64token alphabet', () => {
    expect(extract({ authorization: 'Bearer aZ09-._~+/==' })).toBe('aZ09-._~+/==');
  });

  it('takes the single value of a one-element header list', () => {
    expect(extract({ authorization: [`Bearer ${TOKEN}`] })).toBe(TOKEN);
  });

  it('treats a missing header, an empty list and another scheme as no token', () => {
    expect(extract({})).toBeUndefined();
    expect(extract({ authorization: [] })).toBeUndefined();
    expect(extract({ authorization: 'Basic dXNlcjpwYXNz' })).toBeUndefined();
    expect(extract({ authorization: 'DPoP abc' })).toBeUndefined();
  });

  it.each([
    ['the scheme alone', 'Bearer'],
    ['the scheme and spaces', 'Bearer   '],
    ['a tab separator', `Bearer\t${TOKEN}`],
    ['a trailing comma', `Bearer ${TOKEN},`],
    ['two schemes', `Bearer ${TOKEN}, Basic abc`],
    ['an inner space', 'Bearer abc def'],
    ['padding in the middle', 'Bearer ab=c'],
    ['a quote', 'Bearer "abc"'],
    ['non-ASCII characters', 'Bearer abcé'],
  ])('refuses %s as invalid_request', (_name, authorization) => {
    const error = rejection({ authorization });
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request');
  });

  it('refuses more than one Authorization header', () => {
    expect(rejection({ authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] }).description).toBe(
      'more than one Authorization header',
    );
  });

  it('refuses a token over 16 KB before parsing it', () => {
    const error = rejection({ authorization: `Bearer ${'a'.repeat(MAX_TOKEN_LENGTH + 1)}` });
    expect(error.description).toBe('token too large');
    expect(error.reason).toBe('token_too_large');
    expect(extract({ authorization: `Bearer ${'a'.repeat(MAX_TOKEN_LENGTH)}` })).toHaveLength(MAX_TOKEN_LENGTH);
  });

  it('never echoes the token in the error', () => {
    const error = rejection({ authorization: 'Bearer secret"token' });
    expect(error.message).not.toContain('secret');
    expect(JSON.stringify(error.headers)).not.toContain('secret');
  });
});

describe('extractAccessToken: query and body (RFC 6750 §2.2, §2.3)', () => {
  it('ignores query and body unless their location is enabled', () => {
    expect(
      extract({ query: { access_token: TOKEN }, body: { access_token: TOKEN }, contentType: FORM }),
    ).toBeUndefined();
  });

  it('reads access_token from the query when enabled', () => {
    expect(extract({ query: { access_token: TOKEN } }, ['header', 'query'])).toBe(TOKEN);
  });

  it('reads access_token from a form body when enabled', () => {
    expect(extract({ body: { access_token: TOKEN }, contentType: `${FORM}; charset=utf-8` }, ['body'])).toBe(TOKEN);
  });

  it('ignores a body that is not form-encoded', () => {
    expect(extract({ body: { access_token: TOKEN }, contentType: 'application/json' }, ['body'])).toBeUndefined();
    expect(extract({ body: { access_token: TOKEN } }, ['body'])).toBeUndefined();
  });

  it('refuses a token sent in more than one place', () => {
    const error = rejection({ authorization: `Bearer ${TOKEN}`, query: { access_token: TOKEN } }, ['header', 'query']);
    expect(error.description).toBe('more than one method used to send the token');
    expect(
      rejection({ query: { access_token: TOKEN }, body: { access_token: TOKEN }, contentType: FORM }, ['query', 'body'])
        .code,
    ).toBe('invalid_request');
  });

  it.each([
    ['repeated', [TOKEN, TOKEN]],
    ['an object', { a: 1 }],
    ['empty', ''],
    ['not a b64token', 'a b'],
  ])('refuses an access_token parameter that is %s', (_name, value) => {
    expect(rejection({ query: { access_token: value } }, ['query']).code).toBe('invalid_request');
  });

  it('ignores inherited access_token properties', () => {
    const query = Object.create({ access_token: TOKEN }) as object;
    expect(extract({ query }, ['query'])).toBeUndefined();
  });
});

describe('extractAccessToken: the DPoP scheme (RFC 9449 §7.1)', () => {
  it('reads `DPoP <token>` with its scheme when DPoP is accepted, case-insensitively', () => {
    expect(extractAccessToken({ authorization: `DPoP ${TOKEN}` }, ['header'], true)).toEqual({
      token: TOKEN,
      scheme: 'DPoP',
    });
    expect(extractAccessToken({ authorization: `dpop ${TOKEN}` }, ['header'], true)?.scheme).toBe('DPoP');
    expect(extractAccessToken({ authorization: `Bearer ${TOKEN}` }, ['header'], true)?.scheme).toBe('Bearer');
  });

  it('treats the DPoP scheme as another scheme (no token) when DPoP is off', () => {
    expect(extractAccessToken({ authorization: `DPoP ${TOKEN}` }, ['header'], false)).toBeUndefined();
  });

  it.each([['DPoP'], ['DPoP   '], [`DPoP ${TOKEN},`], ['DPoP a b']])(
    'refuses %p as invalid_request',
    (authorization) => {
      expect(rejection({ authorization }, ['header'], true).code).toBe('invalid_request');
    },
  );
});
