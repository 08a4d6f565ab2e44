/**
 * In-process micro-benchmark (child process, IPC result): express-m2m's `verifier.verify()`
 * against bare `jose.jwtVerify` with a local key, and node:crypto's raw RS256 signature check
 * as the floor; then the CPU cost of hostile tokens (16 KB headers built to be expensive)
 * against a forged-signature check, the cost every attacker can already impose. The issuer is
 * an in-process server on 127.0.0.1; nothing external is fetched.
 *
 * argv[2]: JSON `{ seconds, rounds, tokens, concurrency: [1, 50], maxOtherCpu, retries, quietWait,
 * parts: ['throughput', 'hostile'] }`. Run directly (`npm run build && node bench/micro.mjs
 * '{"parts":["hostile"]}'`), it prints its result instead of sending it.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { createLocalJWKSet, importJWK, jwtVerify } from 'jose';
import { createVerifier } from '../dist/index.js';
import { createTestIssuer } from '../dist/testing/index.js';
import { measureForeignCpu, waitForQuiet } from './lib/cpu.mjs';
import { startIssuer } from './lib/issuer-server.mjs';
import { AUDIENCE, auth0Claims, clientId, createRsaKey, rs256Minter } from './lib/tokens.mjs';

const {
  seconds = 1,
  rounds = 3,
  tokens: tokenCount = 12_000,
  concurrency = [1, 50],
  maxOtherCpu = 1,
  retries = 0,
  quietWait = 0,
  parts = ['throughput', 'hostile'],
} = JSON.parse(process.argv[2] ?? '{}');
const progress = (text) => (process.send ? process.send({ type: 'progress', text }) : console.error(text));
const CACHE_FILL = 9_999; // one less than the default cache.max, so the hot token never evicts another

async function measure(fn, { seconds: duration, concurrency: width }) {
  // Warm-up: a fifth of the duration, at least 200 ms.
  const run = async (ms) => {
    let ops = 0;
    const end = performance.now() + ms;
    const lane = async () => {
      while (performance.now() < end) {
        await fn();
        ops++;
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: width }, lane));
    return ops / ((performance.now() - start) / 1000);
  };
  await run(Math.max(200, duration * 200));
  return run(duration * 1000);
}

/** Two verifiers of one opaque token through a test issuer's introspection endpoint: cached, and not. */
async function opaqueTokenVerifiers() {
  const credentials = { clientId: 'orders-api', clientSecret: 'introspection-secret-of-the-api' };
  const server = await createTestIssuer({ clients: [{ ...credentials, grants: {} }], publishNextKey: false });
  const token = await server.mint({}, { audience: AUDIENCE, format: 'opaque' });
  const options = (cacheMaxAge) => ({
    issuerBaseURL: server.issuerBaseURL,
    audience: AUDIENCE,
    introspection: { ...credentials, cacheMaxAge },
  });
  return {
    token,
    cached: createVerifier(options(60)),
    uncached: createVerifier(options(0)),
    close: () => server.close(),
  };
}

async function main() {
  const cleanups = [];
  const key = createRsaKey('micro-key');
  const issuer = await startIssuer({ jwks: { keys: [key.jwk] } });
  try {
    const mint = rs256Minter(key.privateKey, key.kid);
    const now = Math.floor(Date.now() / 1000);
    const same = mint(auth0Claims({ issuer: issuer.issuer, client: clientId(999_999), now }));
    progress(`micro: minting ${tokenCount} RS256 tokens`);
    const distinct = Array.from({ length: tokenCount }, (_, i) =>
      mint(auth0Claims({ issuer: issuer.issuer, client: clientId(i), now })),
    );
    let next = 0;
    const nextToken = () => distinct[next++ % distinct.length];

    const verifier = createVerifier({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE });
    await verifier.ready();
    const hostile = parts.includes('hostile') ? await measureHostile(verifier, mint, issuer.issuer) : undefined;
    if (!parts.includes('throughput')) return { hostile };
    const hotEmpty = createVerifier({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE });
    const hotFull = createVerifier({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE });
    const uncached = createVerifier({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, cache: false });
    await verifier.ready();
    await uncached.ready();
    await hotEmpty.ready();
    await hotFull.ready();
    // hotFull's cache is filled with 9,999 other tokens (its default cache.max is 10,000), then the hot one.
    progress('micro: filling a token cache');
    for (let i = 0; i < Math.min(CACHE_FILL, distinct.length); i++) await hotFull.verify(distinct[i]);
    await hotFull.verify(same);
    await hotEmpty.verify(same);
    const cryptoKey = await importJWK(key.jwk, 'RS256');
    const localSet = createLocalJWKSet({ keys: [key.jwk] });
    const keyObject = createPublicKey({ key: key.jwk, format: 'jwk' });
    const joseOptions = { issuer: issuer.issuer, audience: AUDIENCE, algorithms: ['RS256'], requiredClaims: ['exp'] };

    // Opaque tokens through RFC 7662 introspection at a test issuer on 127.0.0.1: an answer from
    // the cache, and a round trip on every call (cacheMaxAge 0).
    const introspected = await opaqueTokenVerifiers();
    cleanups.push(() => introspected.close());

    // Every contender must accept the tokens, or the numbers mean nothing.
    await verifier.verify(distinct[0]);
    await introspected.cached.verify(introspected.token);
    await introspected.uncached.verify(introspected.token);
    await jwtVerify(distinct[0], cryptoKey, joseOptions);

    // The tracing channel costs nothing without subscribers; with one (an APM agent, a metrics
    // recipe), this is its price on the cheapest path, a cached token.
    const verifyChannel = diagnostics.tracingChannel('express-m2m:verify');
    let traced = 0;
    const subscriber = {
      start: () => traced++,
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: () => undefined,
      error: () => undefined,
    };
    const cases = [
      { name: 'express-m2m verify(), same token, cache holding only it (hit)', fn: () => hotEmpty.verify(same) },
      {
        name: 'express-m2m verify(), same token (hit), a subscriber on the express-m2m:verify tracing channel',
        fn: () => hotEmpty.verify(same),
        setup: () => verifyChannel.subscribe(subscriber),
        teardown: () => verifyChannel.unsubscribe(subscriber),
      },
      { name: 'express-m2m verify(), same token, cache full: 10,000 entries (hit)', fn: () => hotFull.verify(same) },
      {
        name: `express-m2m verify(), distinct tokens (${tokenCount} in rotation, cache miss)`,
        fn: () => verifier.verify(nextToken()),
      },
      { name: 'express-m2m verify(), distinct tokens, cache: false', fn: () => uncached.verify(nextToken()) },
      {
        name: 'express-m2m verify(), opaque token, introspection answer cached',
        fn: () => introspected.cached.verify(introspected.token),
      },
      {
        name: 'express-m2m verify(), opaque token, introspected on every call (127.0.0.1 round trip)',
        fn: () => introspected.uncached.verify(introspected.token),
      },
      { name: 'jose.jwtVerify, local CryptoKey (importJWK)', fn: () => jwtVerify(nextToken(), cryptoKey, joseOptions) },
      { name: 'jose.jwtVerify, createLocalJWKSet', fn: () => jwtVerify(nextToken(), localSet, joseOptions) },
      {
        name: 'node:crypto verify(), RS256 signature only (KeyObject)',
        fn: () => {
          const token = nextToken();
          const dot = token.lastIndexOf('.');
          return cryptoVerify(
            'sha256',
            Buffer.from(token.slice(0, dot)),
            keyObject,
            Buffer.from(token.slice(dot + 1), 'base64url'),
          );
        },
      },
    ];
    // Cases are interleaved over `rounds` (A B C …, A B C …) and each figure is the median of its
    // rounds, so a slow spell of the host hits every case alike instead of one case at random.
    const samples = cases.map(() => Object.fromEntries(concurrency.map((width) => [width, []])));
    const foreign = cases.map(() => Object.fromEntries(concurrency.map((width) => [width, 0])));
    for (let round = 1; round <= rounds; round++) {
      for (const [index, testCase] of cases.entries()) {
        for (const width of concurrency) {
          progress(`micro: round ${round}/${rounds}: ${testCase.name} @ ${width}`);
          // A measurement during which other processes took more than maxOtherCpu of the machine is repeated.
          for (let attempt = 1; ; attempt++) {
            if (quietWait > 0)
              await waitForQuiet([process.pid], { threshold: maxOtherCpu, maxWaitMs: quietWait * 1000 });
            const cpu = measureForeignCpu([process.pid]);
            testCase.setup?.();
            const opsPerSecond = await measure(testCase.fn, { seconds, concurrency: width }).finally(() =>
              testCase.teardown?.(),
            );
            const other = cpu.stop();
            if (other === null || other <= maxOtherCpu || attempt > retries) {
              samples[index][width].push(opsPerSecond);
              foreign[index][width] = Math.max(foreign[index][width], other ?? 0);
              break;
            }
          }
        }
      }
    }
    const median = (values) => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    const results = cases.map((testCase, index) => ({
      name: testCase.name,
      opsPerSecond: Object.fromEntries(concurrency.map((width) => [width, median(samples[index][width])])),
      perRound: samples[index],
      foreignCpu: foreign[index],
    }));
    if (traced === 0) throw new Error('the tracing subscriber saw no verification');
    return { seconds, rounds, tokens: tokenCount, concurrency, results, hostile };
  } finally {
    for (const cleanup of cleanups) await cleanup();
    await issuer.close();
  }
}

/**
 * Tokens just under the 16 KB limit whose header is built to cost CPU (deep nesting, thousands
 * of arrays or members), refused on `alg` or carrying a forged signature, next to the reference
 * costs: a small refused header and a forged signature on an ordinary token.
 */
function hostileTokens(mint, issuerUrl) {
  const claims = auth0Claims({ issuer: issuerUrl });
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = Buffer.alloc(256, 7).toString('base64url');
  const forged = (token) => `${token.slice(0, token.lastIndexOf('.'))}.${signature}`;
  // Room left for the header's JSON once the payload and a 2048-bit signature are in.
  const room = Math.floor(((16 * 1024 - payload.length - 344 - 2) * 3) / 4) - 64;
  const fill = {
    nested: (n) => '['.repeat(n >> 1) + ']'.repeat(n >> 1),
    arrays: (n) =>
      `[${Array(Math.floor(n / 3))
        .fill('[]')
        .join(',')}]`,
    members: (n) =>
      `{${Array.from({ length: Math.floor(n / 9) }, (_, i) => `"${i.toString(36).padStart(3, '0')}":0`).join(',')}}`,
    strings: (n) =>
      `[${Array(Math.floor(n / 9))
        .fill('"\\u0000"')
        .join(',')}]`,
    // Shapes within the header limits: one long escaped string, one long number, 99 long keys.
    'one escaped string': (n) => `"${'\\u00e9'.repeat(Math.floor((n - 2) / 6))}"`,
    'one long number': (n) => `0.${'1'.repeat(n - 2)}`,
    'long keys': (n) =>
      `{${Array.from({ length: 98 }, (_, i) => `"${String(i).padStart(Math.floor(n / 98) - 8, 'k')}":0`).join(',')}}`,
  };
  const raw = (header) => Buffer.from(header).toString('base64url');
  const tokens = [
    ['reference: alg none, small header', `${raw('{"alg":"none"}')}.${payload}.`],
    ['reference: forged RS256 signature, ordinary token', forged(mint(claims))],
  ];
  for (const [shape, build] of Object.entries(fill)) {
    const body = build(room);
    tokens.push([`alg none, 16 KB header of ${shape}`, `${raw(`{"alg":"none","x":${body}}`)}.${payload}.`]);
    tokens.push([
      `crit unknown, 16 KB header of ${shape}`,
      `${raw(`{"alg":"RS256","crit":["zip"],"zip":1,"x":${body}}`)}.${payload}.${signature}`,
    ]);
    tokens.push([
      `RS256 forged, 16 KB header of ${shape}`,
      `${raw(`{"alg":"RS256","typ":"JWT","kid":"micro-key","x":${body}}`)}.${payload}.${signature}`,
    ]);
  }
  for (const [name, token] of tokens) if (token.length > 16 * 1024) throw new Error(`${name}: ${token.length} chars`);
  return tokens;
}

/** CPU microseconds per `verify()` of each hostile token (each must be refused), and the worst ratio. */
async function measureHostile(verifier, mint, issuerUrl) {
  const tokens = hostileTokens(mint, issuerUrl);
  const costs = [];
  for (const [name, token] of tokens) {
    const once = () =>
      verifier.verify(token).then(
        () => {
          throw new Error(`${name} was accepted`);
        },
        () => undefined,
      );
    for (let i = 0; i < 200; i++) await once();
    const samples = [];
    for (let round = 0; round < rounds; round++) {
      const iterations = 1000;
      const start = process.cpuUsage();
      for (let i = 0; i < iterations; i++) await once();
      const used = process.cpuUsage(start);
      samples.push((used.user + used.system) / iterations);
    }
    samples.sort((a, b) => a - b);
    costs.push({ name, length: token.length, cpuMicroseconds: samples[samples.length >> 1] });
    progress(`micro: hostile ${name}: ${samples[samples.length >> 1].toFixed(1)} µs CPU`);
  }
  const forgedCost = costs[1].cpuMicroseconds;
  const worst = costs.slice(2).reduce((a, b) => (b.cpuMicroseconds > a.cpuMicroseconds ? b : a));
  const ratio = worst.cpuMicroseconds / forgedCost;
  progress(
    `micro: worst hostile header (${worst.name}) costs ${ratio.toFixed(2)}x a forged-signature check ` +
      `(${worst.cpuMicroseconds.toFixed(1)} vs ${forgedCost.toFixed(1)} µs CPU; budget 5x)`,
  );
  return { costs, worst: worst.name, ratioToForgedSignature: ratio };
}

main().then(
  (result) =>
    process.send
      ? process.send({ type: 'result', result }, () => process.exit(0))
      : (console.log(JSON.stringify(result, null, 2)), process.exit(0)),
  (error) => {
    if (!process.send) throw error;
    process.send({ type: 'error', message: String(error?.stack ?? error) }, () => process.exit(1));
  },
);
