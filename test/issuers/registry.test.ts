import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createIssuerRegistry, type IssuerRegistry } from '../../src/issuers/registry.js';
import { resolveOptions } from '../../src/options/resolve.js';
import type { VerifierOptions } from '../../src/options/types.js';
import { Refusal } from '../../src/refusal.js';
import { Verifier } from '../../src/verifier.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { json, startServer } from '../helpers/servers.js';
import { manualClock } from '../helpers/time.js';

const AUDIENCE = 'https://api.example.com';
let issuer: TestIssuer;
/** Another authorization server, whose tokens nobody here trusts. */
let stranger: TestIssuer;

beforeAll(async () => {
  [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
});
afterAll(async () => {
  await Promise.all([issuer.close(), stranger.close()]);
});
afterEach(() => {
  issuer.resetCounts();
  stranger.resetCounts();
});

function verifierWith(options: VerifierOptions, now = Date.now): Verifier {
  return new Verifier(resolveOptions({ audience: AUDIENCE, ...options }, {}), now);
}

function registryWith(options: VerifierOptions, now = Date.now): IssuerRegistry {
  const resolved = resolveOptions({ audience: AUDIENCE, ...options }, {});
  return createIssuerRegistry(
    resolved.issuers,
    resolved.issuerDefaults,
    { clockTolerance: 5, requiredClaims: ['exp'] },
    now,
  );
}

function noRequests(...servers: TestIssuer[]): void {
  for (const server of servers)
    expect(server.requestCounts).toEqual({ discovery: 0, jwks: 0, token: 0, introspection: 0 });
}

describe('a list of issuers: the token’s iss picks the issuer before any key lookup', () => {
  it('refuses an iss that matches no issuer with 401 unexpected_issuer and no network request', async () => {
    const verifier = verifierWith({ issuers: [{ issuerBaseURL: issuer.issuerBaseURL }] });
    const error = await verifier.verify(await stranger.mint()).catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 401,
      code: 'invalid_token',
      reason: 'unexpected_issuer',
      description: 'unexpected issuer',
      details: { claim: 'iss', expected: [issuer.issuerBaseURL], actual: stranger.issuer },
    });
    noRequests(issuer, stranger);
  });

  it('refuses look-alikes of a configured tenant without any fetch, before and after discovery', async () => {
    const base = issuer.issuerBaseURL;
    const [scheme, rest] = [base.slice(0, 7), base.slice(7)];
    const lookAlikes = [
      `HTTP://${rest}/`,
      `Http://${rest}`,
      `${scheme}${rest.replace('127', '\uff11\uff12\uff17')}/`, // fullwidth digits, which URL parsing would fold
      `${base}/\u200b`,
      `${base}\u2215`, // division slash
      `\u04bbttp://${rest}/`, // Cyrillic shha for h
      `${base}@evil.example/`,
      `${scheme}evil@${rest}/`,
      `${scheme}${rest}:${rest.split(':')[1]}/`,
      `${base}//`,
      `${base}/.`,
      `${base}/?`,
      `${base}/#`,
      `${base}/\r\n`,
      `${base}\r\nx-injected: 1`,
      ` ${base}/`,
      `${base}/ `,
    ];
    const verifier = verifierWith({ issuers: [{ issuerBaseURL: base }] });
    for (const iss of lookAlikes) {
      await expect(verifier.verify(await issuer.mint({ iss }))).rejects.toMatchObject({
        status: 401,
        reason: 'unexpected_issuer',
      });
    }
    noRequests(issuer);
    // Once discovered, only the exact iss it gave is accepted; the look-alikes still fetch nothing.
    await verifier.ready();
    issuer.resetCounts();
    for (const iss of [...lookAlikes, base]) {
      await expect(verifier.verify(await issuer.mint({ iss }))).rejects.toMatchObject({ reason: 'unexpected_issuer' });
    }
    noRequests(issuer);
    await expect(verifier.verify(await issuer.mint())).resolves.toMatchObject({ issuer: issuer.issuer });
  });

  it('refuses a non-string, 100 KB or CR/LF iss synchronously: nothing is started', () => {
    const registry = registryWith({ issuers: [{ issuerBaseURL: issuer.issuerBaseURL }] });
    const base = issuer.issuerBaseURL;
    for (const iss of [42, null, true, [base], { href: base }, `${base}/${'a'.repeat(100 * 1024)}`, `${base}\n`]) {
      let thrown: unknown;
      try {
        registry.select(iss);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Refusal);
      expect((thrown as Refusal).reason).toBe('unexpected_issuer');
    }
    expect(() => registry.select(undefined)).toThrow('missing iss claim');
    noRequests(issuer);
  });

  it('a token with a 100 KB iss never gets that far: it is refused on size', async () => {
    const verifier = verifierWith({ issuers: [{ issuerBaseURL: issuer.issuerBaseURL }] });
    const token = await issuer.mint({ iss: `${issuer.issuerBaseURL}/${'a'.repeat(100 * 1024)}` });
    await expect(verifier.verify(token)).rejects.toMatchObject({ status: 400, reason: 'token_too_large' });
    noRequests(issuer);
  });

  it('an iss equal to the tenant URL, one trailing slash aside, triggers its discovery once per cooldown', async () => {
    const clock = manualClock();
    const verifier = verifierWith({ issuers: [{ issuerBaseURL: issuer.issuerBaseURL }] }, clock.now);
    // Without the slash: discovery runs, learns `base/`, and the slash-less iss is then refused.
    const bare = await issuer.mint({ iss: issuer.issuerBaseURL });
    await expect(Promise.all([verifier.verify(bare), verifier.verify(bare)])).rejects.toMatchObject({
      reason: 'unexpected_issuer',
    });
    expect(issuer.requestCounts.discovery).toBe(1);
    await expect(verifier.verify(bare)).rejects.toMatchObject({ reason: 'unexpected_issuer' });
    await expect(verifier.verify(await issuer.mint())).resolves.toMatchObject({ issuer: issuer.issuer });
    expect(issuer.requestCounts).toMatchObject({ discovery: 1, jwks: 1 });
  });

  it('a tenant that cannot be discovered is retried once per cooldown, however many tokens name it', async () => {
    const down = await startServer((_req, res) => json(res, {}, 500));
    try {
      const clock = manualClock();
      const verifier = verifierWith(
        { issuers: [{ issuerBaseURL: down.url }], jwks: { cooldown: 30, onEvent: () => undefined } },
        clock.now,
      );
      const token = await issuer.mint({ iss: `${down.url}/` });
      const attempts = () => down.hits.get('/.well-known/openid-configuration') ?? 0;
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => verifier.verify(token)));
      expect(results.every((r) => r.status === 'rejected' && (r.reason as { status: number }).status === 503)).toBe(
        true,
      );
      expect(attempts()).toBe(1);
      clock.advance(29_999);
      await expect(verifier.verify(token)).rejects.toMatchObject({ status: 503, headers: { 'Retry-After': '30' } });
      expect(attempts()).toBe(1);
      clock.advance(1);
      await expect(verifier.verify(token)).rejects.toMatchObject({ status: 503 });
      expect(attempts()).toBe(2);
    } finally {
      await down.close();
    }
  });

  it('an entry giving both issuerBaseURL and issuer expects that issuer', async () => {
    const verifier = verifierWith({
      issuers: [{ issuerBaseURL: issuer.issuerBaseURL, issuer: issuer.issuer }],
    });
    await expect(verifier.verify(await issuer.mint({ iss: issuer.issuerBaseURL }))).rejects.toMatchObject({
      reason: 'unexpected_issuer',
    });
    noRequests(issuer);
    await expect(verifier.verify(await issuer.mint())).resolves.toMatchObject({ issuer: issuer.issuer });
  });
});
