// The single-mode request mix and how each answer is judged: which token a request carries,
// what status and error it must get, and which refusals of a valid token are documented.
import { SCOPE } from './constants.mjs';

/** Round robin over the kinds of request ('validNew' falls back to 'valid' until the rotation). */
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

/** The answer each kind of bad request must get: status and OAuth error code. */
const EXPECTED = {
  expired: [401, 'invalid_token'],
  forged: [401, 'invalid_token'],
  missing: [401, 'unauthorized'],
  malformed: [400, 'invalid_request'],
  noScope: [403, 'insufficient_scope'],
};

const SLOWEST_KEPT = 5;

/**
 * Mints the token pools (valid tokens are reused: the verified-token cache serves most of them)
 * and returns autocannon's hooks with their accounting.
 *
 * @param options.issuer the test issuer
 * @param options.elapsed seconds since the load started
 * @param options.violation records a violation
 * @param options.newKeyMayFail whether a rotated-key token sent or answered at `t` may be
 *   refused (the documented window)
 * @returns `setupRequest` and `onResponse` (autocannon request hooks), `mintValid()` (400 valid
 *   tokens of the issuer's current key), `useRotatedTokens(tokens)`, and the accounting:
 *   `counts` ("kind status" → n), `slowest` (5 slowest answers), `tolerated.newKeyRefusals`
 */
export async function createSingleTraffic({ issuer, elapsed, violation, newKeyMayFail }) {
  const mintMany = (n, claims, options) => Promise.all(Array.from({ length: n }, () => issuer.mint(claims, options)));
  const mintValid = () => mintMany(400, {}, { clientId: 'soak', scope: SCOPE });
  const pools = {
    valid: await mintValid(),
    validNew: [],
    expired: await mintMany(50, {}, { clientId: 'soak', scope: SCOPE, expiresIn: -120 }),
    forged: await mintMany(50, {}, { clientId: 'soak', scope: SCOPE, foreignKey: true }),
    noScope: await mintMany(50, {}, { clientId: 'soak', scope: 'write:other' }),
  };
  const counts = {};
  const slowest = [];
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

  const noteLatency = (latency, kind, status, sentAt) => {
    if (slowest.length < SLOWEST_KEPT || latency > slowest[slowest.length - 1].latency) {
      slowest.push({ latency, kind, status, sentAt });
      slowest.sort((a, b) => b.latency - a.latency);
      slowest.length = Math.min(slowest.length, SLOWEST_KEPT);
    }
  };

  const onResponse = (status, body, context) => {
    const { kind, sentAt } = context;
    const key = `${kind} ${status}`;
    counts[key] = (counts[key] ?? 0) + 1;
    const at = elapsed();
    noteLatency(at - sentAt, kind, status, sentAt);
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

  return {
    setupRequest,
    onResponse,
    mintValid,
    useRotatedTokens(tokens) {
      pools.validNew = tokens;
    },
    counts,
    slowest,
    tolerated,
  };
}
