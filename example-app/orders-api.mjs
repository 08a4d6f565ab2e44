// The protected API of the example: an Express app whose routes only machine-to-machine
// callers with the right scopes (or the right identity) may use.
//
// In your own code: import { requireM2M, … } from 'express-m2m';
import express from 'express';
import {
  m2mErrorHandler,
  protectedResourceMetadata,
  requireAnyScope,
  requireClient,
  requireM2M,
  requireScopes,
} from '../dist/index.js';

/**
 * Builds the orders API.
 *
 * @param {{ issuerBaseURL: string, audience: string }} options where tokens come from, and this API's identifier
 */
export function createOrdersApi({ issuerBaseURL, audience }) {
  const orders = [
    { id: 'o-1001', item: 'coffee beans', quantity: 3, refunded: false },
    { id: 'o-1002', item: 'green tea', quantity: 1, refunded: false },
  ];
  const app = express();
  app.use(express.json());

  // Registered before requireM2M, so load balancers can probe it without a token.
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // RFC 9728 protected resource metadata, also open: a client that gets a 401 learns from it
  // which authorization server to ask. Mounted once the API knows its own URL (`describe`).
  const metadata = express.Router();
  app.use(metadata);

  // The bulk export: DPoP-bound tokens only (RFC 9449). The token is bound to a key pair the
  // caller holds, and every request carries a fresh proof signed with it, so a token copied
  // from a log or a proxy is useless on its own. Registered before the bearer middleware below,
  // which would otherwise check the request first.
  const dpopOnly = requireM2M({ issuerBaseURL, audience, dpop: { mode: 'required' } });
  app.get('/orders/export', dpopOnly, requireAnyScope('read:orders', 'admin:orders'), (req, res) => {
    res.json({ caller: req.auth.clientId, boundTo: req.auth.binding.type, orders });
  });

  // Everything below needs a valid M2M access token issued for this API: a bearer token, or a
  // DPoP-bound one with its proof (`dpop.mode` is 'allowed' by default).
  const auth = requireM2M({ issuerBaseURL, audience });
  app.use(auth);

  // Readers: a token with either scope will do.
  app.get('/orders', requireAnyScope('read:orders', 'admin:orders'), (req, res) => {
    res.json({ caller: req.auth.clientId, orders });
  });

  // Writers: this scope is required.
  app.post('/orders', requireScopes('create:orders'), (req, res) => {
    const order = {
      id: `o-${1001 + orders.length}`,
      item: String(req.body?.item ?? 'unknown'),
      quantity: 1,
      refunded: false,
    };
    orders.push(order);
    res.status(201).json({ caller: req.auth.clientId, order });
  });

  // Refunds: only the billing service itself, whatever scopes another client may hold.
  app.post('/orders/:id/refund', requireClient('billing-service'), (req, res) => {
    const order = orders.find((candidate) => candidate.id === req.params.id);
    if (order === undefined) {
      res.status(404).json({ error: 'not_found' });
      return;
    }
    order.refunded = true;
    res.json({ caller: req.auth.clientId, order });
  });

  // Turns the package's errors into RFC 6750 answers (status, WWW-Authenticate, JSON body).
  app.use(m2mErrorHandler());
  /** Serves the metadata document for `url` (this API's address) and points 401 challenges at it. */
  const describe = (url) =>
    metadata.use(
      protectedResourceMetadata({
        resource: url,
        auth,
        scopesSupported: ['read:orders', 'create:orders', 'admin:orders'],
        resourceName: 'Orders API (express-m2m example)',
      }),
    );
  return { app, describe, ready: () => Promise.all([auth.ready(), dpopOnly.ready()]) };
}

/**
 * Starts the orders API on 127.0.0.1 (a random port unless `port` is given).
 *
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function startOrdersApi({ issuerBaseURL, audience, port = 0 }) {
  const { app, describe, ready } = createOrdersApi({ issuerBaseURL, audience });
  // Fetch discovery and the signing keys now, so a misconfiguration shows at start-up.
  await ready();
  const server = app.listen(port, '127.0.0.1');
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  describe(url);
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
