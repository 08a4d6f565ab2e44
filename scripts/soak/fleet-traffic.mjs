// The fleet request mix and how each answer is judged: a DPoP-bound token with a fresh proof;
// a replay, on the other instance, of a proof an instance accepted; a bearer token; a bearer
// token of a client revoked mid-run.
import { FLEET_ORIGIN, PROPAGATION_S, RECOVERY_S } from './constants.mjs';

const MIX = ['dpop', 'bearer', 'dpop', 'replay', 'dpop', 'revoked'];

/** "error error_description" of an OAuth error body, or '' when the body is not JSON. */
function parseError(body) {
  try {
    const { error, error_description: description } = JSON.parse(body);
    return `${error ?? ''} ${description ?? ''}`.trim();
  } catch {
    return '';
  }
}

/**
 * The fleet load and its accounting. `events` is read live: `revokedAt`, `stoppedAt` (Redis
 * killed) and `restartedAt` (Redis back), in seconds on the load's clock, Infinity until they
 * happen.
 *
 * @param options.apis the instances (`name`, `url`), sent to in turn
 * @param options.tokens `dpop` (bound to `key`), `bearer`, `revoked` access tokens
 * @param options.key the DPoP key that signs the proofs
 * @param options.events the run's events, as above
 * @param options.elapsed seconds since the load started
 * @param options.violation records a violation
 * @returns `run(workers, { duration, maxRequests })` (resolves when the load is over),
 *   `forgetAcceptedProofs()` (at a Redis stop: proofs accepted before it may be replayed with
 *   success once Redis comes back empty), and the accounting: `counts` ("kind status" → n),
 *   `totals` (`outage503`, `socketErrors`), `latencies` (s), `firstRefusal` (per instance, when
 *   the first refused request of the revoked client was sent) and `recovered` (per instance, a
 *   DPoP request sent after the Redis restart passed)
 */
export function createFleetTraffic({ apis, tokens, key, events, elapsed, violation }) {
  const counts = {};
  const accepted = []; // proofs an instance accepted since the last Redis start: { proof, instance }
  let generation = 0; // Redis starts since the beginning: a proof accepted before a restart is not a replay after it
  const firstRefusal = apis.map(() => Infinity);
  const recovered = apis.map(() => false);
  const totals = { outage503: 0, socketErrors: 0 };
  const latencies = [];
  const outageMayAffect = (sentAt, at) => at >= events.stoppedAt - 0.05 && sentAt <= events.restartedAt + RECOVERY_S;

  const check = (request, status, body, sentAt, at) => {
    const key = `${request.kind} ${status}`;
    counts[key] = (counts[key] ?? 0) + 1;
    const where = `on ${apis[request.instance].name} at ${at.toFixed(2)} s (sent ${sentAt.toFixed(2)} s)`;
    if (status === 503 && (request.kind === 'dpop' || request.kind === 'replay') && outageMayAffect(sentAt, at)) {
      totals.outage503++;
      return;
    }
    if (status >= 500) return violation(`${status} for ${request.kind} ${where}: ${body.slice(0, 120)}`);
    const error = parseError(body);
    if (request.kind === 'bearer' && status !== 200) violation(`bearer token refused (${status} ${error}) ${where}`);
    if (request.kind === 'dpop') {
      if (status !== 200) return violation(`DPoP request refused (${status} ${error}) ${where}`);
      if (request.generation === generation) accepted.push({ proof: request.proof, instance: request.instance });
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

  const proofUrl = `${FLEET_ORIGIN}/orders`;
  let sent = 0;
  // Each worker sends one request at a time until the deadline or the request budget is reached.
  const worker = async (offset, deadline, maxRequests) => {
    let sequence = offset;
    while (elapsed() < deadline && sent < maxRequests) {
      sent++;
      sequence++;
      let kind = MIX[sequence % MIX.length];
      // Each kind goes to both instances in turn (a parity of `sequence` alone would tie kinds to instances).
      let instance = Math.floor(sequence / MIX.length) % 2;
      const headers = {};
      const request = { kind, instance, generation };
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
        totals.socketErrors++;
        violation(`${kind} request to ${apis[instance].name} failed at ${elapsed().toFixed(2)} s: ${error}`);
      }
    }
  };

  return {
    run: (workers, { duration, maxRequests }) =>
      Promise.all(Array.from({ length: workers }, (_, i) => worker(i, duration, maxRequests))),
    forgetAcceptedProofs() {
      generation++;
      accepted.length = 0;
    },
    counts,
    totals,
    latencies,
    firstRefusal,
    recovered,
  };
}
