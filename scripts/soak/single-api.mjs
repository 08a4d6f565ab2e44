// The single-mode API process (`--role api`): the API under test, alone in its process so its
// heap numbers mean something and the load generator has the other core.
import { API_JWKS, AUDIENCE } from './constants.mjs';
import { createOrdersApp, heapAfterGc, listen, reportAndExit, watchCrashes } from './api-app.mjs';

/**
 * Runs the API from dist/ (`requireM2M` + `requireScopes` + `m2mErrorHandler`) with `issuer`
 * and `jwksUri` from SOAK_CONFIG (the JWKS proxy: discovery is skipped and every key-set fetch
 * goes through the fault switch), and the short JWKS timings of API_JWKS. Counts key-set
 * events; answers the driver's `heap` and `stop` messages.
 */
export async function runSingleApi() {
  const { requireM2M, requireScopes, m2mErrorHandler } = await import('../../dist/index.js');
  const { default: express } = await import('express');
  const config = JSON.parse(process.env.SOAK_CONFIG ?? '{}');
  const stats = {
    foreignErrors: 0,
    unhandled: 0,
    uncaught: 0,
    events: { fetched: 0, fetch_failed: 0, serving_stale: 0 },
    lastForeign: '',
  };
  watchCrashes(stats);

  const m2m = requireM2M({
    issuer: config.issuer,
    jwksUri: config.jwksUri,
    audience: AUDIENCE,
    jwks: { ...API_JWKS, onEvent: (event) => stats.events[event.type]++ },
  });
  const app = createOrdersApp({ express, m2m, requireScopes, errorHandler: m2mErrorHandler(), stats });
  await m2m.ready();
  const server = await listen(app);

  process.on('message', (message) => {
    if (message === 'heap') process.send({ type: 'heap', heapUsed: heapAfterGc() });
    if (message === 'stop') reportAndExit(server, stats);
  });
  process.send({ type: 'ready', port: server.address().port });
}
