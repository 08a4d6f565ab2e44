import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { m2mErrorHandler, requireM2M, type M2MError } from '../../src/index.js';
import { createIssuerRegistry } from '../../src/issuers/registry.js';
import { resolveOptions } from '../../src/options/resolve.js';
import type { IssuerConfig, IssuerResolver, VerifierOptions } from '../../src/options/types.js';
import { Refusal } from '../../src/refusal.js';
import { Verifier } from '../../src/verifier.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';
import { json, startServer, type StubServer } from '../helpers/servers.js';
import { manualClock } from '../helpers/time.js';

const AUDIENCE = 'https://api.example.com';
let tenantA: TestIssuer;
let tenantB: TestIssuer;

beforeAll(async () => {
  [tenantA, tenantB] = await Promise.all([createTestIssuer(), createTestIssuer()]);
});
afterAll(async () => {
  await Promise.all([tenantA.close(), tenantB.close()]);
});
afterEach(() => {
  tenantA.resetCounts();
  tenantB.resetCounts();
});

/** A resolver knowing `tenants`, counting its calls per iss. */
function countingResolver(tenants: TestIssuer[]): { resolve: IssuerResolver; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const resolve: IssuerResolver = async (iss) => {
    calls.set(iss, (calls.get(iss) ?? 0) + 1);
    return tenants.some((t) => t.issuer === iss) ? { issuerBaseURL: iss } : undefined;
  };
  return { resolve, calls };
}

function verifierWith(options: VerifierOptions, now = Date.now): Verifier {
  return new Verifier(resolveOptions({ audience: AUDIENCE, ...options }, {}), now);
}

function registryWith(resolve: IssuerResolver, now = Date.now) {
  const resolved = resolveOptions({ audience: AUDIENCE, issuers: resolve }, {});
  return createIssuerRegistry(
    resolved.issuers,
    resolved.issuerDefaults,
    { clockTolerance: 5, requiredClaims: ['exp'] },
    now,
  );
}

describe('an issuer resolver', () => {
  it('is called once per distinct iss at a time, concurrent tokens sharing the answer', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { resolve, calls } = countingResolver([tenantA, tenantB]);
    const verifier = verifierWith({
      issuers: async (iss) => {
        await gate;
        return resolve(iss);
      },
    });
    const tokensA = await Promise.all(Array.from({ length: 20 }, (_, i) => tenantA.mint({}, { clientId: `a${i}` })));
    const tokenB = await tenantB.mint();
    const pending = Promise.all([...tokensA, tokenB].map((token) => verifier.verify(token)));
    release();
    const results = await pending;
    expect(results.map((auth) => auth.issuer)).toEqual([...tokensA.map(() => tenantA.issuer), tenantB.issuer]);
    expect(Object.fromEntries(calls)).toEqual({ [tenantA.issuer]: 1, [tenantB.issuer]: 1 });
    expect(tenantA.requestCounts).toMatchObject({ discovery: 1, jwks: 1 });
  });

  it('caches its answers: later tokens of a known issuer do not call it again', async () => {
    const { resolve, calls } = countingResolver([tenantA]);
    const verifier = verifierWith({ issuers: resolve });
    for (let i = 0; i < 5; i++) await verifier.verify(await tenantA.mint({}, { clientId: `c${i}` }));
    expect(calls.get(tenantA.issuer)).toBe(1);
  });

  it('caches an undefined answer (401 unexpected_issuer) until the cooldown is over', async () => {
    const clock = manualClock();
    const { resolve, calls } = countingResolver([]);
    const verifier = verifierWith({ issuers: resolve, jwks: { cooldown: 30 } }, clock.now);
    const token = await tenantA.mint();
    for (let i = 0; i < 3; i++) {
      await expect(verifier.verify(token)).rejects.toMatchObject({ status: 401, reason: 'unexpected_issuer' });
    }
    expect(calls.get(tenantA.issuer)).toBe(1);
    clock.advance(29_999);
    await expect(verifier.verify(token)).rejects.toMatchObject({ reason: 'unexpected_issuer' });
    expect(calls.get(tenantA.issuer)).toBe(1);
    clock.advance(1);
    await expect(verifier.verify(token)).rejects.toMatchObject({ reason: 'unexpected_issuer' });
    expect(calls.get(tenantA.issuer)).toBe(2);
    expect(tenantA.requestCounts).toMatchObject({ discovery: 0, jwks: 0 });
  });

  it('answers 503 while a resolved tenant cannot be reached, and recovers without asking the resolver again', async () => {
    let healthy = false;
    const tenant: StubServer = await startServer((req, res) => {
      if (!healthy) return json(res, {}, 500);
      if (req.url === '/.well-known/openid-configuration') {
        return json(res, { issuer: `${tenant.url}/`, jwks_uri: `${tenant.url}/jwks` });
      }
      json(res, tenantA.publicJwks());
    });
    try {
      const clock = manualClock();
      const calls: string[] = [];
      const verifier = verifierWith(
        {
          jwks: { cooldown: 30, onEvent: () => undefined },
          issuers: async (iss) => {
            calls.push(iss);
            return { issuerBaseURL: iss };
          },
        },
        clock.now,
      );
      const token = await tenantA.mint({ iss: `${tenant.url}/` });
      await expect(verifier.verify(token)).rejects.toMatchObject({ status: 503, reason: 'keys_unavailable' });
      const attempts = () => tenant.hits.get('/.well-known/openid-configuration') ?? 0;
      expect(attempts()).toBe(1);
      healthy = true;
      // Within the cooldown: still 503, no request, and the resolver's answer is reused.
      await expect(verifier.verify(token)).rejects.toMatchObject({ status: 503 });
      expect(attempts()).toBe(1);
      clock.advance(30_000);
      await expect(verifier.verify(token)).resolves.toMatchObject({ issuer: `${tenant.url}/` });
      expect(calls).toEqual([`${tenant.url}/`]);
    } finally {
      await tenant.close();
    }
  });

  it('keeps real issuers cached however many made-up iss values it refuses', async () => {
    const { resolve, calls } = countingResolver([tenantA]);
    const registry = registryWith(resolve);
    const context = await registry.select(tenantA.issuer);
    // More made-up values than either cache holds (1,000).
    for (let i = 0; i < 1500; i++) {
      await expect(registry.select(`https://made-up-${i}.example.com/`)).rejects.toBeInstanceOf(Refusal);
    }
    // Answered from the cache, synchronously, without a second call.
    expect(registry.select(tenantA.issuer)).toBe(context);
    expect(calls.get(tenantA.issuer)).toBe(1);
    expect(calls.size).toBe(1501);
  });

  it('is never called with an iss over 2,048 characters or one that is not an http(s) URL', async () => {
    const { resolve, calls } = countingResolver([]);
    const registry = registryWith(resolve);
    const long = `https://tenant.example.com/${'a'.repeat(2048)}`;
    const rejected = [
      long,
      'urn:example:issuer',
      'ftp://tenant.example.com/',
      'javascript:alert(1)//',
      'file:///etc/passwd',
      'https:/tenant.example.com',
      'https://',
      'http://[::1',
      'tenant.example.com',
      '',
      42,
      null,
      { iss: 'https://tenant.example.com/' },
    ];
    for (const iss of rejected) expect(() => registry.select(iss)).toThrow(Refusal);
    expect(calls.size).toBe(0);
    // 2,048 characters exactly is still asked.
    const longest = `https://t.example.com/${'a'.repeat(2048 - 'https://t.example.com/'.length)}`;
    await expect(registry.select(longest)).rejects.toMatchObject({ reason: 'unexpected_issuer' });
    expect(calls.get(longest)).toBe(1);
  });
});

describe(`a failing resolver (Express ${expressMajor})`, () => {
  async function callWith(resolver: (iss: string) => unknown) {
    const seen: M2MError[] = [];
    const app = express();
    app.use(requireM2M({ audience: AUDIENCE, issuers: resolver as IssuerResolver }));
    app.get('/orders', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(m2mErrorHandler({ onError: (error) => seen.push(error) }));
    const res = await request(app)
      .get('/orders')
      .set('Authorization', `Bearer ${await tenantA.mint()}`);
    return { res, error: seen[0] };
  }

  it('answers 503 temporarily_unavailable when it throws, the error kept as the cause for logs', async () => {
    const { res, error } = await callWith(async () => {
      throw new Error('tenant database unreachable');
    });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: 'issuer lookup failed' });
    expect(JSON.stringify(res.body)).not.toContain('database');
    expect(error?.reason).toBe('keys_unavailable');
    expect((error?.cause as Error).message).toBe('tenant database unreachable');
  });

  it.each<[string, unknown, RegExp]>([
    ['a string', 'https://tenant.example.com', /must return an issuer entry object or undefined/],
    ['null', null, /must return an issuer entry object or undefined/],
    ['an array', [{ issuerBaseURL: 'https://tenant.example.com' }], /must return an issuer entry object/],
    ['an unknown option', { issuerBaseURL: 'https://tenant.example.com', tokenSigningAlg: 'RS256' }, /tokenSigningAlg/],
    ['no key source', { audience: AUDIENCE }, /issuer resolver/],
    ['a non-URL', { issuerBaseURL: 42 }, /issuerBaseURL/],
  ])('answers 503 for a garbage answer (%s), saying what is wrong in err.cause', async (_name, answer, message) => {
    const { res, error } = await callWith(async () => answer as IssuerConfig);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    expect(error?.cause).toBeInstanceOf(TypeError);
    expect((error?.cause as Error).message).toMatch(message);
    expect(tenantA.requestCounts).toMatchObject({ discovery: 0, jwks: 0 });
  });

  it('a synchronous throw is a 503 too, never a 500', async () => {
    const { res } = await callWith(() => {
      throw new Error('boom');
    });
    expect(res.status).toBe(503);
  });
});
