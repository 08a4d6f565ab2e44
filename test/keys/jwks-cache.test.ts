import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { JWSHeaderParameters } from 'jose';
import { JwksCache, KeySetUnavailableError, type JwksCacheSettings } from '../../src/keys/jwks-cache.js';
import type { KeySetEvent } from '../../src/keys/events.js';
import { Verifier } from '../../src/verifier.js';
import { resolveOptions } from '../../src/options/resolve.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { json, startServer, type StubServer } from '../helpers/servers.js';
import { eventually, manualClock, type ManualClock } from '../helpers/time.js';

const AUDIENCE = 'https://api.example.com';
const SETTINGS: JwksCacheSettings = { cacheMaxAge: 600, cooldown: 30, timeout: 5, maxBytes: 65536, maxStale: 3600 };

let issuer: TestIssuer;
/** Serves the issuer's key set at /jwks while `healthy`, else 500; can hold answers until released. */
let jwks: StubServer;
let healthy = true;
let hold: Promise<void> | undefined;

beforeAll(async () => {
  issuer = await createTestIssuer();
  jwks = await startServer((_req, res) => {
    void (hold ?? Promise.resolve()).then(() => (healthy ? json(res, issuer.publicJwks()) : json(res, {}, 500)));
  });
});
afterAll(async () => {
  await Promise.all([issuer.close(), jwks.close()]);
});
beforeEach(() => {
  healthy = true;
  hold = undefined;
  jwks.hits.clear();
});

function fetches(): number {
  return jwks.hits.get('/jwks') ?? 0;
}

function cacheWith(clock: ManualClock, settings: Partial<JwksCacheSettings> = {}) {
  const events: KeySetEvent[] = [];
  const cache = new JwksCache(
    async () => `${jwks.url}/jwks`,
    { ...SETTINGS, ...settings },
    { report: (event) => events.push(event) },
    clock.now,
  );
  return { cache, events };
}

const current = (): JWSHeaderParameters => ({ alg: 'RS256', kid: issuer.currentKid() });
const unknown: JWSHeaderParameters = { alg: 'RS256', kid: 'no-such-key' };

describe('JwksCache', () => {
  it('shares one fetch among concurrent cold callers', async () => {
    const { cache, events } = cacheWith(manualClock());
    const keys = await Promise.all(Array.from({ length: 25 }, () => cache.getKey(current())));
    expect(new Set(keys).size).toBe(1);
    expect(fetches()).toBe(1);
    expect(events).toEqual([{ type: 'fetched', resource: 'jwks', url: `${jwks.url}/jwks`, keys: 2 }]);
  });

  it('refetches for an unknown kid at most once per cooldown, measured from the last fetch', async () => {
    const clock = manualClock();
    const { cache } = cacheWith(clock);
    await cache.getKey(current());
    clock.advance(29_999);
    await expect(cache.getKey(unknown)).rejects.toThrow('no applicable key found');
    expect(fetches()).toBe(1);
    clock.advance(1);
    await expect(Promise.all([cache.getKey(unknown), cache.getKey(unknown)])).rejects.toThrow();
    expect(fetches()).toBe(2);
    // The cooldown restarts at that refetch, not at the first fetch.
    clock.advance(29_999);
    await expect(cache.getKey(unknown)).rejects.toThrow();
    expect(fetches()).toBe(2);
    clock.advance(1);
    await expect(cache.getKey(unknown)).rejects.toThrow();
    expect(fetches()).toBe(3);
  });

  it('finds a rotated key through the unknown-kid refetch', async () => {
    const rotating = await createTestIssuer({ publishNextKey: false });
    try {
      const clock = manualClock();
      const cache = new JwksCache(async () => rotating.jwksUri, SETTINGS, { report: () => undefined }, clock.now);
      await cache.getKey({ alg: 'RS256', kid: rotating.currentKid() });
      await rotating.rotateKeys('RS256');
      clock.advance(30_000);
      const key = await cache.getKey({ alg: 'RS256', kid: rotating.currentKid() });
      expect(cache.keyId(key)).toBe(rotating.currentKid());
      expect(rotating.requestCounts.jwks).toBe(2);
    } finally {
      await rotating.close();
    }
  });

  it('refreshes after cacheMaxAge in the background, never making the request wait', async () => {
    const clock = manualClock();
    const { cache } = cacheWith(clock);
    const key = await cache.getKey(current());
    expect(cache.peekKey('RS256', issuer.currentKid())).toBe(key);
    clock.advance(600_000);
    // Due: no answer without getKey, which answers from the old set while the refresh runs.
    expect(cache.peekKey('RS256', issuer.currentKid())).toBeUndefined();
    let release!: () => void;
    hold = new Promise((resolve) => (release = resolve));
    await expect(cache.getKey(current())).resolves.toBe(key);
    await eventually(() => fetches() === 2, 5000, 'the background refresh to start');
    release();
    await eventually(() => cache.fetchedAt === clock.now(), 5000, 'the background refresh');
  });

  it('keeps serving the last good key set when a refresh fails (stale-if-error), reporting it', async () => {
    const clock = manualClock();
    const { cache, events } = cacheWith(clock);
    const key = await cache.getKey(current());
    healthy = false;
    clock.advance(600_000);
    await expect(cache.getKey(current())).resolves.toBe(key);
    await eventually(() => events.some((e) => e.type === 'fetch_failed'), 5000, 'the failed refresh');
    expect(events.slice(1)).toEqual([
      { type: 'serving_stale', url: `${jwks.url}/jwks`, age: 600 },
      expect.objectContaining({ type: 'fetch_failed', resource: 'jwks', servingStale: true }),
    ]);
    const failed = events[2] as Extract<KeySetEvent, { type: 'fetch_failed' }>;
    expect(failed.error.message).toBe(`${jwks.url}/jwks: HTTP 500`);
    // An unknown kid still gets a plain "no matching key", not a 503.
    clock.advance(30_000);
    await expect(cache.getKey(unknown)).rejects.toThrow('no applicable key found');
  });

  it('stops serving a key set past fetchedAt + cacheMaxAge + maxStale, then recovers when the issuer heals', async () => {
    const clock = manualClock();
    const { cache, events } = cacheWith(clock, { cacheMaxAge: 600, maxStale: 3600 });
    await cache.getKey(current());
    healthy = false;
    // Exactly at the limit the old set is still used...
    clock.advance((600 + 3600) * 1000);
    await expect(cache.getKey(current())).resolves.toBeDefined();
    await eventually(() => fetches() === 2, 5000, 'the failed refresh');
    // ...one millisecond later it is not.
    clock.advance(1);
    const error = await cache.getKey(current()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeySetUnavailableError);
    expect((error as Error).message).toBe('the key set could not be refreshed for longer than `jwks.maxStale`');
    // Reported at once, although a serving_stale report went out a millisecond earlier.
    expect(events.filter((e) => e.type === 'max_stale_exceeded')).toEqual([
      { type: 'max_stale_exceeded', url: `${jwks.url}/jwks`, age: 4200 },
    ]);
    // Within the cooldown: refused without a fetch and without a second event.
    await expect(cache.getKey(current())).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(fetches()).toBe(2);
    expect(events.filter((e) => e.type === 'max_stale_exceeded')).toHaveLength(1);
    healthy = true;
    clock.advance(30_000);
    await expect(cache.getKey(current())).resolves.toBeDefined();
    expect(cache.fetchedAt).toBe(clock.now());
  });

  it('ready() rejects with the cause on a cold start, and a cold failure is retried only after the cooldown', async () => {
    healthy = false;
    const clock = manualClock();
    const { cache, events } = cacheWith(clock);
    await expect(cache.ready()).rejects.toThrow(`${jwks.url}/jwks: HTTP 500`);
    expect(events).toEqual([expect.objectContaining({ type: 'fetch_failed', servingStale: false })]);
    await expect(cache.getKey(current())).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(fetches()).toBe(1);
    healthy = true;
    clock.advance(30_000);
    await expect(cache.getKey(current())).resolves.toBeDefined();
    expect(fetches()).toBe(2);
  });
});

describe('jwks.maxStale through a verifier', () => {
  it('answers 503 once the key set is too old to serve, reports max_stale_exceeded, and recovers', async () => {
    const clock = manualClock();
    const events: KeySetEvent[] = [];
    const verifier = new Verifier(
      resolveOptions(
        {
          issuer: issuer.issuer,
          jwksUri: `${jwks.url}/jwks`,
          audience: AUDIENCE,
          jwks: { cacheMaxAge: 60, cooldown: 10, maxStale: 120, onEvent: (event) => events.push(event) },
        },
        {},
      ),
      clock.now,
    );
    const token = await issuer.mint({}, { expiresIn: 3600 });
    await expect(verifier.verify(token)).resolves.toBeDefined();
    healthy = false;
    clock.advance(180_000);
    // Still within maxStale: the cached result expired with the key set's age, the old keys still serve.
    await expect(verifier.verify(token)).resolves.toBeDefined();
    await eventually(() => events.some((e) => e.type === 'fetch_failed'), 5000, 'the failed refresh');
    clock.advance(10_000);
    const error = await verifier.verify(token).catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 503,
      code: 'temporarily_unavailable',
      reason: 'keys_unavailable',
      headers: { 'Retry-After': '10' },
    });
    expect(events.map((e) => e.type)).toContain('max_stale_exceeded');
    healthy = true;
    clock.advance(10_000);
    await expect(verifier.verify(token)).resolves.toMatchObject({ issuer: issuer.issuer });
  });
});
