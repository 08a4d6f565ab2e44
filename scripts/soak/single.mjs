// The single-process soak: sustained autocannon load on one API process through a key rotation
// and a JWKS outage.
//
// Layout (three roles, two processes):
// - this process: the test issuer (`express-m2m/testing`), a JWKS fault proxy in front of it,
//   and autocannon;
// - a child process (`--role api`, see single-api.mjs): the API under test, with `jwksUri`
//   pointing at the proxy.
//
// Timeline (D = duration): key rotation at 0.25 D; JWKS outage of min(10 s, D/3) centred on
// 0.5 D, in three equal phases: HTTP 503, connection reset, hang (longer than the API's JWKS
// timeout). The API uses API_JWKS (cacheMaxAge 2, cooldown 1, timeout 1) so the outage is felt.
//
// Request mix (round robin, see single-traffic.mjs): valid tokens of the first key; valid tokens
// of the rotated key (once it exists); expired, forged (unpublished key), missing, malformed; a
// valid token without the required scope.
//
// Violations (exit code 1):
// - any 5xx, any socket error or timeout;
// - any non-package error reaching the API's last error handler, any unhandled rejection or
//   uncaught exception in either process;
// - a token that should be refused being accepted (or the wrong 4xx);
// - a valid token refused outside the documented behaviour. Documented: a token signed by a key
//   the API has not fetched yet is 401 until the next JWKS fetch, which happens at most once per
//   cooldown; so tokens of the rotated key may be refused for cooldown + timeout (+0.5 s slack)
//   after the rotation, and, if that window reaches into the outage, until cooldown + timeout
//   after the outage ends. Tokens of a known key must pass throughout, outage included
//   (stale-if-error);
// - heap growth of the API (after GC, end vs start) above --max-heap-growth-mb.
import { API_JWKS, AUDIENCE, SCOPE } from './constants.mjs';
import { startApiProcess } from './api-process.mjs';
import { startJwksProxy } from './jwks-proxy.mjs';
import {
  createViolations,
  mb,
  printVerdict,
  signedMb,
  sortedCounts,
  totalCount,
  watchUnhandledRejections,
} from './report.mjs';
import { createSingleTraffic } from './single-traffic.mjs';
import { createClock, createSchedule } from './timeline.mjs';

/**
 * Runs the single-process soak (dist/ must be current) and prints its report.
 *
 * @param options from singleOptions: `duration` (s), `connections`, `maxHeapGrowth` (bytes)
 * @returns the exit code: 0 passed, 1 a violation
 */
export async function runSingle({ duration, connections, maxHeapGrowth }) {
  const { createTestIssuer } = await import('../../dist/testing/index.js');
  const { default: autocannon } = await import('autocannon');

  const unhandled = watchUnhandledRejections();
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

  const api = await startApiProcess({
    role: 'api',
    name: 'process',
    config: { issuer: issuer.issuer, jwksUri: `${proxy.url}/jwks.json` },
  });

  const clock = createClock();
  const violations = createViolations();
  const violation = (text) => violations.add(text);
  const traffic = await createSingleTraffic({ issuer, elapsed: clock.elapsed, violation, newKeyMayFail });

  // ---- run
  const heapStart = await api.heap();
  const heapSamples = [];
  console.log(
    `[soak] ${duration} s, ${connections} connections; rotation at ${rotationAt.toFixed(1)} s; ` +
      `JWKS outage ${outageStart.toFixed(1)}-${outageEnd.toFixed(1)} s (503, reset, hang); API heap at start ${mb(heapStart)}`,
  );

  const schedule = createSchedule(violation);
  schedule.at(rotationAt, async () => {
    await issuer.rotateKeys();
    const fresh = await traffic.mintValid();
    rotation.at = clock.elapsed();
    traffic.useRotatedTokens(fresh);
    clock.log(`keys rotated: new kid ${issuer.currentKid()}, its tokens join the mix`);
  });
  const phase = outageLength / 3;
  schedule.at(outageStart, () => ((proxy.mode = '503'), clock.log('JWKS outage begins: HTTP 503')));
  schedule.at(outageStart + phase, () => ((proxy.mode = 'reset'), clock.log('JWKS outage: connection resets')));
  schedule.at(outageStart + 2 * phase, () => ((proxy.mode = 'hang'), clock.log('JWKS outage: hanging')));
  schedule.at(outageEnd, () => ((proxy.mode = 'up'), clock.log('JWKS outage ends')));
  const sampler = setInterval(
    async () => {
      const heapUsed = await api.heap();
      heapSamples.push(heapUsed);
      clock.log(`API heap ${mb(heapUsed)}`);
    },
    Math.max(1000, (duration * 1000) / 6),
  );

  clock.start();
  const result = await autocannon({
    url: api.url,
    connections,
    pipelining: 1,
    duration,
    timeout: 10,
    requests: [{ method: 'GET', path: '/orders', setupRequest: traffic.setupRequest, onResponse: traffic.onResponse }],
  });
  clearInterval(sampler);
  schedule.clear();

  // ---- wrap up
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const { stats, heapUsed: heapEnd } = await api.stop();
  await new Promise((resolve) => api.child.once('exit', resolve));
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

  const { slowest } = traffic;
  console.log('\n[soak] results');
  console.log(
    `  requests: ${totalCount(traffic.counts)} (${Math.round(result.requests.average)} req/s average), 5xx: ${result['5xx'] ?? 0}, errors: ${result.errors}, timeouts: ${result.timeouts}`,
  );
  console.log(`  latency: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`);
  console.log(
    `  slowest: ${slowest.map((r) => `${(r.latency * 1000).toFixed(0)} ms (${r.kind} ${r.status}, sent at ${r.sentAt.toFixed(2)} s)`).join('; ')}`,
  );
  console.log(`  by kind and status: ${sortedCounts(traffic.counts)}`);
  console.log(`  rotated-key tokens refused inside the documented window: ${traffic.tolerated.newKeyRefusals}`);
  console.log(`  JWKS fetches through the proxy: ${proxy.served} served, ${proxy.failures} failed (outage)`);
  console.log(`  key-set events in the API: ${JSON.stringify(stats.events)}`);
  console.log(
    `  API heap after GC: start ${mb(heapStart)}, end ${mb(heapEnd)} (${signedMb(heapEnd - heapStart)}); samples ${heapSamples.map(mb).join(', ')}`,
  );
  return printVerdict(
    violations,
    'no 5xx, no unhandled rejection, no valid token refused outside the documented behaviour',
  );
}
