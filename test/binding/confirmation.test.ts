import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { isSha256Thumbprint, readConfirmation } from '../../src/binding/confirmation.js';

const digest = (text: string) => createHash('sha256').update(text).digest('base64url');
const JKT = digest('a key');
const X5T = digest('a certificate');

describe('readConfirmation', () => {
  it('reads no binding when the token has no cnf', () => {
    expect(readConfirmation({ sub: 'svc' })).toEqual({ valid: true });
  });

  it('reads cnf.jkt, cnf["x5t#S256"] and both together', () => {
    expect(readConfirmation({ cnf: { jkt: JKT } })).toEqual({ valid: true, jkt: JKT });
    expect(readConfirmation({ cnf: { 'x5t#S256': X5T } })).toEqual({ valid: true, x5t: X5T });
    expect(readConfirmation({ cnf: { jkt: JKT, 'x5t#S256': X5T } })).toEqual({ valid: true, jkt: JKT, x5t: X5T });
  });

  it('returns a frozen result', () => {
    expect(Object.isFrozen(readConfirmation({ cnf: { jkt: JKT } }))).toBe(true);
  });

  it.each([
    ['null', null],
    ['a string', JKT],
    ['an array', [JKT]],
    ['a number', 1],
    ['an empty object', {}],
  ])('refuses a cnf that is %s', (_name, cnf) => {
    expect(readConfirmation({ cnf })).toEqual({ valid: false });
  });

  it.each([
    ['too short', JKT.slice(0, 42)],
    ['too long', `${JKT}A`],
    ['padded', `${JKT}=`],
    ['standard base64', JKT.replace(/^./, '+')],
    ['stray bits in the last character', `${JKT.slice(0, 42)}B`],
    ['a hex digest', createHash('sha256').update('x').digest('hex')],
    ['empty', ''],
    ['a number', 42],
    ['null', null],
    ['an object', { value: JKT }],
  ])('refuses a jkt or x5t#S256 that is %s', (_name, value) => {
    expect(readConfirmation({ cnf: { jkt: value } })).toEqual({ valid: false });
    expect(readConfirmation({ cnf: { 'x5t#S256': value } })).toEqual({ valid: false });
    expect(readConfirmation({ cnf: { jkt: JKT, 'x5t#S256': value } })).toEqual({ valid: false });
  });

  it('refuses confirmation methods it cannot prove (jwk, kid, jku, x5t without #S256)', () => {
    expect(readConfirmation({ cnf: { jwk: { kty: 'EC' } } })).toEqual({ valid: false });
    expect(readConfirmation({ cnf: { jkt: JKT, kid: 'k1' } })).toEqual({ valid: false });
    expect(readConfirmation({ cnf: { jku: 'https://evil.example/jwks' } })).toEqual({ valid: false });
    expect(readConfirmation({ cnf: { x5t: X5T } })).toEqual({ valid: false });
    expect(readConfirmation({ cnf: { JKT } })).toEqual({ valid: false });
  });

  it('treats a __proto__ member parsed from JSON as an unknown method, not as inheritance', () => {
    const payload = JSON.parse(`{"cnf":{"__proto__":{"jkt":"${JKT}"}}}`) as Record<string, unknown>;
    expect(readConfirmation(payload)).toEqual({ valid: false });
  });

  it('recognises canonical SHA-256 thumbprints only', () => {
    expect(isSha256Thumbprint(JKT)).toBe(true);
    expect(isSha256Thumbprint(`${JKT.slice(0, 42)}B`)).toBe(false);
    expect(isSha256Thumbprint(undefined)).toBe(false);
  });
});
