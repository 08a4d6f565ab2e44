/**
 * A minimal local authorization server for the benchmark: OIDC discovery and a JWKS on
 * 127.0.0.1, with a fetch counter per path. Control endpoints (not counted):
 *   GET  /__counts            → { "<path>": n, ... }
 *   POST /__reset             → zeroes the counters
 *   POST /__config?delay=MS   → delays every discovery/JWKS answer by MS milliseconds
 * Paths under `/tenant-N/` serve further issuers (`{base}/tenant-N/`) with the same keys.
 */
import http from 'node:http';

export const JWKS_PATH = '/.well-known/jwks.json';
export const OIDC_PATH = '/.well-known/openid-configuration';
export const RFC8414_PATH = '/.well-known/oauth-authorization-server';

/** Starts the issuer; resolves once it listens. */
export function startIssuer({ jwks, host = '127.0.0.1', port = 0 }) {
  let counts = Object.create(null);
  let delay = 0;
  let base = '';

  const send = (res, status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const path = url.pathname;
    if (path === '/__counts') return send(res, 200, counts);
    if (path === '/__reset' && req.method === 'POST') {
      counts = Object.create(null);
      return send(res, 200, {});
    }
    if (path === '/__config' && req.method === 'POST') {
      delay = Math.max(0, Number(url.searchParams.get('delay') ?? 0) || 0);
      return send(res, 200, { delay });
    }
    counts[path] = (counts[path] ?? 0) + 1;
    let status = 404;
    let body = { error: 'not_found' };
    // `/tenant-N` prefixes are further issuers with the same keys (the 50-issuer configuration).
    const tenant = /^\/tenant-\d+(?=\/)/.exec(path)?.[0] ?? '';
    const local = path.slice(tenant.length);
    if (req.method === 'GET' && local === OIDC_PATH) {
      status = 200;
      body = {
        issuer: `${base}${tenant}/`,
        jwks_uri: `${base}${tenant}${JWKS_PATH}`,
        token_endpoint: `${base}${tenant}/oauth/token`,
        id_token_signing_alg_values_supported: ['RS256'],
        grant_types_supported: ['client_credentials'],
      };
    } else if (req.method === 'GET' && local === JWKS_PATH) {
      status = 200;
      body = jwks;
    }
    if (delay > 0 && status === 200) setTimeout(send, delay, res, status, body);
    else send(res, status, body);
  });
  server.keepAliveTimeout = 60_000;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      base = `http://${host}:${address.port}`;
      resolve({
        server,
        port: address.port,
        issuerBaseURL: base,
        issuer: `${base}/`,
        jwksUri: `${base}${JWKS_PATH}`,
        counts: () => ({ ...counts }),
        reset: () => {
          counts = Object.create(null);
        },
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}
