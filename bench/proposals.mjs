/**
 * In-process measurements behind the changes proposed for code outside the benchmark (run with
 * --expose-gc after `npm run build`):
 *
 *   proof     a DPoP proof's ES256 signature checked on the event loop (what express-m2m does
 *             today, `verifySignature`) vs on libuv's thread pool (`verifySignatureOffThread`,
 *             what it does for access tokens), 50 checks in flight: checks per second, CPU per
 *             check in all threads and on the event loop alone
 *   replay    heap per entry of `createMemoryReplayStore()` holding one window of DPoP `jti`s
 *             (43-character keys, ttl 70 s) vs the same layout with 22-character keys and
 *             expiries in whole seconds
 *   fetch     memory a process gains from its first discovery/JWKS requests made with global
 *             `fetch` (undici, what express-m2m uses) vs node:http (what express-oauth2-jwt-bearer
 *             uses): a fresh process each, median of three
 *
 *   node --expose-gc bench/proposals.mjs '{"seconds":2,"rounds":3,"entries":200000}'
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { verifySignature, verifySignatureOffThread } from '../dist/jwt/signature.js';
import { createMemoryReplayStore } from '../dist/index.js';

const {
  seconds = 2,
  rounds = 3,
  entries = 200_000,
  parts = ['proof', 'replay', 'fetch'],
} = JSON.parse(process.argv[2] ?? '{}');
if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');

/** CPU ticks (1/100 s) of this process's main thread: the event loop. */
function loopTicks() {
  const stat = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function measure(fn, ms, width = 50) {
  const end = performance.now() + ms;
  let ops = 0;
  const lane = async () => {
    while (performance.now() < end) {
      await fn();
      ops++;
    }
  };
  const cpu = process.cpuUsage();
  const loop = loopTicks();
  const start = performance.now();
  await Promise.all(Array.from({ length: width }, lane));
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return {
    opsPerSecond: ops / (elapsed / 1000),
    cpuUs: (used.user + used.system) / ops,
    loopCpuUs: ((loopTicks() - loop) * 10_000) / ops,
  };
}

async function proof() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const input = Buffer.from('eyJ0eXAiOiJkcG9wK2p3dCJ9.' + 'x'.repeat(300));
  const signature = sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  if (!verifySignature('ES256', publicKey, input, signature)) throw new Error('ES256 signature refused');
  const cases = {
    'event loop (verifySignature)': () => verifySignature('ES256', publicKey, input, signature),
    'thread pool (verifySignatureOffThread)': () => verifySignatureOffThread('ES256', publicKey, input, signature),
  };
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (const fn of Object.values(cases)) await measure(fn, 300);
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(cases)) samples[name].push(await measure(fn, seconds * 1000));
  }
  return Object.entries(samples).map(([name, runs]) => ({
    name,
    opsPerSecond: median(runs.map((r) => r.opsPerSecond)),
    cpuUs: median(runs.map((r) => r.cpuUs)),
    loopCpuUs: median(runs.map((r) => r.loopCpuUs)),
  }));
}

/** A replay key as express-m2m makes it: base64url(SHA-256(jkt "." jti)). */
const replayKey = (i) => createHash('sha256').update(`jkt.${i}`).digest('base64url');

function heap() {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
}

/**
 * The proposed layout: the same Map of key → expiry and per-second buckets as today, but the
 * key cut to 22 characters (128 bits of the SHA-256: a collision only refuses a proof) and the
 * expiry kept in whole seconds (a small integer V8 stores unboxed, not a heap number).
 */
function compactStore(now) {
  const expiries = new Map();
  const buckets = new Map();
  return {
    add(key, ttl) {
      const short = key.slice(0, 22);
      const nowS = Math.floor(now() / 1000);
      const expiry = expiries.get(short);
      if (expiry !== undefined && expiry > nowS) return false;
      const newExpiry = nowS + Math.ceil(ttl);
      // Flattened: a slice of the 43-character key would keep the whole key alive.
      const flat = short.split('').join('');
      expiries.set(flat, newExpiry);
      const bucket = buckets.get(newExpiry);
      if (bucket === undefined) buckets.set(newExpiry, [flat]);
      else bucket.push(flat);
      return true;
    },
    get size() {
      return expiries.size;
    },
  };
}

/** Heap held per key by a store made by `make(clock)`, filled with `entries` keys over the window. */
function bytesPerKey(make) {
  let clock = Date.now();
  const before = heap();
  let store = make(() => clock);
  // About 3,000 keys a second, as under the DPoP scenario's load; each a fresh string, as a request's is.
  for (let i = 0; i < entries; i++) {
    if (i % 3_000 === 0) clock += 1000;
    store.add(replayKey(i), 70);
  }
  const after = heap();
  const size = store.size;
  store = undefined;
  return { entries: size, bytesPerEntry: (after - before) / size };
}

function replay() {
  return [
    { name: 'createMemoryReplayStore() (today)', ...bytesPerKey((now) => createMemoryReplayStore({ now })) },
    { name: '22-character keys, expiry in seconds', ...bytesPerKey((now) => compactStore(now)) },
  ];
}

function fetchMemory() {
  const script = new URL('./lib/fetch-memory.mjs', import.meta.url).pathname;
  return ['none', 'http', 'fetch'].map((mode) => {
    const samples = Array.from({ length: 3 }, () =>
      JSON.parse(execFileSync(process.execPath, ['--expose-gc', script, mode], { encoding: 'utf8' })),
    );
    const of = (key) => median(samples.map((sample) => sample[key]));
    return { mode, rss: of('rss'), heapUsed: of('heapUsed'), external: of('external') };
  });
}

const out = {};
if (parts.includes('proof')) out.proof = await proof();
if (parts.includes('replay')) out.replay = replay();
if (parts.includes('fetch')) out.fetch = fetchMemory();
for (const r of out.proof ?? []) {
  console.log(
    `proof ES256 ${r.name}: ${Math.round(r.opsPerSecond)}/s, CPU ${r.cpuUs.toFixed(1)} µs/check, event loop ${r.loopCpuUs.toFixed(1)} µs/check`,
  );
}
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
for (const r of out.fetch ?? []) {
  console.log(`fetch ${r.mode}: RSS +${mib(r.rss)}, heap +${mib(r.heapUsed)}, external +${mib(r.external)}`);
}
for (const r of out.replay ?? []) {
  console.log(`replay ${r.name}: ${r.entries} entries, ${Math.round(r.bytesPerEntry)} B/entry`);
}
