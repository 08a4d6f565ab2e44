/**
 * Certificate-bound tokens (RFC 8705 §3) through real HTTPS servers: Express apps with
 * `requestCert: true, rejectUnauthorized: false`, client certificates made with openssl for
 * this run, tokens carrying `cnf["x5t#S256"]`. No TLS is mocked. Behind a TLS-terminating
 * proxy, `mtls.getCertificate` reads the header the proxy sets (nginx, Envoy).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express, Request, Response } from 'express';
import { createServer as createHttpServer, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { certificateFromXfcc } from '../../src/binding/mtls.js';
import { m2mErrorHandler, requireM2M, type RequireM2MOptions } from '../../src/index.js';
import { createDPoPKey, createTestIssuer, type DPoPKey, type TestIssuer } from '../../src/testing/index.js';
import {
  makeCertificates,
  opensslThumbprint,
  type CertifiedKey,
  type TestCertificates,
} from '../helpers/certificates.js';
import { express, expressMajor } from '../helpers/express.js';

const AUDIENCE = 'https://api.example.com';
const MISMATCH = 'Bearer realm="api", error="invalid_token", error_description="certificate does not match token"';

let issuer: TestIssuer;
let pki: TestCertificates;
let clientThumbprint: string;
let boundToClient: string;
let plain: string;
const servers: Server[] = [];

beforeAll(async () => {
  issuer = await createTestIssuer();
  pki = makeCertificates();
  clientThumbprint = opensslThumbprint(pki.client.certPath);
  boundToClient = await issuer.mint({ cnf: { 'x5t#S256': clientThumbprint } }, { clientId: 'worker' });
  plain = await issuer.mint({}, { clientId: 'worker' });
});
afterAll(async () => {
  for (const server of servers) {
    (server as import('node:http').Server).closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await issuer.close();
  pki.cleanup();
});

function appWith(options: RequireM2MOptions = {}): Express {
  const app = express();
  app.use(requireM2M({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, ...options }));
  app.get('/orders', (req: Request, res: Response) => {
    res.json({ clientId: req.auth?.clientId ?? null, binding: req.auth?.binding ?? null });
  });
  app.use(m2mErrorHandler());
  return app;
}

async function listen(server: Server, scheme: 'http' | 'https'): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An HTTPS server that asks for a client certificate but lets the app judge it. */
const serveHttps = (app: Express) =>
  listen(
    createHttpsServer(
      { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: false },
      app,
    ),
    'https',
  );
const serveHttp = (app: Express) => listen(createHttpServer(app), 'http');

interface Answer {
  status: number;
  challenge: string | undefined;
  body: { clientId?: string | null; binding?: unknown; error?: string };
}

/** GET `url` (HTTPS: with `client` as the TLS client certificate), no connection reuse. */
function call(url: string, headers: OutgoingHttpHeaders, client?: CertifiedKey): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = {
      agent: false as const,
      headers,
      ca: pki.ca.cert,
      ...(client && { key: client.key, cert: client.cert }),
    };
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, options, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'], body: JSON.parse(text) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe(`mTLS through HTTPS and Express ${expressMajor}`, () => {
  let url: string;
  beforeAll(async () => {
    url = `${await serveHttps(appWith())}/orders`;
  });

  it('accepts a certificate-bound token with the matching client certificate; req.auth.binding', async () => {
    const res = await call(url, bearer(boundToClient), pki.client);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ clientId: 'worker', binding: { type: 'mtls', thumbprint: clientThumbprint } });
  });

  it('refuses it with another certificate, without one, and over plain HTTP', async () => {
    for (const res of [
      await call(url, bearer(boundToClient), pki.selfSignedClient),
      await call(url, bearer(boundToClient)),
      await call(`${await serveHttp(appWith())}/orders`, bearer(boundToClient)),
    ]) {
      expect(res.status).toBe(401);
      expect(res.challenge).toBe(MISMATCH);
      expect(res.body).toEqual({ error: 'invalid_token', error_description: 'certificate does not match token' });
    }
  });

  it('binds to the certificate itself, whether or not a CA vouched for it', async () => {
    const token = await issuer.mint({ cnf: { 'x5t#S256': opensslThumbprint(pki.selfSignedClient.certPath) } });
    expect((await call(url, bearer(token), pki.selfSignedClient)).status).toBe(200);
    expect((await call(url, bearer(token), pki.client)).status).toBe(401);
  });

  it("mode 'allowed': a token without x5t#S256 passes with or without a certificate", async () => {
    expect((await call(url, bearer(plain), pki.client)).body).toEqual({ clientId: 'worker', binding: null });
    expect((await call(url, bearer(plain))).status).toBe(200);
  });

  it("mode 'required': tokens without x5t#S256 are refused", async () => {
    const strict = `${await serveHttps(appWith({ mtls: { mode: 'required' } }))}/orders`;
    const res = await call(strict, bearer(plain), pki.client);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'certificate-bound token required' });
    expect((await call(strict, bearer(boundToClient), pki.client)).status).toBe(200);
  });

  it("mode 'off': every x5t#S256 token is refused, even with its certificate", async () => {
    const off = `${await serveHttps(appWith({ mtls: { mode: 'off' } }))}/orders`;
    const res = await call(off, bearer(boundToClient), pki.client);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: 'invalid_token',
      error_description: 'certificate-bound tokens are not accepted',
    });
    expect((await call(off, bearer(plain))).status).toBe(200);
  });

  describe('a token with both cnf.jkt and x5t#S256 needs both proofs', () => {
    let key: DPoPKey;
    let both: string;
    let base: string;
    beforeAll(async () => {
      key = await createDPoPKey();
      both = await issuer.mint({ cnf: { jkt: key.jkt, 'x5t#S256': clientThumbprint } }, { clientId: 'worker' });
      base = await serveHttps(appWith());
    });
    const dpop = async (withProof: boolean) => ({
      authorization: `DPoP ${both}`,
      ...(withProof && { dpop: await key.proof('GET', `${base}/orders`, { accessToken: both }) }),
    });

    it('accepted with the certificate and a proof (the proof made for the https URL)', async () => {
      const res = await call(`${base}/orders`, await dpop(true), pki.client);
      expect(res.status).toBe(200);
      expect(res.body.binding).toEqual({ type: 'dpop', thumbprint: key.jkt });
    });

    it('refused without the certificate, with another one, or without the proof', async () => {
      const noCert = await call(`${base}/orders`, await dpop(true));
      expect(noCert.body).toEqual({ error: 'invalid_token', error_description: 'certificate does not match token' });
      expect(noCert.challenge).toMatch(/^DPoP realm="api", error="invalid_token"/);
      expect((await call(`${base}/orders`, await dpop(true), pki.selfSignedClient)).status).toBe(401);
      const noProof = await call(`${base}/orders`, await dpop(false), pki.client);
      expect(noProof.body).toEqual({ error: 'invalid_dpop_proof', error_description: 'DPoP proof missing' });
      expect((await call(`${base}/orders`, bearer(both), pki.client)).status).toBe(401);
    });
  });
});

describe(`mTLS behind a TLS-terminating proxy (Express ${expressMajor})`, () => {
  it('nginx: X-SSL-Client-Cert carries the URL-escaped PEM ($ssl_client_escaped_cert)', async () => {
    const app = appWith({ mtls: { getCertificate: (req) => req.headers['x-ssl-client-cert'] as string | undefined } });
    const url = `${await serveHttp(app)}/orders`;
    const header = (cert: string) => ({ ...bearer(boundToClient), 'x-ssl-client-cert': encodeURIComponent(cert) });
    const ok = await call(url, header(pki.client.cert));
    expect(ok.status).toBe(200);
    expect(ok.body.binding).toEqual({ type: 'mtls', thumbprint: clientThumbprint });
    // nginx leaves `+`, `/` and `=` of the base64 body as they are: only spaces and line breaks are escaped.
    const minimal = pki.client.cert.replaceAll(' ', '%20').replaceAll('\n', '%0A');
    expect((await call(url, { ...bearer(boundToClient), 'x-ssl-client-cert': minimal })).status).toBe(200);
    expect((await call(url, header(pki.selfSignedClient.cert))).challenge).toBe(MISMATCH);
    expect((await call(url, bearer(boundToClient))).challenge).toBe(MISMATCH);
    for (const junk of [
      '%E0%A4%A',
      '-----BEGIN CERTIFICATE-----%0Aabc%0A-----END CERTIFICATE-----',
      'x'.repeat(6000),
    ]) {
      const res = await call(url, { ...bearer(boundToClient), 'x-ssl-client-cert': junk });
      expect(res.status).toBe(401);
      expect(res.challenge).toBe(MISMATCH);
    }
  });

  it("Envoy: x-forwarded-client-cert's Cert element (forward_client_cert_details: SANITIZE_SET)", async () => {
    const app = appWith({
      mtls: { getCertificate: (req) => certificateFromXfcc((req.headers['x-forwarded-client-cert'] as string) ?? '') },
    });
    const url = `${await serveHttp(app)}/orders`;
    const xfcc = (cert: string) =>
      `By=spiffe://cluster.local/ns/default/sa/api;Hash=00ff;Cert="${encodeURIComponent(cert)}";Subject="CN=test-client";URI=`;
    const ok = await call(url, { ...bearer(boundToClient), 'x-forwarded-client-cert': xfcc(pki.client.cert) });
    expect(ok.status).toBe(200);
    expect(ok.body.binding).toEqual({ type: 'mtls', thumbprint: clientThumbprint });
    const other = await call(url, {
      ...bearer(boundToClient),
      'x-forwarded-client-cert': xfcc(pki.selfSignedClient.cert),
    });
    expect(other.challenge).toBe(MISMATCH);
    const malformed = await call(url, { ...bearer(boundToClient), 'x-forwarded-client-cert': 'Cert="unclosed' });
    expect(malformed.challenge).toBe(MISMATCH);
  });

  it('a getCertificate that throws fails closed (401, never a 500)', async () => {
    const app = appWith({
      mtls: {
        getCertificate: () => {
          throw new Error('proxy header unreadable');
        },
      },
    });
    const url = `${await serveHttp(app)}/orders`;
    expect((await call(url, bearer(boundToClient))).challenge).toBe(MISMATCH);
    expect((await call(url, bearer(plain))).status).toBe(200);
  });
});
