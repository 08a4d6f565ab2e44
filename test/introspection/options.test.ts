import { describe, expect, it } from '@jest/globals';
import { createVerifier, requireM2M } from '../../src/index.js';
import type { VerifierOptions } from '../../src/options/types.js';

const BASE = { issuerBaseURL: 'https://tenant.example.com', audience: 'https://api.example.com' };
const CLIENT = { clientId: 'api', clientSecret: 'a-secret-value' };

function problem(options: VerifierOptions): string {
  try {
    createVerifier(options);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error('expected a TypeError');
}

describe('introspection options', () => {
  it('is a known option of createVerifier and requireM2M, top-level and per issuer', () => {
    expect(() => createVerifier({ ...BASE, introspection: CLIENT })).not.toThrow();
    expect(() =>
      requireM2M({ ...BASE, introspection: { ...CLIENT, mode: 'always', cacheMaxAge: 3600 } }),
    ).not.toThrow();
    expect(() =>
      createVerifier({
        audience: BASE.audience,
        issuers: [{ issuerBaseURL: BASE.issuerBaseURL, introspection: CLIENT }],
      }),
    ).not.toThrow();
  });

  it('names an unknown member', () => {
    expect(problem({ ...BASE, introspection: { ...CLIENT, url: 'https://x' } as never })).toContain(
      'unknown option `introspection.url`',
    );
  });

  it('bounds cacheMaxAge to one hour, in seconds', () => {
    expect(problem({ ...BASE, introspection: { ...CLIENT, cacheMaxAge: 60_000 } })).toContain(
      '`introspection.cacheMaxAge` must be at most 3600 seconds (1 hour); durations are in seconds',
    );
  });

  it('checks mode, clientId and the credential without quoting it', () => {
    const message = problem({
      ...BASE,
      introspection: { clientSecret: 'a-secret-value', mode: 'sometimes' } as never,
    });
    expect(message).toContain("`introspection.mode` must be one of 'opaque', 'always'");
    expect(message).toContain('`introspection.clientId` is required');
    expect(problem({ ...BASE, introspection: { clientId: 'api' } })).toContain(
      '`introspection`: `clientSecret` is required for client_secret_post',
    );
    const both = problem({ ...BASE, introspection: { ...CLIENT, privateKey: 'not a key' } });
    expect(both).toContain('both `clientSecret` and `privateKey`');
    expect(both).not.toContain('a-secret-value');
  });

  it('needs an endpoint when the issuer is not discovered', () => {
    expect(
      problem({
        issuer: 'https://as.example.com/',
        jwksUri: 'https://as.example.com/jwks',
        audience: BASE.audience,
        introspection: CLIENT,
      }),
    ).toContain('`introspection.endpoint` is required');
    expect(problem({ ...BASE, introspection: { ...CLIENT, endpoint: 'ftp://x' } })).toContain(
      '`introspection.endpoint` must be an http(s) URL',
    );
  });

  it('with issuers, is set per entry: a top-level one is refused', () => {
    expect(
      problem({ audience: BASE.audience, issuers: [{ issuerBaseURL: BASE.issuerBaseURL }], introspection: CLIENT }),
    ).toContain('`issuers` cannot be combined with `introspection`');
    expect(
      problem({
        audience: BASE.audience,
        issuers: [{ issuerBaseURL: BASE.issuerBaseURL, introspection: { clientId: 'api' } }],
      }),
    ).toContain('`issuers[0].introspection`: `clientSecret` is required');
  });
});
