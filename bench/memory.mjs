/**
 * Memory check (child process, run with --expose-gc, IPC result): pushes N distinct valid
 * tokens through one `createVerifier()` with the default token cache and samples the heap
 * (after two full GCs) at fixed points. With a bounded cache, the heap stops growing once the
 * cache is full.
 *
 * argv[2]: JSON `{ alg: 'HS256' | 'RS256', tokens: N }`.
 *   HS256: `createVerifier({ secret, issuer, audience })`; tokens signed with node:crypto HMAC
 *          (~2 µs each), so a million is affordable. Same verify() and cache code path; the
 *          tokens are shorter (43-char signature instead of 342).
 *   RS256: `createVerifier({ issuerBaseURL, audience })` against an in-process issuer on
 *          127.0.0.1 (discovery + JWKS); tokens signed with node:crypto RSA (~0.3 ms each).
 * Tokens are minted one at a time and dropped after verification, so the heap holds only
 * what the verifier keeps. Each token is verified twice, as a caller that reuses its token
 * would: the second verification is a cache hit, which keeps the token in the cache's
 * protected segment, so the cache fills to `cache.max` (tokens verified once would only ever
 * occupy its small probation segment) — the largest the cache can get.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createVerifier } from '../dist/index.js';
import { startIssuer } from './lib/issuer-server.mjs';
import { AUDIENCE, auth0Claims, clientId, createRsaKey, hs256Minter, rs256Minter } from './lib/tokens.mjs';

const { alg = 'HS256', tokens: total = 1_000_000 } = JSON.parse(process.argv[2] ?? '{}');
const progress = (text) => process.send?.({ type: 'progress', text });
const DEFAULT_CACHE_MAX = 10_000; // express-m2m's default `cache.max`

if (typeof global.gc !== 'function') throw new Error('memory.mjs needs --expose-gc');

function heap() {
  global.gc();
  global.gc();
  const { heapUsed, rss, external } = process.memoryUsage();
  return { heapUsed, rss, external };
}

/** Reads the private cache size when the implementation exposes it at runtime (diagnostic only). */
function cacheSize(verifier) {
  const size = verifier?.cache?.size;
  return typeof size === 'number' ? size : null;
}

async function main() {
  let issuer;
  let verifier;
  let mint;
  let iss;
  if (alg === 'HS256') {
    const secret = randomBytes(32);
    iss = 'https://issuer.bench.invalid/';
    verifier = createVerifier({ secret, issuer: iss, audience: AUDIENCE });
    mint = hs256Minter(secret);
  } else {
    const key = createRsaKey('memory-key');
    issuer = await startIssuer({ jwks: { keys: [key.jwk] } });
    iss = issuer.issuer;
    verifier = createVerifier({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE });
    await verifier.ready();
    mint = rs256Minter(key.privateKey, key.kid);
  }
  try {
    const cacheMax = typeof verifier?.cache?.max === 'number' ? verifier.cache.max : DEFAULT_CACHE_MAX;
    const now = Math.floor(Date.now() / 1000);
    const tokenFor = (i) => mint(auth0Claims({ issuer: iss, client: clientId(i), now }));
    // One verification first, so lazily built state (jose, key import) is in the baseline.
    await verifier.verify(tokenFor(total + 1));
    const baseline = heap();
    const checkpoints = new Set([cacheMax, 2 * cacheMax, total]);
    for (let k = 1; k <= 10; k++) checkpoints.add(Math.round((total * k) / 10));
    const points = [...checkpoints].filter((n) => n > 0 && n <= total).sort((a, b) => a - b);
    const samples = [];
    let example;
    const start = performance.now();
    let nextPoint = 0;
    for (let i = 1; i <= total; i++) {
      const token = tokenFor(i);
      if (i === 1) example = token.length;
      await verifier.verify(token);
      await verifier.verify(token);
      if (i === points[nextPoint]) {
        nextPoint++;
        const elapsed = performance.now() - start;
        samples.push({ tokens: i, ...heap(), cacheSize: cacheSize(verifier), elapsedMs: elapsed });
        progress(`memory ${alg}: ${i.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} tokens`);
      }
    }
    const durationMs = performance.now() - start;
    return { alg, tokens: total, cacheMax, tokenLength: example, baseline, samples, durationMs };
  } finally {
    await issuer?.close();
  }
}

main().then(
  (result) => process.send({ type: 'result', result }, () => process.exit(0)),
  (error) => process.send({ type: 'error', message: String(error?.stack ?? error) }, () => process.exit(1)),
);
