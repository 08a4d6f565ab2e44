// What the two kinds of API process (single and fleet) have in common, on the child's side: the
// protected route, the catch-all error handler that counts what is not the package's error,
// crash counting, the listening server, heap readings and the exit on "stop".
import http from 'node:http';
import { SCOPE } from './constants.mjs';

/**
 * Counts uncaught exceptions and unhandled rejections in this process into `stats.uncaught`
 * and `stats.unhandled` (the latest one's text in `stats.lastForeign`): the driver turns any
 * of them into a violation.
 */
export function watchCrashes(stats) {
  process.on('unhandledRejection', (reason) => {
    stats.unhandled++;
    stats.lastForeign = String(reason);
  });
  process.on('uncaughtException', (error) => {
    stats.uncaught++;
    stats.lastForeign = String(error?.stack ?? error);
  });
}

/**
 * The API under test: `GET /orders` behind `m2m` and `requireScopes(SCOPE)`, the package's
 * error handler, then a last handler that answers 500 and counts the error in
 * `stats.foreignErrors` (any error reaching it is not the package's: a violation).
 *
 * @param parts `express` (the default export), `m2m` (from requireM2M), `requireScopes`,
 *   `errorHandler` (from m2mErrorHandler), `stats`
 * @returns the Express app
 */
export function createOrdersApp({ express, m2m, requireScopes, errorHandler, stats }) {
  const app = express();
  app.get('/orders', m2m, requireScopes(SCOPE), (req, res) => {
    res.json({ ok: true, client: req.auth.clientId });
  });
  app.use(errorHandler);
  app.use((error, _req, res, _next) => {
    stats.foreignErrors++;
    stats.lastForeign = String(error?.stack ?? error);
    res.status(500).json({ error: 'internal' });
  });
  return app;
}

/** Serves `app` on a random port of 127.0.0.1, with keep-alive long enough for the load's connections. */
export async function listen(app) {
  const server = http.createServer(app);
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Heap in use after two full collections (the process runs with --expose-gc), in bytes. */
export function heapAfterGc() {
  global.gc?.();
  global.gc?.();
  return process.memoryUsage().heapUsed;
}

/** Sends the final `stats` message to the driver, then closes the server and exits. */
export function reportAndExit(server, stats) {
  process.send({ type: 'stats', stats, heapUsed: heapAfterGc() }, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
