#!/usr/bin/env node
/**
 * Soak test: sustained autocannon load on an Express API protected by express-m2m, with a
 * key rotation and a JWKS outage in the middle.
 *
 *   node scripts/soak.mjs [--duration 60] [--connections 16] [--max-heap-growth-mb 32] [--no-build]
 *
 * Layout (three roles, two processes):
 * - this process: the test issuer (`express-m2m/testing`), a JWKS fault proxy in front of it,
 *   and autocannon;
 * - a child process (`--role api`, started with --expose-gc): the API under test, built
 *   from `dist/` (`requireM2M` + `requireScopes` + `m2mErrorHandler`), configured with
 *   `issuer` and `jwksUri` pointing at the proxy (so discovery is skipped and every JWKS
 *   fetch goes through the fault switch). Keeping the API alone in its process makes its
 *   heap numbers meaningful and lets the load generator use the other core.
 *
 * Timeline (D = duration): key rotation at 0.25 D; JWKS outage of min(10 s, D/3) centred on
 * 0.5 D, in three equal phases: HTTP 503, connection reset, hang (longer than the API's
 * JWKS timeout). The API uses jwks { cacheMaxAge: 2, cooldown: 1, timeout: 1 } so the outage
 * is actually felt (with the 600 s default a 10 s outage would go unnoticed).
 *
 * Request mix (round robin): valid tokens of the first key; valid tokens of the rotated key
 * (once it exists); expired, forged (unpublished key), missing, malformed; a valid token
 * without the required scope.
 *
 * Violations (exit code 1):
 * - any 5xx, any socket error or timeout;
 * - any non-package error reaching the API's last error handler, any unhandled rejection or
 *   uncaught exception in either process;
 * - a token that should be refused being accepted (or the wrong 4xx);
 * - a valid token refused outside the documented behaviour. Documented: a token signed by a
 *   key the API has not fetched yet is 401 until the next JWKS fetch, which happens at most
 *   once per cooldown; so tokens of the rotated key may be refused for cooldown + timeout
 *   (+0.5 s slack) after the rotation, and, if that window reaches into the outage, until
 *   cooldown + timeout after the outage ends. Tokens of a known key must pass throughout,
 *   outage included (stale-if-error);
 * - heap growth of the API (after GC, end vs start) above --max-heap-growth-mb.
 *
 * `--duration 5` is the CI variant. `dist/` is rebuilt first when missing or older than
 * `src/` (use --no-build to skip).
 *
 * `--fleet` soaks a fleet instead (see runFleet below): two API processes sharing one
 * redis-server for the DPoP replay store and the revocation list, DPoP traffic with a fresh
 * proof per request, a revocation and a Redis restart in the middle.
 *
 *   node scripts/soak.mjs --fleet [--duration 20] [--connections 8] [--client node-redis|ioredis]
 *                         [--max-requests n] [--max-heap-growth-mb 32] [--no-build]
 */
import { fork, spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureDist } from './ensure-dist.mjs';

const AUDIENCE = 'https://api.example.com';
const SCOPE = 'read:orders';
const API_JWKS = { cacheMaxAge: 2, cooldown: 1, timeout: 1 };
// Fleet mode: the origin every instance is addressed as (a load balancer's), the client libraries,
// how long after the revoke call no instance may accept the token, and how long after Redis is
// back a DPoP request may still get 503 (reconnect, resubscribe, merge).
const FLEET_ORIGIN = 'https://api.example.com';
const CLIENTS = ['node-redis', 'ioredis'];
const PROPAGATION_S = 0.5;
const RECOVERY_S = 2;
const FLEET_DEFAULT_DURATION = 20;

const { values: args } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '16' },
    'max-heap-growth-mb': { type: 'string', default: '32' },
    'no-build': { type: 'boolean', default: false },
    fleet: { type: 'boolean', default: false },
    client: { type: 'string', default: 'node-redis' },
    'max-requests': { type: 'string' },
  },
});

if (args.role === 'api') await runApi();
else if (args.role === 'fleet-api') await runFleetApi();
else process.exitCode = args.fleet ? await runFleet() : await runMain();

// =============================================================================== the API

async function runApi() {
  const { requireM2M, requireScopes, m2mErrorHandler } = await import('../dist/index.js');
  const { default: express } = await import('express');
  const config = JSON.parse(process.env.SOAK_CONFIG ?? '{}');
  const stats = {
    foreignErrors: 0,
    unhandled: 0,
    uncaught: 0,
    events: { fetched: 0, fetch_failed: 0, serving_stale: 0 },
    lastForeign: '',
  };
  process.on('unhandledRejection', () => stats.unhandled++);
  process.on('uncaughtException', (error) => {
    stats.uncaught++;
    stats.lastForeign = String(error?.stack ?? error);
  });

  const m2m = requireM2M({
    issuer: config.issuer,
    jwksUri: config.jwksUri,
    audience: AUDIENCE,
    jwks: { ...API_JWKS, onEvent: (event) => stats.events[event.type]++ },
  });
  const app = express();
  app.get('/orders', m2m, requireScopes(SCOPE), (req, res) => {
    res.json({ ok: true, client: req.auth.clientId });
  });
  app.use(m2mErrorHandler());
  app.use((error, _req, res, _next) => {
    stats.foreignErrors++;
    stats.lastForeign = String(error?.stack ?? error);
    res.status(500).json({ error: 'internal' });
  });
  await m2m.ready();
  const server = http.createServer(app);
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  const heap = () => {
    global.gc?.();
    global.gc?.();
    return process.memoryUsage().heapUsed;
  };
  process.on('message', (message) => {
    if (message === 'heap') process.send({ type: 'heap', heapUsed: heap() });
    if (message === 'stop') {
      process.send({ type: 'stats', stats, heapUsed: heap() }, () => {
        server.closeAllConnections();
        server.close(() => process.exit(0));
      });
    }
  });
  process.send({ type: 'ready', port: server.address().port });
}

// ============================================================================== the driver

async function runMain() {
  const duration = Number(args.duration ?? '60');
  const connections = Number(args.connections);
  const maxHeapGrowth = Number(args['max-heap-growth-mb']) * 1024 * 1024;
  if (!(duration > 0) || !(connections > 0) || !(maxHeapGrowth > 0)) {
    console.error(
      'usage: node scripts/soak.mjs [--duration s] [--connections n] [--max-heap-growth-mb n] [--no-build]',
    );
    return 2;
  }
  if (!args['no-build']) ensureDist({ log: (line) => console.log(`[soak] ${line}`) });

  const { createTestIssuer } = await import('../dist/testing/index.js');
  const { default: autocannon } = await import('autocannon');

  const unhandled = [];
  process.on('unhandledRejection', (reason) => unhandled.push(String(reason)));

  const issuer = await createTestIssuer({
    clients: [{ clientId: 'soak', clientSecret: 'x', grants: { [AUDIENCE]: [SCOPE] } }],
  });
  const proxy = await startJwksProxy(issuer.jwksUri);

  // ---- the schedule
  const rotationAt = 0.25 * duration;
  const outageLength = Math.min(10, duration / 3);
  const outageStart = 0.5 * duration - outageLength / 2;
  const outageEnd = outageStart + outageLength;
  const refetchWindow = API_JWKS.cooldown + API_JWKS.timeout + 0.5;
  // Measured from when tokens of the new key are first handed out (key generation and minting take a moment).
  const rotation = { at: Number.POSITIVE_INFINITY };
  const newKeyMayFail = (t) =>
    (t >= rotation.at && t <= rotation.at + refetchWindow) ||
    (rotation.at + refetchWindow > outageStart && t >= outageStart && t <= outageEnd + refetchWindow);

  // ---- the API child
  const api = fork(fileURLToPath(import.meta.url), ['--role', 'api'], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, SOAK_CONFIG: JSON.stringify({ issuer: issuer.issuer, jwksUri: `${proxy.url}/jwks.json` }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const nextMessage = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (message) => {
        if (message?.type !== type) return;
        api.off('message', onMessage);
        api.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code) => reject(new Error(`API process exited (${code}) while waiting for ${type}`));
      api.on('message', onMessage);
      api.once('exit', onExit);
    });
  const { port } = await nextMessage('ready');

  // ---- token pools (valid tokens are reused: the verified-token cache serves most of them)
  const mintMany = (n, claims, options) => Promise.all(Array.from({ length: n }, () => issuer.mint(claims, options)));
  const pools = {
    valid: await mintMany(400, {}, { clientId: 'soak', scope: SCOPE }),
    validNew: [],
    expired: await mintMany(50, {}, { clientId: 'soak', scope: SCOPE, expiresIn: -120 }),
    forged: await mintMany(50, {}, { clientId: 'soak', scope: SCOPE, foreignKey: true }),
    noScope: await mintMany(50, {}, { clientId: 'soak', scope: 'write:other' }),
  };
  const MIX = [
    'valid',
    'validNew',
    'valid',
    'expired',
    'valid',
    'forged',
    'validNew',
    'missing',
    'valid',
    'malformed',
    'noScope',
  ];
  const EXPECTED = {
    expired: [401, 'invalid_token'],
    forged: [401, 'invalid_token'],
    missing: [401, 'unauthorized'],
    malformed: [400, 'invalid_request'],
    noScope: [403, 'insufficient_scope'],
  };

  // ---- accounting
  const started = { at: 0 };
  const elapsed = () => (performance.now() - started.at) / 1000;
  const counts = {};
  const violations = [];
  const violation = (text) => {
    if (violations.length < 50) violations.push(text);
    else if (violations.length === 50) violations.push('… (more violations not shown)');
  };
  const tolerated = { newKeyRefusals: 0 };
  let sequence = 0;

  const setupRequest = (req, context) => {
    let kind = MIX[sequence++ % MIX.length];
    if (kind === 'validNew' && pools.validNew.length === 0) kind = 'valid';
    context.kind = kind;
    context.sentAt = elapsed();
    const headers = { ...req.headers };
    delete headers.authorization;
    const pool = pools[kind];
    if (pool !== undefined) headers.authorization = `Bearer ${pool[sequence % pool.length]}`;
    if (kind === 'malformed') headers.authorization = 'Bearer not a token';
    return { ...req, headers };
  };

  const slowest = [];
  const onResponse = (status, body, context) => {
    const { kind, sentAt } = context;
    const key = `${kind} ${status}`;
    counts[key] = (counts[key] ?? 0) + 1;
    const at = elapsed();
    const latency = at - sentAt;
    if (slowest.length < 5 || latency > slowest[slowest.length - 1].latency) {
      slowest.push({ latency, kind, status, sentAt });
      slowest.sort((a, b) => b.latency - a.latency);
      slowest.length = Math.min(slowest.length, 5);
    }
    if (status >= 500) return violation(`${status} for ${kind} at ${at.toFixed(2)} s: ${String(body).slice(0, 120)}`);
    if (kind === 'valid' || kind === 'validNew') {
      if (status === 200) return;
      const documented = kind === 'validNew' && status === 401 && (newKeyMayFail(sentAt) || newKeyMayFail(at));
      if (documented) tolerated.newKeyRefusals++;
      else
        violation(
          `valid token (${kind}) refused with ${status} at ${at.toFixed(2)} s (sent ${sentAt.toFixed(2)} s): ${String(body).slice(0, 120)}`,
        );
      return;
    }
    const [expectedStatus, expectedError] = EXPECTED[kind];
    let error;
    try {
      error = JSON.parse(body).error;
    } catch {
      error = undefined;
    }
    if (status !== expectedStatus || error !== expectedError) {
      violation(
        `${kind} answered ${status} ${error} (expected ${expectedStatus} ${expectedError}) at ${at.toFixed(2)} s`,
      );
    }
  };

  // ---- run
  api.send('heap');
  const heapStart = (await nextMessage('heap')).heapUsed;
  const heapSamples = [];
  const log = (text) => console.log(`[soak ${elapsed().toFixed(1).padStart(5)} s] ${text}`);
  console.log(
    `[soak] ${duration} s, ${connections} connections; rotation at ${rotationAt.toFixed(1)} s; ` +
      `JWKS outage ${outageStart.toFixed(1)}-${outageEnd.toFixed(1)} s (503, reset, hang); API heap at start ${mb(heapStart)}`,
  );

  const timers = [];
  const at = (seconds, action) =>
    timers.push(
      setTimeout(() => Promise.resolve(action()).catch((error) => violation(`schedule: ${error}`)), seconds * 1000),
    );
  at(rotationAt, async () => {
    await issuer.rotateKeys();
    const fresh = await mintMany(400, {}, { clientId: 'soak', scope: SCOPE });
    rotation.at = elapsed();
    pools.validNew = fresh;
    log(`keys rotated: new kid ${issuer.currentKid()}, its tokens join the mix`);
  });
  const phase = outageLength / 3;
  at(outageStart, () => ((proxy.mode = '503'), log('JWKS outage begins: HTTP 503')));
  at(outageStart + phase, () => ((proxy.mode = 'reset'), log('JWKS outage: connection resets')));
  at(outageStart + 2 * phase, () => ((proxy.mode = 'hang'), log('JWKS outage: hanging')));
  at(outageEnd, () => ((proxy.mode = 'up'), log('JWKS outage ends')));
  const sampler = setInterval(
    async () => {
      api.send('heap');
      const { heapUsed } = await nextMessage('heap');
      heapSamples.push(heapUsed);
      log(`API heap ${mb(heapUsed)}`);
    },
    Math.max(1000, (duration * 1000) / 6),
  );

  started.at = performance.now();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    pipelining: 1,
    duration,
    timeout: 10,
    requests: [{ method: 'GET', path: '/orders', setupRequest, onResponse }],
  });
  clearInterval(sampler);
  for (const timer of timers) clearTimeout(timer);

  // ---- wrap up
  await new Promise((resolve) => setTimeout(resolve, 1000));
  api.send('stop');
  const { stats, heapUsed: heapEnd } = await nextMessage('stats');
  await new Promise((resolve) => api.once('exit', resolve));
  await proxy.close();
  await issuer.close();

  if (result.errors > 0) violation(`${result.errors} socket errors`);
  if (result.timeouts > 0) violation(`${result.timeouts} request timeouts`);
  if (result.non2xx === undefined) violation('autocannon gave no status counts');
  if (stats.foreignErrors > 0)
    violation(`${stats.foreignErrors} non-package errors reached the API error handler: ${stats.lastForeign}`);
  if (stats.unhandled > 0) violation(`${stats.unhandled} unhandled rejections in the API process`);
  if (stats.uncaught > 0) violation(`${stats.uncaught} uncaught exceptions in the API process: ${stats.lastForeign}`);
  if (unhandled.length > 0) violation(`${unhandled.length} unhandled rejections in the driver: ${unhandled[0]}`);
  if (proxy.failures === 0) violation('the outage never hit a JWKS fetch (schedule too short?)');
  if (heapEnd - heapStart > maxHeapGrowth)
    violation(`API heap grew by ${mb(heapEnd - heapStart)} (limit ${mb(maxHeapGrowth)})`);

  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log('\n[soak] results');
  console.log(
    `  requests: ${total} (${Math.round(result.requests.average)} req/s average), 5xx: ${result['5xx'] ?? 0}, errors: ${result.errors}, timeouts: ${result.timeouts}`,
  );
  console.log(`  latency: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`);
  console.log(
    `  slowest: ${slowest.map((r) => `${(r.latency * 1000).toFixed(0)} ms (${r.kind} ${r.status}, sent at ${r.sentAt.toFixed(2)} s)`).join('; ')}`,
  );
  console.log(`  by kind and status: ${JSON.stringify(Object.fromEntries(Object.entries(counts).sort()))}`);
  console.log(`  rotated-key tokens refused inside the documented window: ${tolerated.newKeyRefusals}`);
  console.log(`  JWKS fetches through the proxy: ${proxy.served} served, ${proxy.failures} failed (outage)`);
  console.log(`  key-set events in the API: ${JSON.stringify(stats.events)}`);
  console.log(
    `  API heap after GC: start ${mb(heapStart)}, end ${mb(heapEnd)} (${signedMb(heapEnd - heapStart)}); samples ${heapSamples.map(mb).join(', ')}`,
  );
  if (violations.length > 0) {
    console.log(`\n[soak] FAILED: ${violations.length} violation(s)`);
    for (const text of violations) console.log(`  - ${text}`);
    return 1;
  }
  console.log(
    '\n[soak] PASSED: no 5xx, no unhandled rejection, no valid token refused outside the documented behaviour',
  );
  return 0;
}

// ========================================================================= the fleet API

/**
 * One API instance of the fleet (`--role fleet-api`): requireM2M with the DPoP replay store
 * and the revocation list on Redis, addressed as FLEET_ORIGIN (as behind a load balancer).
 */
async function runFleetApi() {
  const { requireM2M, requireScopes, m2mErrorHandler } = await import('../dist/index.js');
  const { createRedisReplayStore, createRedisRevocationList } = await import('../dist/redis.js');
  const { default: express } = await import('express');
  const config = JSON.parse(process.env.SOAK_CONFIG ?? '{}');
  const stats = { foreignErrors: 0, unhandled: 0, uncaught: 0, unavailable: 0, mergeFailures: 0, lastForeign: '' };
  process.on('unhandledRejection', (reason) => {
    stats.unhandled++;
    stats.lastForeign = String(reason);
  });
  process.on('uncaughtException', (error) => {
    stats.uncaught++;
    stats.lastForeign = String(error?.stack ?? error);
  });
  process.on('disconnect', () => process.exit(0));

  const redis = await connectRedis(config.client, config.redisPort);
  const revocations = createRedisRevocationList(redis, { onError: () => stats.mergeFailures++ });
  await revocations.ready();
  const m2m = requireM2M({
    issuer: config.issuer,
    jwksUri: config.jwksUri,
    audience: AUDIENCE,
    revocations,
    dpop: { replayStore: createRedisReplayStore(redis), origin: FLEET_ORIGIN },
  });
  const app = express();
  app.get('/orders', m2m, requireScopes(SCOPE), (req, res) => {
    res.json({ ok: true, client: req.auth.clientId });
  });
  app.use(m2mErrorHandler({ onError: (error) => error.status === 503 && stats.unavailable++ }));
  app.use((error, _req, res, _next) => {
    stats.foreignErrors++;
    stats.lastForeign = String(error?.stack ?? error);
    res.status(500).json({ error: 'internal' });
  });
  await m2m.ready();
  const server = http.createServer(app);
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  const heap = () => {
    global.gc?.();
    global.gc?.();
    return process.memoryUsage().heapUsed;
  };
  process.on('message', async (message) => {
    if (message === 'heap') process.send({ type: 'heap', heapUsed: heap() });
    if (message?.type === 'revoke') {
      const startedAt = performance.timeOrigin + performance.now();
      try {
        const entry = await revocations.revokeClient(message.clientId);
        process.send({ type: 'revoked', entry, startedAt });
      } catch (error) {
        process.send({ type: 'revoked', error: String(error) });
      }
    }
    if (message === 'stop') {
      await revocations.close();
      process.send({ type: 'stats', stats, heapUsed: heap() }, () => {
        server.closeAllConnections();
        server.close(() => process.exit(0));
      });
    }
  });
  process.send({ type: 'ready', port: server.address().port });
}

/** A connected client of `kind` that reconnects quickly and never crashes the process on an error event. */
async function connectRedis(kind, port) {
  if (kind === 'ioredis') {
    const { Redis } = await import('ioredis');
    const client = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => 50,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => {});
    await client.connect();
    return client;
  }
  const { createClient } = await import('redis');
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {});
  await client.connect();
  return client;
}

// ======================================================================= the fleet driver

/**
 * Soaks a fleet: this process runs redis-server (random port of 127.0.0.1, no persistence),
 * the test issuer and the load; two API processes (`--role fleet-api`, --expose-gc) share
 * the Redis. `--connections` workers each send one request at a time to the instances in
 * turn, until the duration or `--max-requests` is reached.
 *
 * Request mix: a DPoP-bound token with a fresh proof; a replay, on the other instance, of a
 * proof an instance accepted; a bearer token; a bearer token of a client revoked mid-run.
 *
 * Timeline (D = duration): the client is revoked through instance A at 0.3 D; Redis is
 * killed at 0.5 D and started again (empty) min(3 s, D/6) later.
 *
 * Violations (exit code 1): any 5xx other than a 503 for a DPoP request between the Redis
 * stop and RECOVERY_S after it is back; a bearer request refused; an accepted replay; the
 * revoked client's token accepted more than PROPAGATION_S after the revoke call; a DPoP
 * request refused outside the outage; no 503 during the outage or no DPoP success on each
 * instance after it (the outage was not felt, or not recovered from); the revocation not
 * written back to the restarted Redis; socket errors, timeouts, unhandled rejections, errors
 * that are not the package's; API heap growth above --max-heap-growth-mb.
 */
async function runFleet() {
  const duration = Number(args.duration ?? FLEET_DEFAULT_DURATION);
  const workers = Number(args.connections);
  const maxRequests = Number(args['max-requests'] ?? duration * 5000);
  const maxHeapGrowth = Number(args['max-heap-growth-mb']) * 1024 * 1024;
  const kind = args.client;
  if (!(duration >= 3) || !(workers > 0) || !(maxRequests > 0) || !(maxHeapGrowth > 0) || !CLIENTS.includes(kind)) {
    console.error(
      'usage: node scripts/soak.mjs --fleet [--duration s (>= 3)] [--connections n] [--client node-redis|ioredis] ' +
        '[--max-requests n] [--max-heap-growth-mb n] [--no-build]',
    );
    return 2;
  }
  if (!args['no-build']) ensureDist({ log: (line) => console.log(`[soak] ${line}`) });
  const { createTestIssuer, createDPoPKey } = await import('../dist/testing/index.js');

  const unhandled = [];
  process.on('unhandledRejection', (reason) => unhandled.push(String(reason)));
  const violations = [];
  const violation = (text) => {
    if (violations.length < 50) violations.push(text);
    else if (violations.length === 50) violations.push('… (more violations not shown)');
  };
  const started = { at: performance.now() };
  const elapsed = () => (performance.now() - started.at) / 1000;
  const log = (text) => console.log(`[soak ${elapsed().toFixed(1).padStart(5)} s] ${text}`);

  const redisServer = await startRedisServer();
  const issuer = await createTestIssuer();
  const apis = [];
  // Whatever goes wrong, nothing this run started outlives it.
  const watchdog = setTimeout(
    () => {
      console.error('[soak] FAILED: the fleet soak did not finish in time');
      for (const api of apis) api.child.kill('SIGKILL');
      redisServer.kill();
      process.exit(1);
    },
    (duration + 90) * 1000,
  );
  watchdog.unref();
  try {
    const config = { issuer: issuer.issuer, jwksUri: issuer.jwksUri, client: kind, redisPort: redisServer.port };
    for (const name of ['A', 'B']) apis.push(await startFleetApi(name, config));
    const key = await createDPoPKey();
    const tokens = {
      dpop: await issuer.mint({ cnf: { jkt: key.jkt } }, { clientId: 'soak-dpop', scope: SCOPE }),
      bearer: await issuer.mint({}, { clientId: 'soak-bearer', scope: SCOPE }),
      revoked: await issuer.mint({}, { clientId: 'soak-revoked', scope: SCOPE }),
    };

    // ---- the schedule (seconds from the start of the load)
    const revokeAt = 0.3 * duration;
    const outageStart = 0.5 * duration;
    const outageLength = Math.min(3, duration / 6);
    const events = { revokedAt: Infinity, stoppedAt: Infinity, restartedAt: Infinity, generation: 0 };
    const outageMayAffect = (sentAt, at) => at >= events.stoppedAt - 0.05 && sentAt <= events.restartedAt + RECOVERY_S;

    // ---- accounting
    const counts = {};
    const accepted = []; // proofs an instance accepted since the last Redis start: { proof, instance }
    const firstRefusal = [Infinity, Infinity]; // per instance: when the first refused request was sent
    const recovered = [false, false];
    let outage503 = 0;
    let sent = 0;
    let socketErrors = 0;
    const latencies = [];
    const check = (request, status, body, sentAt, at) => {
      const key = `${request.kind} ${status}`;
      counts[key] = (counts[key] ?? 0) + 1;
      const where = `on ${apis[request.instance].name} at ${at.toFixed(2)} s (sent ${sentAt.toFixed(2)} s)`;
      if (status === 503 && (request.kind === 'dpop' || request.kind === 'replay') && outageMayAffect(sentAt, at)) {
        outage503++;
        return;
      }
      if (status >= 500) return violation(`${status} for ${request.kind} ${where}: ${body.slice(0, 120)}`);
      const error = parseError(body);
      if (request.kind === 'bearer' && status !== 200) violation(`bearer token refused (${status} ${error}) ${where}`);
      if (request.kind === 'dpop') {
        if (status !== 200) return violation(`DPoP request refused (${status} ${error}) ${where}`);
        if (request.generation === events.generation)
          accepted.push({ proof: request.proof, instance: request.instance });
        if (sentAt > events.restartedAt) recovered[request.instance] = true;
      }
      if (request.kind === 'replay') {
        if (status === 200) violation(`replayed DPoP proof accepted ${where}`);
        else if (status !== 401 || !error.includes('DPoP proof replayed'))
          violation(`replay answered ${status} ${error} ${where}`);
      }
      if (request.kind === 'revoked') {
        const revoked = status === 401 && error.includes('token revoked');
        if (revoked) firstRefusal[request.instance] = Math.min(firstRefusal[request.instance], sentAt);
        else if (status !== 200) violation(`revoked-client token answered ${status} ${error} ${where}`);
        else if (sentAt > events.revokedAt + PROPAGATION_S)
          violation(`revoked token accepted ${(sentAt - events.revokedAt).toFixed(3)} s after the revocation ${where}`);
      }
    };

    const MIX = ['dpop', 'bearer', 'dpop', 'replay', 'dpop', 'revoked'];
    const proofUrl = `${FLEET_ORIGIN}/orders`;
    const deadline = duration;
    const worker = async (offset) => {
      let sequence = offset;
      while (elapsed() < deadline && sent < maxRequests) {
        sent++;
        sequence++;
        let kind = MIX[sequence % MIX.length];
        // Each kind goes to both instances in turn (a parity of `sequence` alone would tie kinds to instances).
        let instance = Math.floor(sequence / MIX.length) % 2;
        const headers = {};
        const request = { kind, instance, generation: events.generation };
        if (kind === 'replay') {
          const used = accepted.shift();
          if (used === undefined) kind = request.kind = 'dpop';
          else {
            instance = request.instance = 1 - used.instance;
            headers.authorization = `DPoP ${tokens.dpop}`;
            headers.dpop = used.proof;
          }
        }
        if (kind === 'dpop') {
          request.proof = await key.proof('GET', proofUrl, { accessToken: tokens.dpop });
          headers.authorization = `DPoP ${tokens.dpop}`;
          headers.dpop = request.proof;
        }
        if (kind === 'bearer' || kind === 'revoked') headers.authorization = `Bearer ${tokens[kind]}`;
        const sentAt = elapsed();
        try {
          const response = await fetch(`${apis[instance].url}/orders`, {
            headers,
            signal: AbortSignal.timeout(10_000),
          });
          const body = await response.text();
          const at = elapsed();
          latencies.push(at - sentAt);
          check(request, response.status, body, sentAt, at);
        } catch (error) {
          socketErrors++;
          violation(`${kind} request to ${apis[instance].name} failed at ${elapsed().toFixed(2)} s: ${error}`);
        }
      }
    };

    // ---- run
    const heapStart = await Promise.all(apis.map((api) => api.heap()));
    console.log(
      `[soak] fleet: ${duration} s, ${workers} workers, ${kind}, Redis on port ${redisServer.port}; revocation at ` +
        `${revokeAt.toFixed(1)} s; Redis down ${outageStart.toFixed(1)}-${(outageStart + outageLength).toFixed(1)} s; ` +
        `API heaps at start ${heapStart.map(mb).join(', ')}`,
    );
    const timers = [];
    const at = (seconds, action) =>
      timers.push(
        setTimeout(() => Promise.resolve(action()).catch((error) => violation(`schedule: ${error}`)), seconds * 1000),
      );
    let propagation = '';
    at(revokeAt, async () => {
      events.revokedAt = elapsed();
      const { entry, startedAt, error } = await apis[0].request(
        { type: 'revoke', clientId: 'soak-revoked' },
        'revoked',
      );
      if (error !== undefined) throw new Error(`the revocation failed: ${error}`);
      // The child's clock reading of the call start, on this process's timeline.
      events.revokedAt = (startedAt - performance.timeOrigin - started.at) / 1000;
      log(`client ${entry.clientId} revoked through instance A (issuedBefore ${entry.issuedBefore})`);
    });
    at(outageStart, async () => {
      events.generation++;
      accepted.length = 0;
      events.stoppedAt = elapsed();
      await redisServer.stop();
      log('Redis killed');
    });
    at(outageStart + outageLength, async () => {
      await redisServer.start();
      events.restartedAt = elapsed();
      log('Redis started again, empty');
    });
    started.at = performance.now();
    await Promise.all(Array.from({ length: workers }, (_, i) => worker(i)));
    for (const timer of timers) clearTimeout(timer);

    // ---- wrap up
    const hashLength = await redisHashLength(redisServer.port, 'express-m2m:revocations:entries');
    if (hashLength !== 1) violation(`the revocation list in the restarted Redis holds ${hashLength} entries, not 1`);
    const results = await Promise.all(apis.map((api) => api.stop()));
    for (const [i, { stats, heapUsed }] of results.entries()) {
      const name = apis[i].name;
      if (stats.foreignErrors > 0)
        violation(`${name}: ${stats.foreignErrors} non-package errors: ${stats.lastForeign}`);
      if (stats.unhandled > 0) violation(`${name}: ${stats.unhandled} unhandled rejections: ${stats.lastForeign}`);
      if (stats.uncaught > 0) violation(`${name}: ${stats.uncaught} uncaught exceptions: ${stats.lastForeign}`);
      if (heapUsed - heapStart[i] > maxHeapGrowth)
        violation(`${name}: heap grew by ${mb(heapUsed - heapStart[i])} (limit ${mb(maxHeapGrowth)})`);
      if (!recovered[i]) violation(`${name}: no DPoP request passed after Redis came back`);
      if (firstRefusal[i] === Infinity) violation(`${name}: the revoked client's token was never refused`);
    }
    if (!Number.isFinite(events.stoppedAt) || !Number.isFinite(events.restartedAt))
      violation('the Redis restart did not happen during the run (duration too short?)');
    if (outage503 === 0) violation('no DPoP request got 503 while Redis was down (the outage was not felt)');
    if (unhandled.length > 0) violation(`${unhandled.length} unhandled rejections in the driver: ${unhandled[0]}`);
    if (Number.isFinite(events.revokedAt)) {
      propagation = firstRefusal
        .map(
          (t, i) =>
            `${apis[i].name} ${Number.isFinite(t) ? `${((t - events.revokedAt) * 1000).toFixed(0)} ms` : 'never'}`,
        )
        .join(', ');
    }

    latencies.sort((x, y) => x - y);
    const percentile = (p) =>
      ((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 1000).toFixed(1);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log('\n[soak] fleet results');
    console.log(
      `  requests: ${total} (${Math.round(total / duration)} req/s), socket errors: ${socketErrors}, ` +
        `latency p50 ${percentile(0.5)} ms, p99 ${percentile(0.99)} ms`,
    );
    console.log(`  by kind and status: ${JSON.stringify(Object.fromEntries(Object.entries(counts).sort()))}`);
    console.log(`  503 during the Redis outage (expected): ${outage503}`);
    console.log(`  first refused request sent after the revoke call: ${propagation}`);
    console.log(
      `  API heaps after GC: ${results.map(({ heapUsed }, i) => `${apis[i].name} ${mb(heapStart[i])} → ${mb(heapUsed)} (${signedMb(heapUsed - heapStart[i])})`).join(', ')}`,
    );
    console.log(
      `  merge failures reported while Redis was down: ${results.map(({ stats }) => stats.mergeFailures).join(', ')}`,
    );
  } finally {
    clearTimeout(watchdog);
    for (const api of apis) api.child.kill('SIGKILL');
    await redisServer.stop();
    await issuer.close();
  }
  if (violations.length > 0) {
    console.log(`\n[soak] FAILED: ${violations.length} violation(s)`);
    for (const text of violations) console.log(`  - ${text}`);
    return 1;
  }
  console.log(
    '\n[soak] PASSED: no unexpected 5xx, no accepted replay, the revocation enforced within ' +
      `${PROPAGATION_S * 1000} ms on both instances and kept through the Redis restart`,
  );
  return 0;
}

/** Forks one fleet API process and waits until it listens. */
async function startFleetApi(name, config) {
  const child = fork(fileURLToPath(import.meta.url), ['--role', 'fleet-api'], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, SOAK_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const nextMessage = (type) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`API ${name} sent no ${type} within 30 s`)), 30_000);
      const onMessage = (message) => {
        if (message?.type !== type) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code) => {
        clearTimeout(timer);
        reject(new Error(`API ${name} exited (${code}) while waiting for ${type}`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const { port } = await nextMessage('ready');
  return {
    name,
    child,
    url: `http://127.0.0.1:${port}`,
    request(message, replyType) {
      const reply = nextMessage(replyType);
      child.send(message);
      return reply;
    },
    async heap() {
      const reply = nextMessage('heap');
      child.send('heap');
      return (await reply).heapUsed;
    },
    async stop() {
      const reply = nextMessage('stats');
      child.send('stop');
      return reply;
    },
  };
}

/** redis-server on a random free port of 127.0.0.1, without persistence; `stop()` kills it, `start()` brings it back empty. */
async function startRedisServer() {
  const port = await new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  let child;
  const ping = () =>
    new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      const done = (ok) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(200, () => done(false));
      socket.on('error', () => done(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
    });
  const server = {
    port,
    async start() {
      const argv = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
      child = spawn('redis-server', [...argv, '--dir', tmpdir(), '--loglevel', 'warning'], { stdio: 'ignore' });
      child.once('error', () => {});
      const until = Date.now() + 5000;
      while (!(await ping())) {
        if (Date.now() > until) throw new Error('redis-server did not start (is it installed?)');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    kill() {
      child?.kill('SIGKILL');
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
  await server.start();
  return server;
}

/** HLEN over a plain RESP connection, so the driver needs no Redis client. */
function redisHashLength(port, key) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(2000, () => {
      socket.destroy();
      reject(new Error('HLEN timed out'));
    });
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`*2\r\n$4\r\nHLEN\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n`));
    socket.on('data', (data) => {
      socket.destroy();
      const match = /^:(\d+)\r\n/.exec(data.toString());
      if (match === null) reject(new Error(`unexpected HLEN reply ${JSON.stringify(data.toString().slice(0, 40))}`));
      else resolve(Number(match[1]));
    });
  });
}

function parseError(body) {
  try {
    const { error, error_description: description } = JSON.parse(body);
    return `${error ?? ''} ${description ?? ''}`.trim();
  } catch {
    return '';
  }
}

// ============================================================================ helpers

/** A reverse proxy for the JWKS with an outage switch: 'up', '503', 'reset' or 'hang'. */
async function startJwksProxy(upstream) {
  const state = { mode: 'up', served: 0, failures: 0, url: '', close: undefined };
  const hanging = new Set();
  const server = http.createServer(async (req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    if (state.mode !== 'up') {
      state.failures++;
      if (state.mode === '503') {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
        res.end('{"error":"temporarily_unavailable"}');
      } else if (state.mode === 'reset') {
        req.socket.resetAndDestroy();
      } else {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
      }
      return;
    }
    try {
      const upstreamResponse = await fetch(upstream);
      const body = Buffer.from(await upstreamResponse.arrayBuffer());
      res.writeHead(upstreamResponse.status, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
      state.served++;
    } catch {
      res.writeHead(502);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${server.address().port}`;
  state.close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

function mb(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function signedMb(bytes) {
  return `${bytes >= 0 ? '+' : ''}${mb(bytes)}`;
}
