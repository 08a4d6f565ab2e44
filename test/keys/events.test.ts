import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import diagnostics from 'node:diagnostics_channel';
import { createEventSink, type KeySetEvent } from '../../src/keys/events.js';
import { JWKS_CHANNEL } from '../../src/diagnostics.js';
import { createVerifier } from '../../src/index.js';
import { Verifier } from '../../src/verifier.js';
import { resolveOptions } from '../../src/options/resolve.js';
import { createTestIssuer } from '../../src/testing/index.js';
import { startServer } from '../helpers/servers.js';
import { manualClock } from '../helpers/time.js';

const AUDIENCE = 'https://api.example.com';
const failed = (servingStale: boolean): KeySetEvent => ({
  type: 'fetch_failed',
  resource: 'jwks',
  url: 'https://issuer.example.com/jwks',
  error: new Error('https://issuer.example.com/jwks: HTTP 404'),
  servingStale,
});

let warnings: { message: string; options: unknown }[];
let spy: ReturnType<typeof jest.spyOn>;

beforeEach(() => {
  warnings = [];
  spy = jest.spyOn(process, 'emitWarning').mockImplementation(((message: string | Error, options?: unknown) => {
    warnings.push({ message: String(message), options });
  }) as typeof process.emitWarning);
});
afterEach(() => {
  spy.mockRestore();
});

describe('createEventSink without onEvent', () => {
  it('turns a failure with nothing to serve into an ExpressM2MWarning, once per cooldown', () => {
    const clock = manualClock();
    const sink = createEventSink(undefined, 30, clock.now);
    sink.report(failed(false));
    sink.report(failed(false));
    expect(warnings).toEqual([
      {
        message:
          'express-m2m: no signing keys: https://issuer.example.com/jwks: HTTP 404 (requests are answered 503 ' +
          'until this succeeds; set jwks.onEvent to handle these events yourself)',
        options: { type: 'ExpressM2MWarning', code: 'EXPRESS_M2M_KEYS_UNAVAILABLE' },
      },
    ]);
    clock.advance(29_999);
    sink.report(failed(false));
    expect(warnings).toHaveLength(1);
    clock.advance(1);
    sink.report(failed(false));
    expect(warnings).toHaveLength(2);
  });

  it('warns when the key set is past maxStale, but not for routine events or a failure served stale', () => {
    const sink = createEventSink(undefined, 30, manualClock().now);
    sink.report({ type: 'fetched', resource: 'jwks', url: 'https://issuer.example.com/jwks', keys: 2 });
    sink.report({ type: 'serving_stale', url: 'https://issuer.example.com/jwks', age: 700 });
    sink.report(failed(true));
    expect(warnings).toEqual([]);
    sink.report({ type: 'max_stale_exceeded', url: 'https://issuer.example.com/jwks', age: 90_000 });
    expect(warnings.map((w) => w.message)).toEqual([
      'express-m2m: the key set from https://issuer.example.com/jwks could not be refreshed for 90000 s, longer ' +
        'than jwks.maxStale allows; requests are answered 503',
    ]);
  });
});

describe('createEventSink with onEvent', () => {
  it('hands every event to the hook and emits no warning; a throwing hook is contained', () => {
    const seen: KeySetEvent[] = [];
    const sink = createEventSink((event) => seen.push(event), 30, manualClock().now);
    sink.report(failed(false));
    sink.report(failed(false));
    expect(seen).toHaveLength(2);
    expect(warnings).toEqual([]);
    const throwing = createEventSink(() => {
      throw new Error('logger down');
    }, 30);
    expect(() => throwing.report(failed(false))).not.toThrow();
    expect(warnings).toEqual([]);
  });
});

describe('the express-m2m:jwks channel', () => {
  it('publishes every event, with or without onEvent', () => {
    const published: unknown[] = [];
    const listener = (message: unknown) => published.push(message);
    diagnostics.subscribe(JWKS_CHANNEL, listener);
    try {
      createEventSink(undefined, 30).report(failed(false));
      createEventSink(() => undefined, 30).report(failed(true));
    } finally {
      diagnostics.unsubscribe(JWKS_CHANNEL, listener);
    }
    expect(published).toEqual([failed(false), failed(true)]);
  });

  it("carries a verifier's discovery and key-set fetches", async () => {
    const issuer = await createTestIssuer();
    const published: KeySetEvent[] = [];
    const listener = (message: unknown) => published.push(message as KeySetEvent);
    diagnostics.subscribe(JWKS_CHANNEL, listener);
    try {
      await createVerifier({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE }).ready();
    } finally {
      diagnostics.unsubscribe(JWKS_CHANNEL, listener);
      await issuer.close();
    }
    expect(published).toEqual([
      { type: 'fetched', resource: 'discovery', url: `${issuer.issuerBaseURL}/.well-known/openid-configuration` },
      { type: 'fetched', resource: 'jwks', url: issuer.jwksUri, keys: 2 },
    ]);
  });
});

describe('a misconfigured issuer is visible without any hook', () => {
  it('warns with every URL tried and the cause, once per cooldown however many requests fail', async () => {
    const closed = await startServer(() => undefined);
    await closed.close();
    const clock = manualClock();
    const verifier = new Verifier(
      resolveOptions({ issuerBaseURL: closed.url, audience: AUDIENCE, jwks: { cooldown: 30 } }, {}),
      clock.now,
    );
    const issuer = await createTestIssuer();
    const token = await issuer.mint({ iss: `${closed.url}/` });
    await issuer.close();
    await expect(verifier.ready()).rejects.toThrow(/ECONNREFUSED/);
    for (let i = 0; i < 5; i++) await expect(verifier.verify(token)).rejects.toMatchObject({ status: 503 });
    expect(warnings.map((w) => w.message)).toEqual([
      `express-m2m: no signing keys: discovery failed for ${closed.url}: ${closed.url}/.well-known/openid-configuration ` +
        `and ${closed.url}/.well-known/oauth-authorization-server: ECONNREFUSED (requests are answered 503 until this ` +
        'succeeds; set jwks.onEvent to handle these events yourself)',
    ]);
    clock.advance(30_000);
    await expect(verifier.verify(token)).rejects.toMatchObject({ status: 503 });
    expect(warnings).toHaveLength(2);
  });

  it('stays silent with jwks.onEvent, which receives the failures instead', async () => {
    const closed = await startServer(() => undefined);
    await closed.close();
    const seen: KeySetEvent[] = [];
    const verifier = createVerifier({
      issuer: 'https://issuer.example.com/',
      jwksUri: `${closed.url}/jwks`,
      audience: AUDIENCE,
      jwks: { onEvent: (event) => seen.push(event) },
    });
    await expect(verifier.ready()).rejects.toThrow(`${closed.url}/jwks: ECONNREFUSED`);
    expect(warnings).toEqual([]);
    expect(seen).toEqual([expect.objectContaining({ type: 'fetch_failed', resource: 'jwks', servingStale: false })]);
  });
});
