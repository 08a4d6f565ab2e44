// The fleet soak: this process runs redis-server (random port of 127.0.0.1, no persistence),
// the test issuer and the load; two API processes (`--role fleet-api`, see fleet-api.mjs) share
// the Redis for the DPoP replay store and the revocation list. `--connections` workers each
// send one request at a time to the instances in turn, until the duration or `--max-requests`
// is reached (request mix: fleet-traffic.mjs).
//
// Timeline (D = duration): the client is revoked through instance A at 0.3 D; Redis is killed
// at 0.5 D and started again (empty) min(3 s, D/6) later.
//
// Violations (exit code 1): any 5xx other than a 503 for a DPoP request between the Redis stop
// and RECOVERY_S after it is back; a bearer request refused; an accepted replay; the revoked
// client's token accepted more than PROPAGATION_S after the revoke call; a DPoP request refused
// outside the outage; no 503 during the outage or no DPoP success on each instance after it
// (the outage was not felt, or not recovered from); the revocation not written back to the
// restarted Redis; socket errors, timeouts, unhandled rejections, errors that are not the
// package's; API heap growth above --max-heap-growth-mb.
import { PROPAGATION_S, SCOPE } from './constants.mjs';
import { startApiProcess } from './api-process.mjs';
import { createFleetTraffic } from './fleet-traffic.mjs';
import { redisHashLength, startRedisServer } from './redis-server.mjs';
import {
  createViolations,
  mb,
  printVerdict,
  signedMb,
  sortedCounts,
  totalCount,
  watchUnhandledRejections,
} from './report.mjs';
import { createClock, createSchedule } from './timeline.mjs';

/** How long the whole run may take beyond its duration before a watchdog kills everything it started. */
const WATCHDOG_SLACK_S = 90;
const REPLY_TIMEOUT_MS = 30_000;
const REVOCATIONS_KEY = 'express-m2m:revocations:entries';

/**
 * Runs the fleet soak (dist/ must be current; redis-server must be installed) and prints its
 * report.
 *
 * @param options from fleetOptions: `duration` (s), `workers`, `maxRequests`, `maxHeapGrowth`
 *   (bytes), `client` (the Redis client library of the instances)
 * @returns the exit code: 0 passed, 1 a violation
 */
export async function runFleet({ duration, workers, maxRequests, maxHeapGrowth, client }) {
  const { createTestIssuer, createDPoPKey } = await import('../../dist/testing/index.js');

  const unhandled = watchUnhandledRejections();
  const violations = createViolations();
  const violation = (text) => violations.add(text);
  const clock = createClock();

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
    (duration + WATCHDOG_SLACK_S) * 1000,
  );
  watchdog.unref();
  try {
    const config = { issuer: issuer.issuer, jwksUri: issuer.jwksUri, client, redisPort: redisServer.port };
    for (const name of ['A', 'B']) {
      apis.push(await startApiProcess({ role: 'fleet-api', name, config, replyTimeoutMs: REPLY_TIMEOUT_MS }));
    }
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
    const events = { revokedAt: Infinity, stoppedAt: Infinity, restartedAt: Infinity };
    const traffic = createFleetTraffic({ apis, tokens, key, events, elapsed: clock.elapsed, violation });

    // ---- run
    const heapStart = await Promise.all(apis.map((api) => api.heap()));
    console.log(
      `[soak] fleet: ${duration} s, ${workers} workers, ${client}, Redis on port ${redisServer.port}; revocation at ` +
        `${revokeAt.toFixed(1)} s; Redis down ${outageStart.toFixed(1)}-${(outageStart + outageLength).toFixed(1)} s; ` +
        `API heaps at start ${heapStart.map(mb).join(', ')}`,
    );
    const schedule = createSchedule(violation);
    schedule.at(revokeAt, async () => {
      events.revokedAt = clock.elapsed();
      const { entry, startedAt, error } = await apis[0].request(
        { type: 'revoke', clientId: 'soak-revoked' },
        'revoked',
      );
      if (error !== undefined) throw new Error(`the revocation failed: ${error}`);
      // The child's clock reading of the call start, on this process's timeline.
      events.revokedAt = clock.fromEpoch(startedAt);
      clock.log(`client ${entry.clientId} revoked through instance A (issuedBefore ${entry.issuedBefore})`);
    });
    schedule.at(outageStart, async () => {
      traffic.forgetAcceptedProofs();
      events.stoppedAt = clock.elapsed();
      await redisServer.stop();
      clock.log('Redis killed');
    });
    schedule.at(outageStart + outageLength, async () => {
      await redisServer.start();
      events.restartedAt = clock.elapsed();
      clock.log('Redis started again, empty');
    });
    clock.start();
    await traffic.run(workers, { duration, maxRequests });
    schedule.clear();

    // ---- wrap up
    const hashLength = await redisHashLength(redisServer.port, REVOCATIONS_KEY);
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
      if (!traffic.recovered[i]) violation(`${name}: no DPoP request passed after Redis came back`);
      if (traffic.firstRefusal[i] === Infinity) violation(`${name}: the revoked client's token was never refused`);
    }
    if (!Number.isFinite(events.stoppedAt) || !Number.isFinite(events.restartedAt))
      violation('the Redis restart did not happen during the run (duration too short?)');
    if (traffic.totals.outage503 === 0)
      violation('no DPoP request got 503 while Redis was down (the outage was not felt)');
    if (unhandled.length > 0) violation(`${unhandled.length} unhandled rejections in the driver: ${unhandled[0]}`);
    const propagation = Number.isFinite(events.revokedAt)
      ? traffic.firstRefusal
          .map(
            (t, i) =>
              `${apis[i].name} ${Number.isFinite(t) ? `${((t - events.revokedAt) * 1000).toFixed(0)} ms` : 'never'}`,
          )
          .join(', ')
      : '';

    const latencies = [...traffic.latencies].sort((x, y) => x - y);
    const percentile = (p) =>
      ((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 1000).toFixed(1);
    const total = totalCount(traffic.counts);
    console.log('\n[soak] fleet results');
    console.log(
      `  requests: ${total} (${Math.round(total / duration)} req/s), socket errors: ${traffic.totals.socketErrors}, ` +
        `latency p50 ${percentile(0.5)} ms, p99 ${percentile(0.99)} ms`,
    );
    console.log(`  by kind and status: ${sortedCounts(traffic.counts)}`);
    console.log(`  503 during the Redis outage (expected): ${traffic.totals.outage503}`);
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
  return printVerdict(
    violations,
    'no unexpected 5xx, no accepted replay, the revocation enforced within ' +
      `${PROPAGATION_S * 1000} ms on both instances and kept through the Redis restart`,
  );
}
