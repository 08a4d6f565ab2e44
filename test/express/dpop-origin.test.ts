/**
 * The URL a DPoP proof's `htu` is compared with, through a real listening Express app: the
 * configured `dpop.origin`, else the protocol and host as Express resolves them —
 * `X-Forwarded-Host`/`X-Forwarded-Proto` only when Express trusts the proxy — and hostile
 * `Host` headers (another host, several, CR/LF, junk) refused without a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express, Request, Response } from 'express';
import { request as httpRequest, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { m2mErrorHandler, requireM2M, type RequireM2MOptions } from '../../src/index.js';
import { createDPoPKey, createTestIssuer, type DPoPKey, type TestIssuer } from '../../src/testing/index.js';
import { express, expressMajor } from '../helpers/express.js';

const AUDIENCE = 'https://api.example.com';

let issuer: TestIssuer;
let key: DPoPKey;
let token: string;
const servers: Server[] = [];

beforeAll(async () => {
  issuer = await createTestIssuer();
  key = await createDPoPKey();
  token = await issuer.mint({ cnf: { jkt: key.jkt } }, { clientId: 'worker' });
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await issuer.close();
});

/** Starts an app on 127.0.0.1; returns its port. */
async function start(dpop: RequireM2MOptions['dpop'], trustProxy?: boolean | string): Promise<number> {
  const app: Express = express();
  if (trustProxy !== undefined) app.set('trust proxy', trustProxy);
  app.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, dpop }));
  app.get('/orders', (req: Request, res: Response) => {
    res.json({ binding: req.auth?.binding ?? null });
  });
  app.use(m2mErrorHandler());
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return (server.address() as AddressInfo).port;
}

interface Answer {
  status: number;
  challenge: string | undefined;
  body: string;
}

/** GET /orders with a DPoP proof made for `htu`, and extra headers (`host` replaces the real one). */
async function call(port: number, htu: string, headers: OutgoingHttpHeaders = {}, path = '/orders'): Promise<Answer> {
  const proof = await key.proof('GET', htu, { accessToken: token });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: `${path}?page=2`,
        headers: { authorization: `DPoP ${token}`, dpop: proof, ...headers },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'], body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw request bytes (header lines Node's client would refuse to write); returns the status line and text. */
function raw(port: number, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

const urlMismatch = 'error="invalid_dpop_proof", error_description="DPoP proof URL mismatch"';

describe(`DPoP htu through Express ${expressMajor}`, () => {
  it('dpop.origin: the proof names the external origin, whatever Host says', async () => {
    const port = await start({ origin: 'https://api.example.com' });
    const ok = await call(port, 'https://API.example.com:443/orders');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ binding: { type: 'dpop', thumbprint: key.jkt } });
    const local = await call(port, `http://127.0.0.1:${port}/orders`);
    expect(local.status).toBe(401);
    expect(local.challenge).toContain(urlMismatch);
  });

  it('without dpop.origin: protocol and Host of the request', async () => {
    const port = await start({});
    expect((await call(port, `http://127.0.0.1:${port}/orders`)).status).toBe(200);
    expect((await call(port, `https://127.0.0.1:${port}/orders`)).status).toBe(401);
    expect((await call(port, `http://localhost:${port}/orders`, { host: `LOCALHOST:${port}` })).status).toBe(200);
  });

  it('a router mounted under a path: the proof names the full path (req.originalUrl)', async () => {
    const app: Express = express();
    const router = (express as unknown as { Router(): import('express').Router }).Router();
    router.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE }));
    router.get('/orders', (_req: Request, res: Response) => {
      res.json({ ok: true });
    });
    app.use('/v1', router);
    app.use(m2mErrorHandler());
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    const mounted = (server.address() as AddressInfo).port;
    const path = '/v1/orders';
    expect((await call(mounted, `http://127.0.0.1:${mounted}/v1/orders`, {}, path)).status).toBe(200);
    expect((await call(mounted, `http://127.0.0.1:${mounted}/orders`, {}, path)).challenge).toContain(urlMismatch);
  });

  it('ignores X-Forwarded-Host and X-Forwarded-Proto when Express does not trust the proxy', async () => {
    const port = await start({});
    const forwarded = { 'x-forwarded-host': 'api.public.example', 'x-forwarded-proto': 'https' };
    const claimed = await call(port, 'https://api.public.example/orders', forwarded);
    expect(claimed.status).toBe(401);
    expect(claimed.challenge).toContain(urlMismatch);
    expect((await call(port, `http://127.0.0.1:${port}/orders`, forwarded)).status).toBe(200);
  });

  it('honours X-Forwarded-Host and X-Forwarded-Proto from a trusted proxy (the first of a list)', async () => {
    const port = await start({}, 'loopback');
    const forwarded = { 'x-forwarded-host': 'api.public.example, inner.example', 'x-forwarded-proto': 'https' };
    expect((await call(port, 'https://api.public.example/orders', forwarded)).status).toBe(200);
    expect((await call(port, `http://127.0.0.1:${port}/orders`, forwarded)).status).toBe(401);
    // A forwarded host that is not host[:port] gives no URL at all: every proof fails.
    const junk = await call(port, 'https://api.public.example/orders', { 'x-forwarded-host': 'evil.example/x' });
    expect(junk.status).toBe(401);
    expect(junk.challenge).toContain(urlMismatch);
  });

  it('does not trust a proxy Express was told not to trust (trust proxy set to another address)', async () => {
    const port = await start({}, '10.0.0.1');
    const forwarded = { 'x-forwarded-host': 'api.public.example', 'x-forwarded-proto': 'https' };
    expect((await call(port, 'https://api.public.example/orders', forwarded)).status).toBe(401);
  });

  it('Host-header injection: another host, a junk host, never a 500', async () => {
    const port = await start({});
    const real = `http://127.0.0.1:${port}/orders`;
    const evil = await call(port, real, { host: 'evil.example' });
    expect(evil.status).toBe(401);
    expect(evil.challenge).toContain(urlMismatch);
    expect(evil.challenge).not.toContain('evil');
    for (const host of ['127.0.0.1:1@evil.example', 'evil.example/orders', 'a b', '[::1', '127.0.0.1:999999']) {
      const res = await call(port, real, { host });
      expect([400, 401]).toContain(res.status);
      expect(res.body).not.toContain('evil');
    }
  });

  it('several Host headers or CR/LF in Host: refused, never a 500', async () => {
    const port = await start({});
    const proof = await key.proof('GET', `http://127.0.0.1:${port}/orders`, { accessToken: token });
    const request = (...hostLines: string[]) =>
      raw(port, [
        'GET /orders HTTP/1.1',
        ...hostLines,
        `Authorization: DPoP ${token}`,
        `DPoP: ${proof}`,
        'Connection: close',
      ]);
    const several = await request(`Host: 127.0.0.1:${port}`, `Host: 127.0.0.1:${port}`);
    expect(several).toMatch(/^HTTP\/1\.1 401 /);
    expect(several).toContain(urlMismatch);
    for (const injected of [`Host: 127.0.0.1:${port}\rX-Injected: 1`, `Host: 127.0.0.1:${port}\nevil.example`]) {
      const answer = await request(injected);
      // Node's HTTP parser refuses the request before Express sees it.
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).not.toContain('X-Injected');
    }
  });

  it('a request target with dot segments: refused, since Express routes the literal path', async () => {
    const port = await start({});
    const proof = await key.proof('GET', `http://127.0.0.1:${port}/orders`, { accessToken: token });
    for (const target of ['/admin/../orders', '/admin/%2e%2E/orders', '/./orders']) {
      const answer = await raw(port, [
        `GET ${target} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        `Authorization: DPoP ${token}`,
        `DPoP: ${proof}`,
        'Connection: close',
      ]);
      expect(answer).toMatch(/^HTTP\/1\.1 401 /);
      expect(answer).toContain(urlMismatch);
    }
  });

  it('an absolute-form request line naming another host: refused, even with a proof for that URL', async () => {
    const port = await start({});
    const proof = await key.proof('GET', 'http://evil.example/orders', { accessToken: token });
    const answer = await raw(port, [
      'GET http://evil.example/orders HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      `Authorization: DPoP ${token}`,
      `DPoP: ${proof}`,
      'Connection: close',
    ]);
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toContain(urlMismatch);
  });
});
