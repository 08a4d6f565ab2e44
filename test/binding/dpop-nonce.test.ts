import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createNonceSource } from '../../src/binding/dpop-nonce.js';

const SECRET = 'a-nonce-secret-of-at-least-32-bytes!!';
const NOW = 1_800_000_000;

describe('createNonceSource', () => {
  it('accepts its own nonce as fresh, then renew past half the lifetime, then invalid at the lifetime', () => {
    const nonces = createNonceSource({ secret: SECRET, lifetime: 300 });
    const nonce = nonces.issue(NOW);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{34}$/);
    expect(nonces.check(nonce, NOW)).toBe('fresh');
    expect(nonces.check(nonce, NOW + 149)).toBe('fresh');
    expect(nonces.check(nonce, NOW + 150)).toBe('renew');
    expect(nonces.check(nonce, NOW + 299)).toBe('renew');
    expect(nonces.check(nonce, NOW + 300)).toBe('invalid');
    expect(nonces.check(nonce, NOW + 1_000_000)).toBe('invalid');
  });

  it('defaults to a 300 s lifetime', () => {
    const nonces = createNonceSource({ secret: SECRET });
    const nonce = nonces.issue(NOW);
    expect(nonces.check(nonce, NOW + 299)).toBe('renew');
    expect(nonces.check(nonce, NOW + 300)).toBe('invalid');
  });

  it('is accepted by another instance sharing the secret, refused by one with another secret', () => {
    const nonce = createNonceSource({ secret: SECRET }).issue(NOW);
    expect(createNonceSource({ secret: Buffer.from(SECRET) }).check(nonce, NOW + 1)).toBe('fresh');
    expect(createNonceSource({ secret: `${SECRET}x` }).check(nonce, NOW + 1)).toBe('invalid');
  });

  it('tolerates 5 s of clock skew between instances, not more', () => {
    const nonces = createNonceSource({ secret: SECRET });
    expect(nonces.check(nonces.issue(NOW + 5), NOW)).toBe('fresh');
    expect(nonces.check(nonces.issue(NOW + 6), NOW)).toBe('invalid');
  });

  it('issues the same nonce within a second and a new one the next second', () => {
    const nonces = createNonceSource({ secret: SECRET });
    expect(nonces.issue(NOW + 0.9)).toBe(nonces.issue(NOW));
    expect(nonces.issue(NOW + 1)).not.toBe(nonces.issue(NOW));
  });

  it('refuses a forged issue time (the MAC covers it)', () => {
    const nonces = createNonceSource({ secret: SECRET });
    const bytes = Buffer.from(nonces.issue(NOW - 10_000), 'base64url');
    bytes.writeBigUInt64BE(BigInt(NOW), 1);
    expect(nonces.check(bytes.toString('base64url'), NOW)).toBe('invalid');
  });

  it('refuses a nonce re-encoded with stray bits in its last character', () => {
    const nonces = createNonceSource({ secret: SECRET });
    const nonce = nonces.issue(NOW);
    const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = digits.indexOf(nonce.slice(-1));
    const respelled = nonce.slice(0, -1) + digits[last ^ 1];
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(nonce, 'base64url'))).toBe(true);
    expect(nonces.check(respelled, NOW)).toBe('invalid');
  });

  it('never throws and says invalid for junk', () => {
    const nonces = createNonceSource({ secret: SECRET });
    for (const junk of [undefined, null, 42, {}, [], '', 'x'.repeat(34), 'x'.repeat(100_000), '🙂'.repeat(17)]) {
      expect(nonces.check(junk, NOW)).toBe('invalid');
    }
    expect(nonces.check(nonces.issue(NOW), Number.NaN)).toBe('invalid');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (junk) => nonces.check(junk, NOW) === 'invalid'),
      { numRuns: 500 },
    );
  });

  it.each([
    ['a short secret', { secret: 'x'.repeat(31) }],
    ['a short byte secret', { secret: new Uint8Array(31) }],
    ['a non-string secret', { secret: 42 as unknown as string }],
    ['a zero lifetime', { secret: SECRET, lifetime: 0 }],
    ['a negative lifetime', { secret: SECRET, lifetime: -1 }],
    ['a lifetime over an hour', { secret: SECRET, lifetime: 3601 }],
    ['an infinite lifetime', { secret: SECRET, lifetime: Infinity }],
    ['a string lifetime', { secret: SECRET, lifetime: '300' as unknown as number }],
  ])('throws a TypeError for %s', (_name, options) => {
    expect(() => createNonceSource(options)).toThrow(TypeError);
  });

  it('refuses to issue for a time that is not a non-negative number', () => {
    const nonces = createNonceSource({ secret: SECRET });
    for (const now of [Number.NaN, -1, Infinity]) expect(() => nonces.issue(now)).toThrow(TypeError);
  });

  it('counts a string secret in UTF-8 bytes', () => {
    expect(() => createNonceSource({ secret: 'é'.repeat(16) })).not.toThrow();
  });
});
