import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import diagnostics from 'node:diagnostics_channel';
import type http from 'node:http';
import { VERIFY_CHANNEL, type VerifyTraceContext } from '../../src/diagnostics.js';
import { isM2MError } from '../../src/errors.js';
import { resolveOptions } from '../../src/options/resolve.js';
import type { IntrospectionOptions } from '../../src/options/types.js';
import { Verifier } from '../../src/verifier.js';
import { manualClock, type ManualClock } from '../helpers/time.js';
import {
  activeAnswer,
  AUDIENCE,
  sendJson,
  startStubAuthorizationServer,
  STUB_ISSUER,
  type StubAuthorizationServer,
} from './stub-server.js';

const TOKEN_A = 'opaque-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-0001';
let as: StubAuthorizationServer;
let clock: ManualClock;
/** Tokens the stub calls active, with the answer's lifetime. */
let active: Map<string, number>;

beforeAll(async () => {
  as = await startStubAuthorizationServer();
});
afterAll(() => as.close());
beforeEach(() => {
  as.received.length = 0;
  clock = manualClock();
  active = new Map([[TOKEN_A, 600]]);
  as.answer((res, params) => {
    const lifetime = active.get(params.get('token') ?? '');
    sendJson(res, lifetime === undefined ? { active: false } : activeAnswer(clock.now(), {}, lifetime));
  });
});

function verifierWith(introspection: Partial<IntrospectionOptions> = {}): Verifier {
  const options = resolveOptions(
    {
      issuer: STUB_ISSUER,
      publicKey: as.publicJwk,
      audience: AUDIENCE,
      introspection: { endpoint: as.endpoint, clientId: 'api', clientSecret: 's3cret', ...introspection },
    },
    {},
  );
  return new Verifier(options, clock.now);
}

async function status(verifier: Verifier, token: string): Promise<number> {
  try {
    await verifier.verify(token);
    return 200;
  } catch (error) {
    if (!isM2MError(error)) throw error;
    return error.status;
  }
}

describe('introspection answer cache', () => {
  it('reuses an active answer for cacheMaxAge, then asks again', async () => {
    const verifier = verifierWith({ cacheMaxAge: 30 });
    expect(await status(verifier, TOKEN_A)).toBe(200);
    clock.advance(29_000);
    expect(await status(verifier, TOKEN_A)).toBe(200);
    expect(as.received).toHaveLength(1);
    clock.advance(1_000);
    expect(await status(verifier, TOKEN_A)).toBe(200);
    expect(as.received).toHaveLength(2);
  });

  it('a token revoked at the server is refused once the active answer expires from the cache', async () => {
    const verifier = verifierWith({ cacheMaxAge: 10 });
    expect(await status(verifier, TOKEN_A)).toBe(200);
    active.delete(TOKEN_A);
    expect(await status(verifier, TOKEN_A)).toBe(200);
    clock.advance(10_000);
    expect(await status(verifier, TOKEN_A)).toBe(401);
  });

  it('with cacheMaxAge 0, every request asks', async () => {
    const verifier = verifierWith({ cacheMaxAge: 0 });
    expect(await status(verifier, TOKEN_A)).toBe(200);
    active.delete(TOKEN_A);
    expect(await status(verifier, TOKEN_A)).toBe(401);
    expect(as.received).toHaveLength(2);
  });

  it('never keeps an active answer past the token exp', async () => {
    active.set(TOKEN_A, 20);
    const verifier = verifierWith({ cacheMaxAge: 3600 });
    expect(await status(verifier, TOKEN_A)).toBe(200);
    clock.advance(19_000);
    expect(await status(verifier, TOKEN_A)).toBe(200);
    expect(as.received).toHaveLength(1);
    clock.advance(1_000);
    active.delete(TOKEN_A);
    expect(await status(verifier, TOKEN_A)).toBe(401);
    expect(as.received).toHaveLength(2);
  });

  it('reuses an inactive answer for 5 s', async () => {
    const verifier = verifierWith();
    const unknown = 'opaque-unknown-token-000000000000000000000000000000000000000000';
    expect(await status(verifier, unknown)).toBe(401);
    clock.advance(4_999);
    expect(await status(verifier, unknown)).toBe(401);
    expect(as.received).toHaveLength(1);
    clock.advance(1);
    active.set(unknown, 600);
    expect(await status(verifier, unknown)).toBe(200);
    expect(as.received).toHaveLength(2);
  });

  it('shares one introspection among concurrent requests for a token', async () => {
    const held: http.ServerResponse[] = [];
    as.answer((res) => held.push(res));
    const verifier = verifierWith();
    const results = Array.from({ length: 20 }, () => status(verifier, TOKEN_A));
    await new Promise<void>((resolve) => {
      const poll = (): void => (held.length > 0 ? resolve() : void setTimeout(poll, 2));
      poll();
    });
    for (const res of held) sendJson(res, activeAnswer(clock.now()));
    expect(await Promise.all(results)).toEqual(Array(20).fill(200));
    expect(as.received).toHaveLength(1);
  });

  it('a token sharing a cached token prefix or suffix never finds its entry', async () => {
    const verifier = verifierWith();
    expect(await status(verifier, TOKEN_A)).toBe(200);
    const probes = [`${TOKEN_A.slice(0, -1)}2`, `X${TOKEN_A.slice(1)}`, TOKEN_A.slice(0, -4), `${TOKEN_A}0`];
    for (const probe of probes) expect(await status(verifier, probe)).toBe(401);
    expect(as.received.map((r) => r.params.get('token'))).toEqual([TOKEN_A, ...probes]);
  });

  it('tells tracing subscribers when the answer cache answered', async () => {
    const contexts: VerifyTraceContext[] = [];
    const channel = diagnostics.tracingChannel<string, VerifyTraceContext>(VERIFY_CHANNEL);
    const record = (context: VerifyTraceContext): void => void contexts.push(context);
    channel.start.subscribe(record as never);
    try {
      const verifier = verifierWith();
      await verifier.verify(TOKEN_A);
      await verifier.verify(TOKEN_A);
    } finally {
      channel.start.unsubscribe(record as never);
    }
    expect(contexts.map(({ cached, clientId }) => ({ cached, clientId }))).toEqual([
      { cached: false, clientId: 'worker' },
      { cached: true, clientId: 'worker' },
    ]);
  });
});
