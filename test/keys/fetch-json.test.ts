import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeCause, fetchJson, KeyFetchError, type FetchLimits } from '../../src/keys/fetch-json.js';
import { makeCertificates, type TestCertificates } from '../helpers/certificates.js';
import { json, startServer, type StubServer } from '../helpers/servers.js';

/** The two transports: node:http (no `fetch` option, the default) and the global `fetch` given as the option. */
const TRANSPORTS: Array<[string, Partial<FetchLimits>]> = [
  ['node:http (default)', {}],
  ['the fetch option', { fetch: globalThis.fetch }],
];

/** The message of the KeyFetchError `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => {
      throw new Error('expected the fetch to fail');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(KeyFetchError);
  return (error as Error).message;
}

describe.each(TRANSPORTS)('fetchJson over %s', (_name, transport) => {
  const LIMITS = { timeout: 5, maxBytes: 1024, ...transport };
  let server: StubServer;
  let other: StubServer;

  beforeAll(async () => {
    other = await startServer((_req, res) => json(res, { from: 'other origin' }));
    server = await startServer((req, res) => {
      const path = req.url ?? '/';
      if (path === '/doc') return json(res, { keys: [] });
      if (path === '/missing') return json(res, { error: 'not found' }, 404);
      if (path === '/not-json') return void res.end('<html>');
      if (path === '/big') return json(res, { padding: 'x'.repeat(2000) });
      if (path === '/endless') {
        // Streams without a length and never ends: only a streaming size cap stops it.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`{"padding":"${'x'.repeat(4096)}`);
        return;
      }
      if (path === '/hang') return;
      if (path === '/hang-body') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"keys":');
        return;
      }
      if (path === '/redirect-same') {
        res.writeHead(302, { location: '/doc' });
        return void res.end();
      }
      if (path === '/redirect-other') {
        res.writeHead(302, { location: `${other.url}/doc` });
        return void res.end();
      }
      const loop = /^\/loop\/(\d+)$/.exec(path);
      if (loop !== null) {
        const n = Number(loop[1]);
        res.writeHead(302, { location: n === 0 ? '/doc' : `/loop/${n - 1}` });
        return void res.end();
      }
      json(res, {}, 500);
    });
  });
  afterAll(async () => {
    await Promise.all([server.close(), other.close()]);
  });

  it('returns the parsed JSON body', async () => {
    await expect(fetchJson(`${server.url}/doc`, LIMITS)).resolves.toEqual({ keys: [] });
  });

  it('names the cause: HTTP status, ECONNREFUSED, invalid JSON', async () => {
    expect(await failure(fetchJson(`${server.url}/missing`, LIMITS))).toBe('HTTP 404');
    expect(await failure(fetchJson(`${server.url}/not-json`, LIMITS))).toBe('invalid JSON');
    const closed = await startServer(() => undefined);
    await closed.close();
    expect(await failure(fetchJson(`${closed.url}/doc`, LIMITS))).toBe('ECONNREFUSED');
  });

  it('times out a server that never answers, and one that stops in the middle of the body', async () => {
    const limits = { ...LIMITS, timeout: 0.2 };
    const started = Date.now();
    expect(await failure(fetchJson(`${server.url}/hang`, limits))).toBe('timed out');
    expect(await failure(fetchJson(`${server.url}/hang-body`, limits))).toBe('timed out');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('refuses a body over maxBytes, without waiting for the rest of a body that never ends', async () => {
    expect(await failure(fetchJson(`${server.url}/big`, LIMITS))).toBe('response larger than 1024 bytes');
    await expect(fetchJson(`${server.url}/big`, { ...LIMITS, maxBytes: 4096 })).resolves.toBeDefined();
    // A 60 s timeout: were the body buffered until its end, this would hang until the test times out.
    expect(await failure(fetchJson(`${server.url}/endless`, { ...LIMITS, timeout: 60 }))).toBe(
      'response larger than 1024 bytes',
    );
  });

  it('follows redirects within the origin only, three at most', async () => {
    await expect(fetchJson(`${server.url}/redirect-same`, LIMITS)).resolves.toEqual({ keys: [] });
    await expect(fetchJson(`${server.url}/loop/2`, LIMITS)).resolves.toEqual({ keys: [] });
    expect(await failure(fetchJson(`${server.url}/loop/3`, LIMITS))).toBe('too many redirects');
    expect(await failure(fetchJson(`${server.url}/redirect-other`, LIMITS))).toBe('redirect to another origin refused');
    // The other origin was never asked.
    expect(other.hits.get('/doc')).toBeUndefined();
  });
});

describe('fetchJson with the fetch option', () => {
  const LIMITS = { timeout: 5, maxBytes: 1024 };
  let server: StubServer;
  beforeAll(async () => {
    server = await startServer((req, res) => {
      if (req.url === '/redirect-same') {
        res.writeHead(302, { location: '/doc' });
        return void res.end();
      }
      json(res, { keys: [] });
    });
  });
  afterAll(() => server.close());

  it('uses the `fetch` option for every request, redirects included, with its limits still applied', async () => {
    const seen: string[] = [];
    const counting: typeof fetch = (input, init) => {
      seen.push(String(input));
      return fetch(input, init);
    };
    await expect(fetchJson(`${server.url}/redirect-same`, { ...LIMITS, fetch: counting })).resolves.toEqual({
      keys: [],
    });
    expect(seen).toEqual([`${server.url}/redirect-same`, `${server.url}/doc`]);
    const huge: typeof fetch = async () => Response.json({ padding: 'x'.repeat(5000) });
    expect(await failure(fetchJson(`${server.url}/doc`, { ...LIMITS, fetch: huge }))).toBe(
      'response larger than 1024 bytes',
    );
    const failing: typeof fetch = async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } });
    };
    expect(await failure(fetchJson(`${server.url}/doc`, { ...LIMITS, fetch: failing }))).toBe(
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );
  });
});

describe('fetchJson over https without a fetch option', () => {
  let certificates: TestCertificates;
  let server: https.Server;
  let url: string;
  beforeAll(async () => {
    certificates = makeCertificates();
    server = https.createServer({ cert: certificates.server.cert, key: certificates.server.key }, (_req, res) =>
      json(res, { keys: [] }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    certificates.cleanup();
  });

  it('refuses a certificate no trusted CA vouches for, naming the TLS error', async () => {
    expect(await failure(fetchJson(url, { timeout: 5, maxBytes: 1024 }))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it("uses Node's global https agent, so a CA trusted there (as NODE_EXTRA_CA_CERTS does) is trusted", async () => {
    const agentOptions = https.globalAgent.options;
    const before = agentOptions.ca;
    agentOptions.ca = certificates.ca.cert;
    try {
      await expect(fetchJson(url, { timeout: 5, maxBytes: 1024 })).resolves.toEqual({ keys: [] });
    } finally {
      agentOptions.ca = before;
    }
  });
});

describe('describeCause', () => {
  it('prefers a system error code found in the cause chain, else the message', () => {
    expect(describeCause(new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } }))).toBe('ENOTFOUND');
    expect(describeCause(new Error('socket hang up'))).toBe('socket hang up');
    expect(describeCause(undefined)).toBe('failed');
    expect(describeCause({ code: '' })).toBe('failed');
  });
});
