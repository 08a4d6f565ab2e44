#!/usr/bin/env node
/**
 * The express-m2m benchmark: measures the performance budget stated in docs/BENCHMARKS.md.
 * See `node bench/run.mjs --help`.
 *
 * Layout: this process mints the tokens and drives autocannon; the issuer (discovery + JWKS,
 * with fetch counters) and every contender app run in their own child processes on
 * 127.0.0.1. Contenders are measured interleaved in rounds. The micro-benchmark and the
 * memory check run in their own child processes afterwards. Every child is killed when this
 * process exits, whatever the reason, and a watchdog bounds the total run time.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { distStaleness, ensureDist } from '../scripts/ensure-dist.mjs';
import { createProofKey, proofMinter, proofSupply } from './lib/dpop.mjs';
import { CACHE_MAX, COOLDOWN, parseOptions, scenarioContenders, USAGE } from './lib/options.mjs';
import { budget, median, memoryVerdict, summarizeScenario } from './lib/verdicts.mjs';
import { mainThreadTicks, measureForeignCpu, processTicks, speedProbe, waitForQuiet } from './lib/cpu.mjs';
import { installCleanup, runJob, startServer, stopChild } from './lib/proc.mjs';
import { summarizeProfile } from './lib/profile.mjs';
import { renderProfileReport, renderReport } from './lib/report.mjs';
import { AUDIENCE, auth0Claims, clientId, createRsaKey, rs256Minter, unknownKid } from './lib/tokens.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BENCH = join(ROOT, 'bench');
const RESULTS = join(BENCH, 'results');
const APP = join(BENCH, 'app.mjs');

const log = (...args) => console.error(`[bench ${(performance.now() / 1000).toFixed(1)}s]`, ...args);
/** This run's command line, with arguments that contain spaces quoted. */
const commandLine = () =>
  ['node bench/run.mjs', ...process.argv.slice(2).map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a))].join(' ');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class SanityError extends Error {}

// ---------------------------------------------------------------------------------------------
// Build, machine and package information
// ---------------------------------------------------------------------------------------------

/** Makes sure dist/ holds the current sources (the harness benchmarks the compiled package). */
function build(skip) {
  if (skip) {
    if (!existsSync(join(ROOT, 'dist', 'index.js')))
      throw new SanityError('dist/index.js is missing; run without --skip-build');
    const stale = distStaleness(ROOT);
    if (stale !== undefined) log(`warning: dist/ is stale (${stale})`);
    return 'skipped (--skip-build)';
  }
  try {
    const { built, seconds } = ensureDist({ root: ROOT, log, stdio: ['ignore', 2, 2] });
    return built ? `tsc -p tsconfig.build.json (${seconds.toFixed(1)} s)` : 'dist/ already current';
  } catch (error) {
    // tsc still emits JavaScript on type errors (noEmitOnError is off); go on if dist exists.
    if (!existsSync(join(ROOT, 'dist', 'index.js')))
      throw new SanityError(`${error.message}; dist/index.js is missing`);
    log('warning: tsc reported errors; benchmarking the JavaScript it emitted anyway');
    return 'tsc reported errors; emitted output used';
  }
}

function packageVersion(path) {
  try {
    return JSON.parse(readFileSync(join(ROOT, path, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function environment(buildNote) {
  const cpus = os.cpus();
  const packages = [
    ['express-m2m', '.', 'this repository'],
    ['express', 'node_modules/express'],
    ['express-oauth2-jwt-bearer', 'node_modules/express-oauth2-jwt-bearer'],
    ['jose (used by express-oauth2-jwt-bearer)', 'node_modules/express-oauth2-jwt-bearer/node_modules/jose'],
    ['express-jwt', 'node_modules/express-jwt'],
    ['jwks-rsa', 'node_modules/jwks-rsa'],
    ['jose (used by jwks-rsa)', 'node_modules/jwks-rsa/node_modules/jose'],
    ['jsonwebtoken (used by express-jwt)', 'node_modules/jsonwebtoken'],
    ['jose (express-m2m, hand-written contender)', 'node_modules/jose'],
    ['fast-jwt', 'node_modules/fast-jwt'],
    ['get-jwks', 'node_modules/get-jwks'],
    ['autocannon', 'node_modules/autocannon'],
  ]
    .map(([name, path, note]) => ({ name, version: packageVersion(path), note }))
    .filter((p) => p.version !== undefined);
  const dirty = git(['status', '--porcelain', '--', 'src']);
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    packages,
    commit: git(['rev-parse', '--short', 'HEAD']),
    srcDirty: dirty === undefined ? undefined : dirty !== '',
    build: buildNote,
    loadavgStart: os.loadavg(),
  };
}

// ---------------------------------------------------------------------------------------------
// Issuer and contenders
// ---------------------------------------------------------------------------------------------

async function startIssuerProcess(jwks) {
  const { child, port } = await startServer(join(BENCH, 'issuer.mjs'), [JSON.stringify({ jwks })], { label: 'issuer' });
  const base = `http://127.0.0.1:${port}`;
  const control = async (method, path) => {
    const response = await fetch(`${base}${path}`, { method });
    if (!response.ok) throw new SanityError(`issuer control ${path}: HTTP ${response.status}`);
    return response.json();
  };
  return {
    child,
    issuerBaseURL: base,
    issuer: `${base}/`,
    jwksUri: `${base}/.well-known/jwks.json`,
    counts: () => control('GET', '/__counts'),
    reset: () => control('POST', '/__reset'),
    setDelay: (ms) => control('POST', `/__config?delay=${ms}`),
  };
}

/** Discovery and JWKS fetch counts from the issuer's per-path counters. */
function fetchCounts(counts) {
  let discovery = 0;
  let jwks = 0;
  let other = 0;
  for (const [path, n] of Object.entries(counts)) {
    if (path === '/.well-known/jwks.json') jwks += n;
    else if (path.startsWith('/.well-known/')) discovery += n;
    else other += n;
  }
  return { discovery, jwks, other, paths: counts };
}

async function startContender(id, issuer, execArgv = []) {
  const config = {
    issuerBaseURL: issuer.issuerBaseURL,
    issuer: issuer.issuer,
    jwksUri: issuer.jwksUri,
    audience: AUDIENCE,
  };
  // --expose-gc: the memory report after the timed rounds reads the heap after forced GCs.
  const { child, port } = await startServer(APP, [id, JSON.stringify(config)], {
    execArgv: ['--expose-gc', ...execArgv],
    label: `contender ${id}`,
  });
  return { id, child, port };
}

/** Asks a contender for its memory figures (see bench/app.mjs); undefined if it does not answer in time. */
function queryMemory(child, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (message?.type !== 'memory') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message.memory);
    };
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      resolve(undefined);
    }, timeoutMs);
    child.on('message', onMessage);
    child.send({ type: 'memory' });
  });
}

/** One request with node:http carrying `token` as a Bearer token; resolves the status code (or `error:CODE`). */
function request(port, token, agent, timeoutMs = 30_000) {
  return requestWith(port, token === undefined ? {} : { authorization: `Bearer ${token}` }, agent, timeoutMs);
}

/** One GET /orders with `headers`; resolves the status code (or `error:CODE`). */
function requestWith(port, headers, agent, timeoutMs = 30_000) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/orders', headers, agent, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', (error) => resolve(`error:${error.code ?? error.message}`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve(`error:${error.code ?? error.message}`));
  });
}

/** Checks each contender's answers before measuring it; returns the observed statuses. */
async function precheck(contender, tokens) {
  const agent = new http.Agent({ keepAlive: false });
  const expected =
    contender.id === 'no-auth'
      ? { valid: 200, none: 200, badSignature: 200, noScope: 200 }
      : { valid: 200, none: 401, badSignature: 401, noScope: 403 };
  const observed = {
    valid: await request(contender.port, tokens.same, agent),
    none: await request(contender.port, undefined, agent),
    badSignature: await request(contender.port, tokens.badSignature, agent),
    noScope: await request(contender.port, tokens.noScope, agent),
  };
  agent.destroy();
  if (observed.valid !== 200) throw new SanityError(`${contender.id} answered ${observed.valid} to a valid token`);
  return { expected, observed };
}

/**
 * Pre-check of the DPoP scenario: a bound token with a fresh proof, no token, the same proof
 * again (express-m2m's replay store refuses it; express-oauth2-jwt-bearer keeps no replay store),
 * and the bound token downgraded to the Bearer scheme.
 */
async function precheckDPoP(contender, dpop, htu) {
  const agent = new http.Agent({ keepAlive: false });
  const mint = proofMinter(dpop.key, dpop.token, htu);
  const proof = mint();
  const dpopHeaders = (p) => ({ authorization: `DPoP ${dpop.token}`, dpop: p });
  const observed = {
    valid: await requestWith(contender.port, dpopHeaders(proof), agent),
    none: await requestWith(contender.port, {}, agent),
    replayed: await requestWith(contender.port, dpopHeaders(proof), agent),
    bearer: await requestWith(contender.port, { authorization: `Bearer ${dpop.token}` }, agent),
  };
  agent.destroy();
  const expected =
    contender.id === 'no-auth'
      ? { valid: 200, none: 200, replayed: 200, bearer: 200 }
      : contender.id === 'express-oauth2-jwt-bearer'
        ? { valid: 200, none: 401, replayed: 200, bearer: 401 }
        : { valid: 200, none: 401, replayed: 401, bearer: 401 };
  if (observed.valid !== 200)
    throw new SanityError(`${contender.id} answered ${observed.valid} to a valid DPoP-bound token and proof`);
  if (contender.id.startsWith('express-m2m') && observed.replayed !== 401)
    throw new SanityError(`${contender.id} answered ${observed.replayed} to a replayed DPoP proof`);
  return { expected, observed };
}

// ---------------------------------------------------------------------------------------------
// Host speed
// ---------------------------------------------------------------------------------------------

let bestSpeed = 0;
/** This host's current speed relative to the best probe so far (0–1). */
function hostSpeed() {
  const speed = speedProbe(100);
  bestSpeed = Math.max(bestSpeed, speed);
  return speed / bestSpeed;
}
/** Establishes the reference speed: the best of several probes. */
function calibrateHostSpeed() {
  for (let i = 0; i < 10; i++) hostSpeed();
}

// ---------------------------------------------------------------------------------------------
// Load generation
// ---------------------------------------------------------------------------------------------

/**
 * One autocannon run. `token` sends the same Authorization header on every request;
 * `nextToken` is called for every request (autocannon's setupRequest), so the token changes
 * on each one, across all connections.
 */
async function load(port, { connections, duration, amount, token, nextToken, nextHeaders, pids = [] }) {
  const options = { url: `http://127.0.0.1:${port}/orders`, connections, pipelining: 1, timeout: 10 };
  // autocannon notices the end of a fixed-count run at its next sample tick (1 s by default):
  // a short tick lets the smoke run's 300-request runs end in a tenth of a second.
  if (amount !== undefined && amount <= 1_000) options.sampleInt = 50;
  if (amount !== undefined) options.amount = amount;
  else options.duration = duration;
  let built = 0;
  const headersFor = nextHeaders ?? (nextToken && (() => ({ authorization: `Bearer ${nextToken()}` })));
  if (headersFor !== undefined) {
    options.requests = [
      {
        method: 'GET',
        path: '/orders',
        setupRequest: (req) => {
          built++;
          return { ...req, headers: { ...req.headers, ...headersFor() } };
        },
      },
    ];
  } else if (token !== undefined) {
    options.headers = { authorization: `Bearer ${token}` };
  }
  const cpu = measureForeignCpu([process.pid, ...pids]);
  const appTicks = pids.length > 0 ? processTicks(pids[0]) : 0;
  const loopTicks = pids.length > 0 ? mainThreadTicks(pids[0]) : 0;
  const started = performance.now();
  const result = await autocannon(options);
  const seconds = (performance.now() - started) / 1000;
  const foreignCpu = cpu.stop();
  // CPU time the app process was charged per request (µs). Stable across undisturbed rounds; time
  // stolen by the host or a busy sibling core inflates it even when /proc shows no other process.
  const appUs = pids.length > 0 ? (processTicks(pids[0]) - appTicks) * 10_000 : 0;
  // The event loop's share: work moved to libuv's thread pool leaves it.
  const loopUs = pids.length > 0 ? (mainThreadTicks(pids[0]) - loopTicks) * 10_000 : 0;
  const statuses = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = count;
  return {
    rps: result.requests.total / (result.duration || seconds),
    total: result.requests.total,
    sent: result.requests.sent,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    status5xx: result['5xx'],
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    built,
    seconds: result.duration || seconds,
    foreignCpu,
    cpuPerRequest: appUs > 0 && result.requests.total > 0 ? appUs / result.requests.total : null,
    loopCpuPerRequest: loopUs > 0 && result.requests.total > 0 ? loopUs / result.requests.total : null,
  };
}

const SCENARIO_INFO = {
  same: { title: '1. Same token on every request', expected: () => 200 },
  hot: { title: '1b. Same token, after 10,000 other tokens', expected: () => 200 },
  distinct: { title: '2. A new token on every request', expected: () => 200 },
  badsig: { title: '3. Bad signature', expected: (id) => (id === 'no-auth' ? 200 : 401) },
  dpop: { title: '6. DPoP: one bound token, a fresh proof on every request', expected: () => 200 },
  issuers: { title: '7. 50 issuers configured, same token', expected: () => 200 },
};

function unexpected(run, expectedStatus) {
  let n = run.errors + run.timeouts;
  for (const [code, count] of Object.entries(run.statuses)) if (Number(code) !== expectedStatus) n += count;
  return n;
}

/** Scenarios 1–3: fresh contender processes, warm-up, then interleaved rounds. */
async function loadScenario(scenario, contenderIds, issuer, tokens, options, sanity) {
  const info = SCENARIO_INFO[scenario];
  const smoke = options.mode === 'smoke';
  const rotation = new Map(contenderIds.map((id) => [id, 0]));
  // DPoP: per contender, a supply of one-use proofs for its own URL, refilled before every run.
  const supplies = new Map();
  const lastRps = new Map();
  /** The load of one run of `contender` lasting `seconds`; DPoP proofs are minted here, before the run. */
  const prepare = (contender, seconds) => {
    if (scenario !== 'dpop') return workload(contender.id);
    const supply = supplies.get(contender.id);
    // Enough proofs for 10,000 req/s (more than any contender serves here) or the fastest rate seen, plus a third.
    const rate = Math.max(lastRps.get(contender.id) ?? 0, 10_000);
    supply.refill(options.requests ?? Math.ceil(rate * seconds * 1.35) + 500);
    const authorization = `DPoP ${tokens.dpop.token}`;
    return { nextHeaders: () => ({ authorization, dpop: supply.next() }) };
  };
  const workload = (id) => {
    if (scenario === 'same' || scenario === 'hot' || scenario === 'issuers') return { token: tokens.same };
    if (scenario === 'badsig') return { token: tokens.badSignature };
    // Each contender walks the rotation from where its previous run stopped, so a token comes
    // back only after `tokens.distinct.length` other tokens: with more tokens than cache.max,
    // an LRU cache never hits.
    return {
      nextToken: () => {
        const i = rotation.get(id);
        rotation.set(id, i + 1);
        return tokens.distinct[i % tokens.distinct.length];
      },
    };
  };
  let contenders = [];
  const prechecks = {};
  /**
   * Starts every app in a new process, then readies each: the pre-check (first round only), the
   * cache pre-fill of the `hot` scenario, the warm-up. Called before every round: the same app in
   * two processes measures up to ~4% apart (memory layout, core placement), so each round gets
   * its own processes and the median over rounds is also a median over processes.
   */
  const launch = async (round) => {
    const previous = contenders;
    contenders = [];
    await Promise.all(previous.map((c) => stopChild(c.child)));
    // Started together (nothing is measured yet), checked one by one.
    const started = await Promise.allSettled(contenderIds.map((id) => startContender(id, issuer)));
    for (const outcome of started) if (outcome.status === 'fulfilled') contenders.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    for (const contender of contenders) {
      const { id } = contender;
      if (scenario === 'dpop') {
        const htu = `http://127.0.0.1:${contender.port}/orders`;
        supplies.set(id, proofSupply(proofMinter(tokens.dpop.key, tokens.dpop.token, htu)));
        if (round === 1) prechecks[id] = await precheckDPoP(contender, tokens.dpop, htu);
      } else if (round === 1) {
        prechecks[id] = await precheck(contender, tokens);
      }
    }
    if (scenario === 'hot') {
      // Every app first sees cache.max distinct valid tokens (express-m2m's cache is then full),
      // as a busy API with many callers would; then one hot token is measured.
      const prefill = Math.min(options.prefill, tokens.distinct.length);
      for (const contender of contenders) {
        log(`${scenario}: ${contender.id} receives ${prefill} distinct tokens first`);
        let i = 0;
        const run = await load(contender.port, {
          connections: options.connections,
          amount: prefill,
          nextToken: () => tokens.distinct[i++],
        });
        if (run.non2xx + run.errors + run.timeouts > 0)
          sanity.push(`${info.title}: ${contender.id} refused ${run.non2xx} of the pre-fill tokens`);
      }
    }
    if (options.warmup > 0) {
      for (const contender of contenders) {
        log(`${scenario} round ${round}: warm-up ${contender.id} (${options.warmup} s)`);
        const warm = await load(contender.port, {
          connections: options.connections,
          duration: options.warmup,
          ...prepare(contender, options.warmup),
        });
        lastRps.set(contender.id, warm.rps);
      }
    }
  };
  try {
    const runs = Object.fromEntries(contenderIds.map((id) => [id, []]));
    for (let round = 1; round <= options.rounds; round++) {
      await launch(round);
      for (const contender of contenders) {
        const pids = [process.pid, contender.child.pid, issuer.child.pid];
        // Repeat a disturbed run; keep the first undisturbed attempt, or else the least disturbed one.
        let run;
        const attempts = [];
        for (let attempt = 1; ; attempt++) {
          const work = prepare(contender, options.duration);
          if (!smoke) await sleep(250);
          const quiet =
            options.quietWait > 0
              ? await waitForQuiet(pids, { threshold: options.maxOtherCpu, maxWaitMs: options.quietWait * 1000 })
              : undefined;
          // The host-speed probes (200 ms per run) only matter to timed runs.
          const before = smoke ? 1 : hostSpeed();
          const current = await load(contender.port, {
            connections: options.connections,
            duration: options.duration,
            amount: options.requests,
            pids: pids.slice(1),
            ...work,
          });
          current.hostSpeed = smoke ? 1 : Math.min(before, hostSpeed());
          if (scenario === 'dpop') {
            current.proofsOnDemand = supplies.get(contender.id).mintedOnDemand;
            supplies.get(contender.id).mintedOnDemand = 0;
          }
          lastRps.set(contender.id, Math.max(lastRps.get(contender.id) ?? 0, current.rps));
          current.waitedMs = quiet?.waitedMs ?? 0;
          attempts.push(current);
          const busy = current.foreignCpu !== null && current.foreignCpu > options.maxOtherCpu;
          const slow = current.hostSpeed < 1 - options.maxSlowdown;
          if (!busy && !slow) {
            run = current;
            break;
          }
          if (attempt > options.retries) {
            run = attempts.reduce((a, b) =>
              b.hostSpeed - (b.foreignCpu ?? 0) > a.hostSpeed - (a.foreignCpu ?? 0) ? b : a,
            );
            run.disturbed = true;
            break;
          }
          log(
            `${scenario} round ${round} ${contender.id}: ` +
              (busy
                ? `other processes used ${Math.round(current.foreignCpu * 100)}% of the machine`
                : `host ran at ${Math.round(current.hostSpeed * 100)}% of its best speed`) +
              '; repeating',
          );
        }
        run.attempts = attempts.length;
        run.round = round;
        // The app's memory after this run (outside the measured time; the forced GCs hit every app alike).
        run.memory = await queryMemory(contender.child);
        run.unexpected = unexpected(run, info.expected(contender.id));
        runs[contender.id].push(run);
        log(
          `${scenario} round ${round}/${options.rounds} ${contender.id}: ${Math.round(run.rps)} req/s, ` +
            `${run.cpuPerRequest === null ? '' : `${Math.round(run.cpuPerRequest)} µs CPU/req (event loop ${Math.round(run.loopCpuPerRequest ?? 0)}), `}` +
            `p50 ${run.p50} ms, p99 ${run.p99} ms, statuses ${JSON.stringify(run.statuses)}` +
            (run.errors + run.timeouts > 0 ? `, errors ${run.errors}, timeouts ${run.timeouts}` : ''),
        );
        // Sanity applies to every attempt, kept or not.
        for (const attempt of attempts) {
          const bad = unexpected(attempt, info.expected(contender.id));
          if (scenario !== 'badsig' && bad > 0) {
            sanity.push(
              `${info.title}: ${contender.id} answered ${bad} of ${attempt.total} requests with a valid token without a 2xx`,
            );
          }
          if (scenario === 'badsig' && contender.id === 'express-m2m' && bad > 0) {
            sanity.push(`${info.title}: express-m2m answered ${bad} requests with something other than 401`);
          }
          if ((scenario === 'distinct' || scenario === 'dpop') && attempt.built < attempt.sent) {
            sanity.push(
              `${info.title}: ${contender.id}: only ${attempt.built} tokens built for ${attempt.sent} requests`,
            );
          }
        }
      }
    }
    // Memory after the timed rounds: the median of the readings after each round (RSS after the
    // forced GCs flips by tens of MiB depending on whether V8 handed its young generation back),
    // and the peak RSS of the whole scenario.
    const memory = {};
    for (const contender of contenders) {
      const readings = runs[contender.id].map((run) => run.memory).filter((m) => m !== undefined);
      if (readings.length === 0) continue;
      const of = (key) => median(readings.map((m) => m[key]));
      memory[contender.id] = {
        rss: of('rss'),
        rssAfterGc: of('rssAfterGc'),
        heapUsed: of('heapUsed'),
        heapTotal: of('heapTotal'),
        external: of('external'),
        peakRss: Math.max(...readings.map((m) => m.peakRss ?? 0)),
        readings: readings.map((m) => m.rssAfterGc),
      };
    }
    return { scenario, title: info.title, runs, prechecks, memory };
  } finally {
    await Promise.all(contenders.map((c) => stopChild(c.child)));
  }
}

/** Scenario 4: a freshly started app receives `n` concurrent requests (distinct valid tokens). */
async function coldStart(id, issuer, tokens, options) {
  await issuer.reset();
  await issuer.setDelay(options.coldDelay);
  const contender = await startContender(id, issuer);
  try {
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const started = performance.now();
    let first;
    const statuses = await Promise.all(
      Array.from({ length: options.cold }, (_, i) =>
        request(contender.port, tokens.distinct[i % tokens.distinct.length], agent).then((status) => {
          first ??= performance.now() - started;
          return status;
        }),
      ),
    );
    const wallMs = performance.now() - started;
    agent.destroy();
    const histogram = {};
    for (const status of statuses) histogram[status] = (histogram[status] ?? 0) + 1;
    const counts = fetchCounts(await issuer.counts());
    log(
      `cold ${id}: discovery ${counts.discovery}, JWKS ${counts.jwks}, statuses ${JSON.stringify(histogram)}, ${Math.round(wallMs)} ms`,
    );
    return { id, requests: options.cold, statuses: histogram, ...counts, firstMs: first, wallMs };
  } finally {
    await issuer.setDelay(0);
    await stopChild(contender.child);
  }
}

/** Scenario 5: after one valid request (initial fetches), `n` tokens with unknown, distinct kids. */
async function kidFlood(id, issuer, tokens, options) {
  await issuer.setDelay(0);
  const contender = await startContender(id, issuer);
  try {
    const agent = new http.Agent({ keepAlive: false });
    const warm = await request(contender.port, tokens.same, agent);
    await issuer.reset();
    let next = 0;
    const run = await load(contender.port, {
      connections: options.connections,
      amount: tokens.flood.length,
      nextToken: () => tokens.flood[next++ % tokens.flood.length],
    });
    const counts = fetchCounts(await issuer.counts());
    const after = await request(contender.port, tokens.same, agent);
    agent.destroy();
    const allowed = 1 + Math.floor(run.seconds / COOLDOWN);
    log(
      `flood ${id}: JWKS ${counts.jwks}, discovery ${counts.discovery}, statuses ${JSON.stringify(run.statuses)}, valid after: ${after}`,
    );
    return { id, requests: run.total, warm, after, allowed, ...counts, run };
  } finally {
    await stopChild(contender.child);
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

/** Mints every token the load scenarios need, signed with the published `key` (or a foreign one). */
function mintTokens(options, issuer, key) {
  const started = performance.now();
  const foreign = createRsaKey('bench-foreign');
  const mint = rs256Minter(key.privateKey, key.kid);
  const forge = rs256Minter(foreign.privateKey, key.kid); // right kid, wrong key: bad signature
  const now = Math.floor(Date.now() / 1000);
  const claims = (n, extra) => auth0Claims({ issuer, client: clientId(n), now, ...extra });
  const tokens = {
    same: mint(claims(9_000_000)),
    badSignature: forge(claims(9_000_001)),
    noScope: mint(claims(9_000_002, { scope: 'write:other' })),
    distinct: [],
    flood: [],
  };
  if (options.scenarios.includes('dpop')) {
    const proofKey = createProofKey();
    tokens.dpop = { key: proofKey, token: mint({ ...claims(9_000_003), cnf: { jkt: proofKey.jkt } }) };
  }
  const needDistinct = options.scenarios.some((s) => s === 'distinct' || s === 'hot' || s === 'cold');
  if (needDistinct) for (let i = 0; i < Math.max(options.tokens, 1); i++) tokens.distinct.push(mint(claims(i)));
  if (options.scenarios.includes('flood')) {
    for (let i = 0; i < options.flood; i++) {
      const kid = unknownKid(i);
      tokens.flood.push(rs256Minter(foreign.privateKey, kid)(claims(8_000_000 + i)));
    }
  }
  log(
    `minted ${tokens.distinct.length + tokens.flood.length + 3} RS256 tokens in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return tokens;
}

async function runProfile(options, issuer, tokens, env) {
  const dir = join(RESULTS, 'profiles');
  mkdirSync(dir, { recursive: true });
  const profiles = [];
  for (const scenario of options.scenarios) {
    for (const id of options.contenders) {
      const name = `${id}-${scenario}.cpuprofile`;
      const execArgv = ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`];
      const contender = await startContender(id, issuer, execArgv);
      let run;
      let requests = 4; // the pre-check
      try {
        let supply;
        if (scenario === 'dpop') {
          const htu = `http://127.0.0.1:${contender.port}/orders`;
          await precheckDPoP(contender, tokens.dpop, htu);
          supply = proofSupply(proofMinter(tokens.dpop.key, tokens.dpop.token, htu));
        } else {
          await precheck(contender, tokens);
        }
        let i = 0;
        if (scenario === 'hot') {
          const amount = Math.min(CACHE_MAX, tokens.distinct.length);
          requests += (
            await load(contender.port, {
              connections: options.connections,
              amount,
              nextToken: () => tokens.distinct[i++],
            })
          ).total;
        }
        const dpopAuthorization = `DPoP ${tokens.dpop?.token}`;
        const work =
          scenario === 'distinct'
            ? { nextToken: () => tokens.distinct[i++ % tokens.distinct.length] }
            : scenario === 'dpop'
              ? { nextHeaders: () => ({ authorization: dpopAuthorization, dpop: supply.next() }) }
              : { token: tokens.same };
        // DPoP proofs for a generous 10,000 req/s, minted before each run (see the dpop scenario).
        const refill = (seconds) => supply?.refill(Math.ceil(10_000 * seconds));
        if (options.warmup > 0) {
          refill(options.warmup);
          const warm = await load(contender.port, {
            connections: options.connections,
            duration: options.warmup,
            ...work,
          });
          requests += warm.total;
        }
        log(`profile ${id} ${scenario}: ${options.duration} s under --cpu-prof`);
        refill(options.duration);
        run = await load(contender.port, { connections: options.connections, duration: options.duration, ...work });
        requests += run.total;
      } finally {
        await stopChild(contender.child);
      }
      const file = join(dir, name);
      if (!existsSync(file)) throw new SanityError(`no profile written at ${file}`);
      // The profile spans the whole process, so per-request figures divide by every request it served.
      profiles.push({ id, scenario, file: relative(ROOT, file), run, requests, summary: summarizeProfile(file) });
    }
  }
  return renderProfileReport({ env, options, profiles, command: commandLine() });
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  installCleanup();
  const watchdog = setTimeout(() => {
    console.error(`[bench] watchdog: still running after ${options.timeout} minutes; killing child processes`);
    process.exit(3);
  }, options.timeout * 60_000);
  watchdog.unref();
  mkdirSync(RESULTS, { recursive: true });
  const startedAt = performance.now();

  const buildNote = build(options.skipBuild);
  const env = environment(buildNote);
  const command = commandLine();
  log(`mode ${options.mode}${options.profile ? ' (profile)' : ''}; contenders ${options.contenders.join(', ')}`);
  if (
    options.scenarios.includes('distinct') &&
    options.tokens <= CACHE_MAX &&
    options.contenders.includes('express-m2m')
  ) {
    log(`warning: --tokens ${options.tokens} ≤ cache.max ${CACHE_MAX}: express-m2m will get cache hits in scenario 2`);
  }

  const sanity = [];
  const data = { env, options, command, sanity, scenarios: {}, summary: {} };
  const needHttp = options.parts.includes('http') && options.scenarios.length > 0;
  let issuerProcess;
  let tokens;
  if (needHttp) {
    if (options.mode !== 'smoke') calibrateHostSpeed();
    // Tokens carry the issuer's URL, known once it listens: start it with the public key, then mint.
    const key = createRsaKey('bench-key-1');
    issuerProcess = await startIssuerProcess({ keys: [key.jwk] });
    tokens = mintTokens(options, issuerProcess.issuer, key);
  }

  if (options.profile) {
    if (!needHttp) throw new SanityError('--profile needs the http part and the same/distinct scenarios');
    let report;
    try {
      report = await runProfile(options, issuerProcess, tokens, env);
    } finally {
      await stopChild(issuerProcess.child);
    }
    const out = options.out ?? join(RESULTS, 'profile.md');
    writeFileSync(out, report);
    console.log(report);
    log(`profile report written to ${relative(ROOT, out)} (${Math.round((performance.now() - startedAt) / 1000)} s)`);
    return 0;
  }

  try {
    if (needHttp) {
      for (const scenario of options.scenarios.filter((s) => s in SCENARIO_INFO)) {
        const ids = scenarioContenders(scenario, options.contenders);
        if (ids.length < 2) {
          log(`${scenario}: skipped (no contender to compare with among ${options.contenders.join(', ')})`);
          continue;
        }
        const result = await loadScenario(scenario, ids, issuerProcess, tokens, options, sanity);
        data.scenarios[scenario] = result;
        data.summary[scenario] = summarizeScenario(result);
      }
      if (options.scenarios.includes('cold')) {
        data.cold = [];
        for (const id of scenarioContenders('cold', options.contenders))
          data.cold.push(await coldStart(id, issuerProcess, tokens, options));
      }
      if (options.scenarios.includes('flood')) {
        data.flood = [];
        for (const id of scenarioContenders('flood', options.contenders))
          data.flood.push(await kidFlood(id, issuerProcess, tokens, options));
      }
    }
  } finally {
    if (issuerProcess) await stopChild(issuerProcess.child);
  }

  if (options.parts.includes('micro')) {
    log('micro-benchmark');
    const microOptions = {
      seconds: options.microSeconds,
      rounds: options.microRounds,
      // Past cache.max so "distinct" is a miss, except in a smoke run, which only checks that it works.
      tokens: options.mode === 'smoke' ? options.tokens : Math.max(options.tokens, CACHE_MAX + 2_000),
      maxOtherCpu: options.maxOtherCpu,
      retries: options.retries,
      quietWait: Math.min(options.quietWait, 10),
    };
    data.micro = await runJob(join(BENCH, 'micro.mjs'), [JSON.stringify(microOptions)], {
      label: 'micro-benchmark',
      timeoutMs: 10 * 60_000,
      onProgress: (text) => log(text),
    });
  }
  if (options.parts.includes('memory')) {
    data.memory = [];
    for (const [alg, count] of [
      ['HS256', options.memoryTokens],
      ['RS256', options.memoryRsaTokens],
    ]) {
      if (count <= 0) continue;
      log(`memory check: ${count.toLocaleString('en-US')} ${alg} tokens`);
      data.memory.push(
        await runJob(join(BENCH, 'memory.mjs'), [JSON.stringify({ alg, tokens: count })], {
          execArgv: ['--expose-gc'],
          label: `memory ${alg}`,
          timeoutMs: 20 * 60_000,
          onProgress: (text) => log(text),
        }),
      );
    }
  }

  data.budget = budget(data.summary, data.cold, data.flood, data.memory, data.scenarios);
  data.memoryVerdicts = data.memory?.map(memoryVerdict);
  data.elapsedSeconds = (performance.now() - startedAt) / 1000;
  env.loadavgEnd = os.loadavg();
  const report = renderReport(data);
  const out = options.out ?? join(RESULTS, 'latest.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, report);
  writeFileSync(out.replace(/\.md$/, '') + '.json', JSON.stringify(data, null, 2));
  console.log(report);
  log(`report written to ${relative(ROOT, out)} (${Math.round(data.elapsedSeconds)} s)`);
  if (options.writeDocs) updateDocs(report);

  if (sanity.length > 0) {
    for (const line of sanity) log(`SANITY: ${line}`);
    return 2;
  }
  if (options.check) {
    const missed = data.budget.filter((row) => row.pass === false && !row.info);
    const unknown = data.budget.filter((row) => row.pass === undefined && !row.info);
    for (const row of unknown) log(`check: not evaluated: ${row.name}`);
    if (missed.length > 0) {
      for (const row of missed)
        log(
          `BUDGET MISSED: ${row.name}: ${typeof row.value === 'number' ? row.value.toFixed(2) : row.value} (budget ${row.target})`,
        );
      return 1;
    }
    log('check: every evaluated budget is met');
  }
  return 0;
}

const DOCS = join(ROOT, 'docs', 'BENCHMARKS.md');
const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

/** Replaces the generated block of docs/BENCHMARKS.md with this run's report. */
function updateDocs(report) {
  if (!existsSync(DOCS)) {
    log('docs/BENCHMARKS.md not found; --write-docs skipped');
    return;
  }
  const text = readFileSync(DOCS, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) {
    log(`docs/BENCHMARKS.md has no ${START} … ${END} block; --write-docs skipped`);
    return;
  }
  const body = report.replace(/^# .*\n+/, ''); // the document has its own title
  writeFileSync(DOCS, `${text.slice(0, start + START.length)}\n${body.trim()}\n${text.slice(end)}`);
  log('docs/BENCHMARKS.md results block updated');
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[bench] ${error instanceof SanityError ? 'error' : 'failed'}: ${error?.stack ?? error}`);
    process.exit(2);
  },
);
