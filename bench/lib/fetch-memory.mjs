/**
 * Child script of bench/proposals.mjs (run with --expose-gc): RSS, heap and external memory a
 * process gains by fetching a small JSON document three times from 127.0.0.1 with global
 * `fetch` (undici) or with node:http. argv[2]: 'fetch' | 'http' | 'none'. Prints one JSON line.
 */
import http from 'node:http';

const mode = process.argv[2];
const server = http.createServer((_req, res) => res.end(JSON.stringify({ keys: [] }))).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${server.address().port}/jwks`;

const getJson = () =>
  new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });

global.gc();
global.gc();
const before = process.memoryUsage();
for (let i = 0; i < 3; i++) {
  if (mode === 'fetch') await (await fetch(url)).json();
  else if (mode === 'http') await getJson();
}
global.gc();
global.gc();
const after = process.memoryUsage();
console.log(
  JSON.stringify({
    mode,
    rss: after.rss - before.rss,
    heapUsed: after.heapUsed - before.heapUsed,
    external: after.external - before.external,
  }),
);
server.close();
