import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { KeySetEvent } from '../../src/keys/events.js';
import { resolveOptions } from '../../src/options/resolve.js';
import { Verifier } from '../../src/verifier.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { json, startServer, type StubServer } from '../helpers/servers.js';
import { eventually, manualClock, type ManualClock } from '../helpers/time.js';

const AUDIENCE = 'https://api.example.com';

/** Signs for the tenant before the move (keys at /keys-v1)… */
let before: TestIssuer;
/** …and after it (keys at /keys-v2): a new key store, as when a tenant moves its keys. */
let after: TestIssuer;
/** The tenant: metadata whose jwks_uri the test moves, and both key locations. */
let tenant: StubServer;
let jwksPath = '/keys-v1';
let metadataHealthy = true;

beforeAll(async () => {
  [before, after] = await Promise.all([createTestIssuer(), createTestIssuer()]);
  tenant = await startServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      if (!metadataHealthy) return json(res, {}, 503);
      return json(res, { issuer: `${tenant.url}/`, jwks_uri: `${tenant.url}${jwksPath}` });
    }
    if (req.url === '/keys-v1') return json(res, before.publicJwks());
    if (req.url === '/keys-v2') return json(res, after.publicJwks());
    json(res, {}, 404);
  });
});
afterAll(async () => {
  await Promise.all([before.close(), after.close(), tenant.close()]);
});
beforeEach(() => {
  jwksPath = '/keys-v1';
  metadataHealthy = true;
  tenant.hits.clear();
});

const hits = (path: string) => tenant.hits.get(path) ?? 0;

function verifierAt(clock: ManualClock, events: KeySetEvent[] = []): Verifier {
  return new Verifier(
    resolveOptions(
      {
        issuerBaseURL: tenant.url,
        audience: AUDIENCE,
        cache: false,
        jwks: { cacheMaxAge: 60, cooldown: 10, onEvent: (event) => events.push(event) },
      },
      {},
    ),
    clock.now,
  );
}

const mintBefore = () => before.mint({ iss: `${tenant.url}/` });
const mintAfter = () => after.mint({ iss: `${tenant.url}/` });

describe('a discovered key source follows a moved jwks_uri without a restart', () => {
  it('re-reads the metadata before an unknown-kid refetch', async () => {
    const clock = manualClock();
    const verifier = verifierAt(clock);
    await expect(verifier.verify(await mintBefore())).resolves.toBeDefined();
    expect([hits('/.well-known/openid-configuration'), hits('/keys-v1')]).toEqual([1, 1]);
    jwksPath = '/keys-v2';
    clock.advance(10_000);
    await expect(verifier.verify(await mintAfter())).resolves.toMatchObject({ issuer: `${tenant.url}/` });
    expect([hits('/.well-known/openid-configuration'), hits('/keys-v2')]).toEqual([2, 1]);
  });

  it('re-reads the metadata on the key set’s schedule (every cacheMaxAge)', async () => {
    const clock = manualClock();
    const events: KeySetEvent[] = [];
    const verifier = verifierAt(clock, events);
    await verifier.ready();
    jwksPath = '/keys-v2';
    clock.advance(60_000);
    // The refresh is due: this request is answered with the keys in hand while the refresh runs.
    await expect(verifier.verify(await mintBefore())).resolves.toBeDefined();
    await eventually(() => hits('/keys-v2') === 1, 5000, 'the scheduled refresh');
    expect(hits('/.well-known/openid-configuration')).toBe(2);
    expect(events.filter((e) => e.type === 'fetched').map((e) => e.url)).toEqual([
      `${tenant.url}/.well-known/openid-configuration`,
      `${tenant.url}/keys-v1`,
      `${tenant.url}/.well-known/openid-configuration`,
      `${tenant.url}/keys-v2`,
    ]);
    // Known at once now, no refetch needed for the new keys.
    await expect(verifier.verify(await mintAfter())).resolves.toBeDefined();
    expect(hits('/keys-v2')).toBe(1);
  });

  it('keeps the last jwks_uri when the metadata cannot be read during a refresh', async () => {
    const clock = manualClock();
    const events: KeySetEvent[] = [];
    const verifier = verifierAt(clock, events);
    await verifier.ready();
    metadataHealthy = false;
    clock.advance(10_000);
    // An unknown kid makes it refetch: the metadata fails, the key set is fetched from where it was.
    await expect(verifier.verify(await mintAfter())).rejects.toMatchObject({ status: 401 });
    expect(hits('/keys-v1')).toBe(2);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'fetch_failed', resource: 'discovery', url: tenant.url, servingStale: true }),
    );
    await expect(verifier.verify(await mintBefore())).resolves.toBeDefined();
  });
});
