import { Counter, type Registry } from 'prom-client';
import type { StoreUnavailableError } from '../../../src/index.js';

/**
 * For a fleet on Redis: counts the revocation list's failed merges with Redis (pass `onError` to
 * `createRedisRevocationList`). A replay store that Redis cannot answer in time shows up as
 * `express_m2m_refusals_total{reason="store_unavailable"}` (see the metrics recipe).
 */
export function createFleetMetrics(registry: Registry, log: (message: string) => void = console.warn) {
  const mergeErrors = new Counter({
    name: 'express_m2m_revocation_list_errors_total',
    help: 'Failed merges of the revocation list with Redis (retried; the last known list keeps applying)',
    registers: [registry],
  });
  return {
    onError(error: StoreUnavailableError) {
      mergeErrors.inc();
      log(`express-m2m: revocation list out of sync with Redis: ${error.message}`);
    },
  };
}
