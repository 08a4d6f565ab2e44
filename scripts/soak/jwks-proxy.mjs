// The single-mode JWKS outage: a reverse proxy in front of the issuer's JWKS whose failure mode
// the schedule switches (the API's jwksUri points here, so every key-set fetch goes through it).
import http from 'node:http';

/**
 * A reverse proxy for the JWKS at `upstream` with an outage switch: set `mode` to 'up',
 * '503' (HTTP 503 + Retry-After), 'reset' (connection reset) or 'hang' (no answer until close).
 *
 * @example
 * ```js
 * const proxy = await startJwksProxy(issuer.jwksUri);
 * proxy.mode = 'reset'; // fetches through `${proxy.url}/jwks.json` now fail
 * await proxy.close();
 * ```
 * @returns the live state: `mode`, `served` and `failures` (fetch counts), `url`, `close()`
 */
export async function startJwksProxy(upstream) {
  const state = { mode: 'up', served: 0, failures: 0, url: '', close: undefined };
  const hanging = new Set();
  const server = http.createServer(async (req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    if (state.mode !== 'up') {
      state.failures++;
      if (state.mode === '503') {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
        res.end('{"error":"temporarily_unavailable"}');
      } else if (state.mode === 'reset') {
        req.socket.resetAndDestroy();
      } else {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
      }
      return;
    }
    try {
      const upstreamResponse = await fetch(upstream);
      const body = Buffer.from(await upstreamResponse.arrayBuffer());
      res.writeHead(upstreamResponse.status, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
      state.served++;
    } catch {
      res.writeHead(502);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${server.address().port}`;
  state.close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}
