/**
 * In-process measurement of the verified-token cache's admission rule (run with --expose-gc):
 * the same `createVerifier()` with its default cache (a full cache admits a token only on its
 * second verification) and with a plain LRU cache (every verified token admitted), on three
 * workloads, interleaved over rounds:
 *
 *   distinct  a new token on every verification (25,000 in rotation: a full cache never hits)
 *   reused    one token, over a cache first filled with 10,000 others
 *   mixed     half the verifications from 7,500 callers that keep their token, half one-shot tokens
 *
 * Figures per case: verifications per second at concurrency 50, process CPU per verification
 * (all threads: the thread pool's signature checks included), time in GC per 1,000
 * verifications, cache hit rate, and heap after two forced GCs at the end.
 *
 *   npm run build && node --expose-gc bench/cache-admission.mjs '{"alg":"RS256","seconds":2,"rounds":3}'
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { GCProfiler } from 'node:v8';
import { createVerifier } from '../dist/index.js';
import { TokenCache } from '../dist/token-cache.js';
import { startIssuer } from './lib/issuer-server.mjs';
import { AUDIENCE, auth0Claims, clientId, createRsaKey, hs256Minter, rs256Minter } from './lib/tokens.mjs';

const { alg = 'RS256', seconds = 2, rounds = 3, concurrency = 50 } = JSON.parse(process.argv[2] ?? '{}');
const CACHE_MAX = 10_000;
const CACHE_MAX_BYTES = 64 * 1024 * 1024; // the verifier's own byte budget
const DISTINCT = 25_000;
// Hot callers: with as many one-shot tokens between two uses of a hot token, a plain LRU cache of
// 10,000 entries loses them (reuse distance 15,000); admitted on second sight, they all fit.
const HOT = 7_500;
if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');

/** Replaces the verifier's cache (a private field, read here only to compare the two rules). */
function withCache(verifier, admission) {
  const cache = new TokenCache(CACHE_MAX, CACHE_MAX_BYTES, { admission });
  let hits = 0;
  let lookups = 0;
  const get = cache.get.bind(cache);
  cache.get = (key, now) => {
    lookups++;
    const value = get(key, now);
    if (value !== undefined) hits++;
    return value;
  };
  verifier.cache = cache;
  return {
    verifier,
    cache,
    stats: () => ({ hits, lookups }),
    reset: () => {
      hits = 0;
      lookups = 0;
    },
  };
}

async function run(fn, ms) {
  const end = performance.now() + ms;
  let ops = 0;
  const lane = async () => {
    while (performance.now() < end) {
      await fn();
      ops++;
    }
  };
  const cpu = process.cpuUsage();
  const profiler = new GCProfiler();
  profiler.start();
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  // GC time in ms (the profiler's `cost` is in µs), in all and in full (mark-compact) collections.
  const statistics = profiler.stop()?.statistics ?? [];
  const gcMs = statistics.reduce((sum, s) => sum + s.cost, 0) / 1000;
  const fullGcMs = statistics.filter((s) => s.gcType === 'MarkSweepCompact').reduce((sum, s) => sum + s.cost, 0) / 1000;
  return {
    opsPerSecond: ops / (elapsed / 1000),
    cpuUsPerOp: (used.user + used.system) / ops,
    gcMsPer1000: (gcMs / ops) * 1000,
    fullGcMsPer1000: (fullGcMs / ops) * 1000,
  };
}

async function main() {
  let issuer;
  let mint;
  let options;
  let iss;
  if (alg === 'HS256') {
    const secret = randomBytes(32);
    iss = 'https://issuer.bench.invalid/';
    options = { secret, issuer: iss, audience: AUDIENCE };
    mint = hs256Minter(secret);
  } else {
    const key = createRsaKey('admission-key');
    issuer = await startIssuer({ jwks: { keys: [key.jwk] } });
    iss = issuer.issuer;
    options = { issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE };
    mint = rs256Minter(key.privateKey, key.kid);
  }
  try {
    const now = Math.floor(Date.now() / 1000);
    const tokenFor = (i) => mint(auth0Claims({ issuer: iss, client: clientId(i), now }));
    const distinct = Array.from({ length: DISTINCT }, (_, i) => tokenFor(i));
    const hot = Array.from({ length: HOT }, (_, i) => tokenFor(1_000_000 + i));
    const same = tokenFor(2_000_000);
    const filler = Array.from({ length: CACHE_MAX }, (_, i) => tokenFor(3_000_000 + i));

    const workloads = {
      distinct: () => {
        let i = 0;
        return () => distinct[i++ % DISTINCT];
      },
      reused: () => () => same,
      mixed: () => {
        let i = 0;
        let j = 0;
        let k = 0;
        return () => (k++ % 2 === 0 ? hot[j++ % HOT] : distinct[i++ % DISTINCT]);
      },
    };
    const cases = [];
    for (const workload of Object.keys(workloads)) {
      for (const admission of [true, false]) {
        const subject = withCache(createVerifier(options), admission);
        await subject.verifier.ready();
        // Every cache starts full of other tokens, as on a busy API.
        for (const token of filler) await subject.verifier.verify(token);
        const next = workloads[workload]();
        cases.push({ workload, admission, subject, fn: () => subject.verifier.verify(next()), samples: [] });
      }
    }
    for (const c of cases) await run(c.fn, 1000); // warm-up: hot tokens get their second sight
    for (let round = 1; round <= rounds; round++) {
      for (const c of cases) {
        global.gc();
        global.gc();
        c.subject.reset();
        const result = await run(c.fn, seconds * 1000);
        const { hits, lookups } = c.subject.stats();
        c.samples.push({ ...result, hitRate: hits / lookups });
        process.stderr.write(
          `${alg} round ${round} ${c.workload} admission=${c.admission}: ${Math.round(result.opsPerSecond)}/s, ` +
            `${result.cpuUsPerOp.toFixed(1)} µs CPU, GC ${result.gcMsPer1000.toFixed(1)} ms/1000 (full ${result.fullGcMsPer1000.toFixed(1)}), hits ${((100 * hits) / lookups).toFixed(1)}%\n`,
        );
      }
    }
    const median = (values) => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    const results = cases.map((c) => {
      global.gc();
      global.gc();
      return {
        workload: c.workload,
        admission: c.admission,
        opsPerSecond: median(c.samples.map((s) => s.opsPerSecond)),
        cpuUsPerOp: median(c.samples.map((s) => s.cpuUsPerOp)),
        gcMsPer1000: median(c.samples.map((s) => s.gcMsPer1000)),
        fullGcMsPer1000: median(c.samples.map((s) => s.fullGcMsPer1000)),
        hitRate: median(c.samples.map((s) => s.hitRate)),
        entries: c.subject.cache.size,
      };
    });
    return { alg, seconds, rounds, concurrency, results };
  } finally {
    await issuer?.close();
  }
}

main().then(
  (result) => {
    console.log(
      '| workload | admission | verifications/s | CPU µs/verification | GC ms per 1,000 (of which mark-compact) | hit rate | entries |',
    );
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of result.results) {
      console.log(
        `| ${r.workload} | ${r.admission ? 'segmented (admission)' : 'plain LRU'} | ${Math.round(r.opsPerSecond).toLocaleString('en-US')} | ` +
          `${r.cpuUsPerOp.toFixed(1)} | ${r.gcMsPer1000.toFixed(1)} (${r.fullGcMsPer1000.toFixed(1)}) | ${(100 * r.hitRate).toFixed(1)}% | ${r.entries.toLocaleString('en-US')} |`,
      );
    }
    process.exit(0);
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
