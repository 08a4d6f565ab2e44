import { describe, expect, it, jest } from '@jest/globals';
import { resolveOptions } from '../../src/options/resolve.js';
import type { IssuerSpec } from '../../src/options/issuer-config.js';

const base = { issuerBaseURL: 'https://tenant.example.com', audience: 'https://api.example.com' };
const SECRET = 'a-shared-secret-of-at-least-32-bytes';

/** The single issuer of a one-issuer configuration. */
function single(options: Parameters<typeof resolveOptions>[0], env: NodeJS.ProcessEnv = {}): IssuerSpec {
  const { issuers } = resolveOptions(options, env);
  if (typeof issuers === 'function' || issuers.length !== 1) throw new Error('expected one issuer');
  return issuers[0] as IssuerSpec;
}

describe('resolveOptions: defaults and environment', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveOptions(base, {});
    const issuer = single(base);
    expect(issuer.audience).toEqual(['https://api.example.com']);
    expect(issuer.algorithms).toEqual([
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
    expect(issuer.jwks).toMatchObject({
      cacheMaxAge: 600,
      cooldown: 30,
      timeout: 5,
      maxBytes: 1048576,
      maxStale: 86400,
    });
    expect(resolved.cacheMax).toBe(10000);
    expect(resolved.realm).toBe('api');
    expect(resolved.dpop).toMatchObject({ mode: 'allowed', maxAge: 60 });
    expect(resolved.dpop.algorithms[0]).toBe('ES256');
    expect(resolved.mtls.mode).toBe('allowed');
  });

  it('falls back to the environment', () => {
    const issuer = single(
      {},
      {
        ISSUER_BASE_URL: 'https://t.example.com',
        AUDIENCE: 'aud',
        ISSUER: 'https://t.example.com/',
        JWKS_URI: 'https://t.example.com/jwks',
      },
    );
    expect(issuer.source).toEqual({
      kind: 'jwks',
      issuer: 'https://t.example.com/',
      jwksUri: 'https://t.example.com/jwks',
    });
    expect(issuer.audience).toEqual(['aud']);
  });

  it('prefers options over the environment', () => {
    expect(single(base, { AUDIENCE: 'env-aud' }).audience).toEqual(['https://api.example.com']);
  });

  it('names the missing option and its environment variable', () => {
    expect(() => resolveOptions({ audience: 'a' }, {})).toThrow(/issuerBaseURL.*ISSUER_BASE_URL/);
    expect(() => resolveOptions({ issuer: 'https://i/', audience: 'a' }, {})).toThrow(/JWKS_URI/);
    expect(() => resolveOptions({ issuerBaseURL: 'https://i' }, {})).toThrow(/audience.*AUDIENCE/);
  });

  it('reports every problem in one message', () => {
    let message = '';
    try {
      resolveOptions({ clockTolerance: -1, realm: 'a"b' }, {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/4 configuration problems/);
    for (const part of [/no issuer configured/, /no audience configured/, /clockTolerance/, /realm/]) {
      expect(message).toMatch(part);
    }
  });

  it('hints at the missing scheme of a bare host name', () => {
    expect(() => resolveOptions({}, { ISSUER_BASE_URL: 'mytenant.auth0.com', AUDIENCE: 'a' })).toThrow(
      /ISSUER_BASE_URL.*did you mean https:\/\/mytenant\.auth0\.com\?/,
    );
  });

  it('accepts issuer + jwksUri without a base URL', () => {
    expect(() => resolveOptions({ issuer: 'https://i/', jwksUri: 'https://i/jwks', audience: 'a' }, {})).not.toThrow();
  });
});

describe('resolveOptions: algorithms and keys', () => {
  it('restricts algorithms to the key family', () => {
    expect(() => resolveOptions({ ...base, algorithms: ['none' as never] }, {})).toThrow(/"none" is never allowed/);
    expect(() => resolveOptions({ ...base, algorithms: ['HS256'] }, {})).toThrow(/without `secret`/);
    expect(() => resolveOptions({ ...base, secret: SECRET, algorithms: ['RS256'] }, {})).toThrow(/with `secret`/);
    expect(() => resolveOptions({ ...base, algorithms: [] }, {})).toThrow(/non-empty/);
    expect(single({ ...base, algorithms: ['ES256', 'ES256'] }).algorithms).toEqual(['ES256']);
  });

  it('uses HS256/384/512 and the base URL verbatim as issuer with a secret', () => {
    const issuer = single({ issuerBaseURL: 'https://t.example.com/', audience: 'a', secret: SECRET });
    expect(issuer.algorithms).toEqual(['HS256', 'HS384', 'HS512']);
    expect(issuer.source).toEqual({
      kind: 'secret',
      issuer: 'https://t.example.com/',
      secret: new TextEncoder().encode(SECRET),
    });
    expect(single({ audience: 'a', issuer: 'iss' }, { SECRET }).source.kind).toBe('secret');
  });

  it('refuses a secret without issuer, or with a JWKS', () => {
    expect(() => resolveOptions({ audience: 'a', secret: SECRET }, {})).toThrow(/with `secret`, set `issuer`/);
    expect(() => resolveOptions({ ...base, secret: SECRET, jwksUri: 'https://j' }, {})).toThrow(/cannot be combined/);
  });

  it('refuses a secret shorter than 32 bytes (RFC 7518 §3.2)', () => {
    expect(() => resolveOptions({ ...base, secret: 'short' }, {})).toThrow(/at least 32 bytes/);
    expect(() => resolveOptions({ ...base, secret: new Uint8Array(31) }, {})).toThrow(/at least 32 bytes/);
  });

  it('takes a static public key with an issuer, and refuses one without', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----';
    expect(single({ issuer: 'https://i/', publicKey: pem, audience: 'a' }).source.kind).toBe('publicKey');
    expect(() => resolveOptions({ publicKey: pem, audience: 'a' }, {})).toThrow(/with `publicKey`, set `issuer`/);
  });
});

describe('resolveOptions: validation', () => {
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
    [{ fetch: 'x' as never }, /fetch/],
    [{ revocations: {} as never }, /revocations/],
    [{ dpop: { mode: 'sometimes' as never } }, /dpop.mode/],
    [{ dpop: { algorithms: ['HS256'] } }, /dpop.algorithms/],
    [{ dpop: { nonce: { secret: 'short' } } }, /dpop.nonce.secret/],
    [{ dpop: { origin: 'https://api.example.com/path' } }, /dpop.origin/],
    [{ mtls: { mode: 'maybe' as never } }, /mtls.mode/],
  ])('refuses invalid option %p', (override, message) => {
    expect(() => resolveOptions({ ...base, ...override } as never, {})).toThrow(message);
  });

  it.each([
    [
      'jwks.cacheMaxAge',
      { jwks: { cacheMaxAge: 600_000 } },
      /at most 86400 seconds \(1 day\); durations are in seconds/,
    ],
    ['jwks.cooldown', { jwks: { cooldown: 30_000 } }, /at most 3600 seconds \(1 hour\)/],
    ['jwks.timeout', { jwks: { timeout: 5000 } }, /at most 300 seconds \(5 minutes\)/],
    ['jwks.maxStale', { jwks: { maxStale: 8 * 86400 } }, /at most 604800 seconds \(7 days\)/],
    ['clockTolerance', { clockTolerance: 301 }, /at most 300 seconds/],
    ['maxTokenAge', { maxTokenAge: 31 * 86400 }, /at most 2592000 seconds \(30 days\)/],
    ['dpop.maxAge', { dpop: { maxAge: 60_000 } }, /dpop.maxAge.*at most 300 seconds/],
    ['dpop.nonce.lifetime', { dpop: { nonce: { secret: SECRET, lifetime: 7200 } } }, /at most 3600 seconds/],
  ])('refuses %s above its bound, saying durations are seconds', (_name, override, message) => {
    expect(() => resolveOptions({ ...base, ...override } as never, {})).toThrow(message);
  });

  it('disables the token cache with cache: false', () => {
    expect(resolveOptions({ ...base, cache: false }, {}).cacheMax).toBe(0);
  });
});

describe('resolveOptions: unknown options and express-oauth2-jwt-bearer options', () => {
  it('refuses an unknown option by name, also nested', () => {
    expect(() => resolveOptions({ ...base, audiance: 'x' } as never, {})).toThrow(/unknown option `audiance`/);
    expect(() => resolveOptions({ ...base, jwks: { cacheMaxage: 1 } } as never, {})).toThrow(
      /unknown option `jwks.cacheMaxage`/,
    );
    expect(() => resolveOptions({ ...base, cache: { size: 1 } } as never, {})).toThrow(/unknown option `cache.size`/);
  });

  it.each([
    ['tokenSigningAlg', { tokenSigningAlg: 'RS256' }, /use `algorithms: \['RS256'\]`/],
    ['validators', { validators: { org_id: 'x' } }, /requireClaim/],
    ['cacheMaxAge', { cacheMaxAge: 600000 }, /jwks: \{ cacheMaxAge \}` in seconds/],
    ['timeoutDuration', { timeoutDuration: 5000 }, /jwks: \{ timeout \}` in seconds/],
    ['cooldownDuration', { cooldownDuration: 30000 }, /jwks: \{ cooldown \}` in seconds/],
    ['agent', { agent: {} }, /pass a `fetch`/],
    ['mcd', { mcd: {} }, /list the issuers in `issuers`/],
    ['getCertificate', { getCertificate: () => undefined }, /use `mtls: \{ getCertificate \}`/],
    ['dpop.enabled', { dpop: { enabled: true } }, /dpop: \{ mode: 'allowed' \}/],
    ['dpop.required', { dpop: { required: true } }, /dpop: \{ mode: 'required' \}/],
    ['dpop.iatOffset', { dpop: { iatOffset: 300 } }, /dpop: \{ maxAge \}/],
  ])("refuses express-oauth2-jwt-bearer's %s with what to use instead", (_name, override, message) => {
    expect(() => resolveOptions({ ...base, ...override } as never, {})).toThrow(message);
  });

  it('only warns, once, when TOKEN_SIGNING_ALG is set', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      resolveOptions(base, { TOKEN_SIGNING_ALG: 'RS256' });
      resolveOptions(base, { TOKEN_SIGNING_ALG: 'RS256' });
      const warnings = warn.mock.calls.filter(([message]) => String(message).includes('TOKEN_SIGNING_ALG'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.[1]).toMatchObject({ type: 'ExpressM2MWarning' });
    } finally {
      warn.mockRestore();
    }
  });
});

describe('resolveOptions: several issuers', () => {
  it('resolves each entry with its own key source, audience, algorithms and jwks settings', () => {
    const { issuers } = resolveOptions(
      {
        audience: 'https://api.example.com',
        jwks: { cooldown: 10 },
        issuers: [
          { issuerBaseURL: 'https://a.example.com' },
          { issuer: 'https://b.example.com/', jwksUri: 'https://b.example.com/keys', audience: 'b-aud' },
          { issuer: 'https://legacy.example.com/', secret: SECRET },
          { issuer: 'https://p.example.com/', publicKey: { keys: [] }, algorithms: ['ES256'], jwks: { cooldown: 5 } },
        ],
      },
      { ISSUER_BASE_URL: 'https://ignored.example.com', ISSUER: 'https://ignored.example.com/' },
    );
    if (typeof issuers === 'function') throw new Error('expected a list');
    expect(issuers.map((i) => i.source.kind)).toEqual(['discovery', 'jwks', 'secret', 'publicKey']);
    expect(issuers.map((i) => i.audience)).toEqual([
      ['https://api.example.com'],
      ['b-aud'],
      ['https://api.example.com'],
      ['https://api.example.com'],
    ]);
    expect(issuers[2]?.algorithms).toEqual(['HS256', 'HS384', 'HS512']);
    expect(issuers[3]?.algorithms).toEqual(['ES256']);
    expect(issuers.map((i) => i.jwks.cooldown)).toEqual([10, 10, 10, 5]);
  });

  it('refuses `issuers` mixed with top-level issuer options', () => {
    expect(() => resolveOptions({ ...base, issuers: [{ issuerBaseURL: 'https://a.example.com' }] }, {})).toThrow(
      /`issuers` cannot be combined with `issuerBaseURL`/,
    );
  });

  it('names the entry that is wrong', () => {
    expect(() =>
      resolveOptions({ audience: 'a', issuers: [{ issuerBaseURL: 'https://a' }, { issuer: 'x' }] }, {}),
    ).toThrow(/in `issuers\[1\]`/);
    expect(() =>
      resolveOptions({ audience: 'a', issuers: [{ issuerBaseURL: 'https://a', kid: 1 } as never] }, {}),
    ).toThrow(/unknown option `issuers\[0\].kid`/);
    expect(() => resolveOptions({ audience: 'a', issuers: [] }, {})).toThrow(/non-empty array/);
  });

  it('takes a resolver, which needs a global audience', () => {
    expect(typeof resolveOptions({ audience: 'a', issuers: async () => undefined }, {}).issuers).toBe('function');
    expect(() => resolveOptions({ issuers: async () => undefined }, {})).toThrow(/audience/);
    expect(typeof resolveOptions({ issuers: async () => undefined }, { AUDIENCE: 'a' }).issuers).toBe('function');
  });
});
