import { describe, expect, it } from '@jest/globals';
import { resolveOptions } from '../src/options.js';

const base = { issuerBaseURL: 'https://tenant.example.com', audience: 'https://api.example.com' };
const SECRET = 'a-shared-secret-of-at-least-32-bytes';

describe('resolveOptions', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveOptions(base, {});
    expect(resolved.audience).toEqual(['https://api.example.com']);
    expect(resolved.algorithms).toEqual([
      'RS256',
      'RS384',
      'RS512',
      'PS256',
      'PS384',
      'PS512',
      'ES256',
      'ES384',
      'ES512',
      'EdDSA',
    ]);
    expect(resolved.clockTolerance).toBe(5);
    expect(resolved.strict).toBe(false);
    expect(resolved.m2mOnly).toBe(true);
    expect(resolved.jwks).toMatchObject({ cacheMaxAge: 600, cooldown: 30, timeout: 5, maxBytes: 1048576 });
    expect(resolved.cacheMax).toBe(10000);
    expect(resolved.realm).toBe('api');
  });

  it('falls back to the environment', () => {
    const resolved = resolveOptions(
      {},
      {
        ISSUER_BASE_URL: 'https://t.example.com',
        AUDIENCE: 'aud',
        ISSUER: 'https://t.example.com/',
        JWKS_URI: 'https://t.example.com/jwks',
      },
    );
    expect(resolved).toMatchObject({
      issuerBaseURL: 'https://t.example.com',
      issuer: 'https://t.example.com/',
      jwksUri: 'https://t.example.com/jwks',
      audience: ['aud'],
    });
  });

  it('prefers options over the environment', () => {
    expect(resolveOptions(base, { AUDIENCE: 'env-aud' }).audience).toEqual(['https://api.example.com']);
  });

  it('names the missing option and its environment variable', () => {
    expect(() => resolveOptions({ audience: 'a' }, {})).toThrow(/issuerBaseURL.*ISSUER_BASE_URL/);
    expect(() => resolveOptions({ issuer: 'https://i/', audience: 'a' }, {})).toThrow(/JWKS_URI/);
    expect(() => resolveOptions({ issuerBaseURL: 'https://i' }, {})).toThrow(/audience.*AUDIENCE/);
  });

  it('accepts issuer + jwksUri without a base URL', () => {
    expect(() => resolveOptions({ issuer: 'https://i/', jwksUri: 'https://i/jwks', audience: 'a' }, {})).not.toThrow();
  });

  it('restricts algorithms to the key family', () => {
    expect(() => resolveOptions({ ...base, algorithms: ['none' as never] }, {})).toThrow(/"none" is never allowed/);
    expect(() => resolveOptions({ ...base, algorithms: ['HS256'] }, {})).toThrow(/without `secret`/);
    expect(() => resolveOptions({ ...base, secret: SECRET, algorithms: ['RS256'] }, {})).toThrow(/with `secret`/);
    expect(() => resolveOptions({ ...base, algorithms: [] }, {})).toThrow(/non-empty/);
    expect(resolveOptions({ ...base, algorithms: ['ES256', 'ES256'] }, {}).algorithms).toEqual(['ES256']);
  });

  it('uses HS256/384/512 and the base URL verbatim as issuer with a secret', () => {
    const resolved = resolveOptions({ issuerBaseURL: 'https://t.example.com/', audience: 'a', secret: SECRET }, {});
    expect(resolved.algorithms).toEqual(['HS256', 'HS384', 'HS512']);
    expect(resolved.issuer).toBe('https://t.example.com/');
    expect(resolved.secret).toEqual(new TextEncoder().encode(SECRET));
    expect(resolveOptions({ audience: 'a', issuer: 'iss' }, { SECRET }).secret).toBeDefined();
  });

  it('refuses a secret without issuer, or with a JWKS', () => {
    expect(() => resolveOptions({ audience: 'a', secret: SECRET }, {})).toThrow(/with `secret`, set `issuer`/);
    expect(() => resolveOptions({ ...base, secret: SECRET, jwksUri: 'https://j' }, {})).toThrow(/cannot be combined/);
  });

  it('refuses a secret shorter than 32 bytes (RFC 7518 §3.2)', () => {
    expect(() => resolveOptions({ ...base, secret: 'short' }, {})).toThrow(/at least 32 bytes/);
    expect(() => resolveOptions({ ...base, secret: new Uint8Array(31) }, {})).toThrow(/at least 32 bytes/);
    expect(resolveOptions({ ...base, secret: new Uint8Array(32) }, {}).secret).toHaveLength(32);
  });

  it.each([
    [{ issuerBaseURL: 'not a url' }, /not a valid URL/],
    [{ issuerBaseURL: 'ftp://x' }, /http\(s\) URL/],
    [{ issuerBaseURL: 'https://user:pass@tenant.example.com' }, /must not contain credentials/],
    [{ clockTolerance: -1 }, /clockTolerance/],
    [{ jwks: { timeout: 0 } }, /jwks.timeout/],
    [{ jwks: { maxBytes: 1.5 } }, /jwks.maxBytes/],
    [{ cache: { max: 0 } }, /cache.max/],
    [{ realm: 'a"b' }, /realm/],
    [{ allowedClients: [] }, /allowedClients/],
    [{ organization: [''] }, /organization/],
    [{ isM2M: 'yes' as never }, /isM2M/],
  ])('refuses invalid option %p', (override, message) => {
    expect(() => resolveOptions({ ...base, ...override } as never, {})).toThrow(message);
  });

  it('disables the token cache with cache: false', () => {
    expect(resolveOptions({ ...base, cache: false }, {}).cacheMax).toBe(0);
  });
});
