import { describe, expect, it } from '@jest/globals';
import { base64url, errors } from 'jose';
import { decodeBase64url, parseCompact } from '../../src/jwt/compact.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const token = (header: unknown, payload: unknown = { sub: 'x' }): string => `${b64(header)}.${b64(payload)}.c2ln`;

describe('parseCompact: decoded headers are remembered by their encoded form', () => {
  it('returns one frozen header object for every token carrying the same header', () => {
    const header = { alg: 'RS256', typ: 'JWT', kid: 'remembered', x5c: ['nested'] };
    const first = parseCompact(token(header, { n: 1 }));
    const second = parseCompact(token(header, { n: 2 }));
    expect(second.header).toBe(first.header);
    expect(first.header).toEqual(header);
    expect(Object.isFrozen(first.header)).toBe(true);
    expect(Object.isFrozen(first.header.x5c)).toBe(true);
    expect(second.encodedPayload).not.toBe(first.encodedPayload);
  });

  it('forgets them after 64 other headers, so the memory stays bounded', () => {
    const header = { alg: 'RS256', kid: 'evicted' };
    const first = parseCompact(token(header)).header;
    for (let i = 0; i < 64; i++) parseCompact(token({ alg: 'RS256', kid: `other-${i}` }));
    const again = parseCompact(token(header)).header;
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });

  it('does not keep long headers', () => {
    const header = { alg: 'RS256', kid: 'k'.repeat(600) };
    expect(parseCompact(token(header)).header).not.toBe(parseCompact(token(header)).header);
  });

  it('refuses a bad header every time, remembered or not', () => {
    const unencoded = token({ alg: 'RS256', crit: ['b64'], b64: false });
    for (let i = 0; i < 2; i++) expect(() => parseCompact(unencoded)).toThrow(errors.JWTInvalid);
    const noAlg = token({ typ: 'JWT' });
    for (let i = 0; i < 2; i++) expect(() => parseCompact(noAlg)).toThrow(errors.JWSInvalid);
  });
});

describe('decodeBase64url: every spelling jose accepts, decoded as jose decodes it', () => {
  it.each([
    'eyJhIjoxfQ',
    'eyJhIjoxfQ==',
    'eyJh IjoxfQ',
    'eyJhIjoxfQ=',
    'eyJ+IjoxfQ',
    'eyJ/IjoxfQ',
    'e',
    'eyJhIjoxfR',
    '',
  ])('%j', (input) => {
    let reference: Buffer | undefined;
    try {
      reference = Buffer.from(base64url.decode(input));
    } catch {
      reference = undefined;
    }
    expect(decodeBase64url(input)).toEqual(reference);
  });
});
