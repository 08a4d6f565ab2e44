/**
 * Tiny loopback HTTP servers for tests that need an issuer to misbehave.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A started server with its base URL and a hit counter per path. */
export interface StubServer {
  url: string;
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** Starts `handler` on 127.0.0.1 with a random port. */
export async function startServer(handler: http.RequestListener): Promise<StubServer> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends `body` as JSON. */
export function json(res: http.ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
