import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, type Registry } from 'prom-client';
import { JWKS_CHANNEL, type KeySetEvent, type M2MError, type VerifyTraceContext } from '../../../src/index.js';
import { observeVerifications } from './verifications.js';

/**
 * Prometheus metrics for express-m2m: refusals by reason (pass `onError` to `m2mErrorHandler`),
 * verification time, and key-set events of every issuer. `close()` unsubscribes.
 */
export function createM2MMetrics(registry: Registry) {
  const refusals = new Counter({
    name: 'express_m2m_refusals_total',
    help: 'Requests refused by express-m2m, by reason and HTTP status',
    labelNames: ['reason', 'status'],
    registers: [registry],
  });
  const verifications = new Histogram({
    name: 'express_m2m_verification_seconds',
    help: 'Time to verify an access token, by outcome (accepted or the refusal reason)',
    labelNames: ['outcome', 'cached'],
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
    registers: [registry],
  });
  const keySetEvents = new Counter({
    name: 'express_m2m_key_set_events_total',
    help: 'Discovery and JWKS events: fetched, fetch_failed, serving_stale, max_stale_exceeded',
    labelNames: ['type', 'resource'],
    registers: [registry],
  });

  const startedAt = new WeakMap<VerifyTraceContext, number>();
  const stopObserving = observeVerifications({
    start(context) {
      startedAt.set(context, performance.now());
    },
    finish(context) {
      const start = startedAt.get(context);
      if (start === undefined) return;
      startedAt.delete(context);
      const labels = { outcome: context.reason ?? 'accepted', cached: String(context.cached === true) };
      verifications.observe(labels, (performance.now() - start) / 1000);
    },
  });
  const onKeySetEvent = (message: unknown) => {
    const event = message as KeySetEvent;
    keySetEvents.inc({ type: event.type, resource: 'resource' in event ? event.resource : 'jwks' });
  };
  diagnostics.subscribe(JWKS_CHANNEL, onKeySetEvent);

  return {
    /** For `m2mErrorHandler({ onError })`: counts every refusal, guards' included. */
    onError(error: M2MError) {
      refusals.inc({ reason: error.reason, status: String(error.status) });
    },
    close() {
      stopObserving();
      diagnostics.unsubscribe(JWKS_CHANNEL, onKeySetEvent);
    },
  };
}
