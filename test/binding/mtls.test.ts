import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { certificateFromXfcc, certificateThumbprint } from '../../src/binding/mtls.js';
import { makeCertificates, opensslThumbprint, type TestCertificates } from '../helpers/certificates.js';

let pki: TestCertificates;
let expected: string;

beforeAll(() => {
  pki = makeCertificates();
  expected = opensslThumbprint(pki.client.certPath);
});
afterAll(() => pki.cleanup());

/** What nginx's `$ssl_client_escaped_cert` looks like: URL-escaped PEM. */
const escaped = (pem: string) => encodeURIComponent(pem);
const derOf = (pem: string) => new X509Certificate(pem).raw;

describe('certificateThumbprint', () => {
  it('equals openssl x509 -fingerprint -sha256 (hex to base64url), 43 characters', () => {
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(certificateThumbprint(pki.client.cert)).toBe(expected);
  });

  it('gives the same thumbprint for PEM, escaped PEM, DER, PEM bytes and X509Certificate', () => {
    const pem = pki.client.cert;
    for (const form of [
      pem,
      escaped(pem),
      pem.replace(/\n/g, '\r\n'),
      pem.replace(/\n(?!-----END)/g, '\n\t'),
      pem.replace(/\n/g, ' '),
      derOf(pem),
      Buffer.from(pem),
      new X509Certificate(pem),
    ]) {
      expect(certificateThumbprint(form)).toBe(expected);
    }
  });

  it('tells different certificates apart', () => {
    expect(certificateThumbprint(pki.selfSignedClient.cert)).toBe(opensslThumbprint(pki.selfSignedClient.certPath));
    expect(certificateThumbprint(pki.selfSignedClient.cert)).not.toBe(expected);
    expect(certificateThumbprint(pki.ca.cert)).not.toBe(expected);
  });

  it.each([
    ['an empty string', ''],
    ['junk', 'not a certificate'],
    ['a private key', () => pki.client.key],
    ['a chain of two certificates', () => pki.client.cert + pki.ca.cert],
    ['a truncated PEM', () => pki.client.cert.slice(0, 200)],
    ['broken base64 inside the PEM', () => pki.client.cert.replace(/\n[A-Za-z0-9+/]{4}/, '\n!!!!')],
    ['bad URL escaping', '%E0%A4%A-----BEGIN CERTIFICATE-----'],
    ['an empty Buffer', Buffer.alloc(0)],
    ['DER with trailing bytes', () => Buffer.concat([derOf(pki.client.cert), Buffer.from([0])])],
    ['truncated DER', () => derOf(pki.client.cert).subarray(0, 100)],
    ['a huge string', 'A'.repeat(1_000_000)],
    ['not a string', 42],
  ])('is undefined for %s', (_name, input) => {
    const value = typeof input === 'function' ? input() : input;
    expect(certificateThumbprint(value as string)).toBeUndefined();
  });

  it('matches the certificate a client presents over real TLS, with no CA vouching for it', async () => {
    const server = https.createServer(
      { key: pki.server.key, cert: pki.server.cert, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(certificateThumbprint(peer.raw) ?? 'none');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = await new Promise<string>((resolve, reject) => {
        const request = https.get(
          {
            host: '127.0.0.1',
            port,
            path: '/',
            ca: pki.ca.cert,
            key: pki.selfSignedClient.key,
            cert: pki.selfSignedClient.cert,
            agent: false,
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve(text));
          },
        );
        request.on('error', reject);
      });
      expect(body).toBe(opensslThumbprint(pki.selfSignedClient.certPath));
    } finally {
      server.close();
    }
  });
});

describe('certificateFromXfcc', () => {
  const hash = 'a'.repeat(64);

  it('reads the Cert of the first element, quoted or not', () => {
    const cert = escaped(pki.client.cert);
    const header = `By=spiffe://cluster.local/ns/api;Hash=${hash};Cert="${cert}";Subject="CN=test-client";URI=`;
    expect(certificateFromXfcc(header)).toBe(pki.client.cert);
    expect(certificateThumbprint(certificateFromXfcc(header) as string)).toBe(expected);
    expect(certificateFromXfcc(`Hash=${hash};Cert=${cert}`)).toBe(pki.client.cert);
    expect(certificateFromXfcc(`hash=${hash}; cert="${cert}"`)).toBe(pki.client.cert);
  });

  it('reads only the first element; a Cert in a later one does not count', () => {
    const later = escaped(pki.selfSignedClient.cert);
    const header = `Hash=${hash};Cert="${escaped(pki.client.cert)}",Hash=${hash};Cert="${later}"`;
    expect(certificateFromXfcc(header)).toBe(pki.client.cert);
    expect(certificateFromXfcc(`Hash=${hash},Cert="${later}"`)).toBeUndefined();
  });

  it('keeps separators inside quotes and honours backslash escapes', () => {
    const cert = escaped(pki.client.cert);
    const header = `Subject="CN=a,O=\\"b;c\\"";Cert="${cert}"`;
    expect(certificateFromXfcc(header)).toBe(pki.client.cert);
  });

  it.each([
    ['no Cert', `Hash=${hash};Subject="CN=x"`],
    ['two Certs in the first element', 'Cert=a;Cert=b'],
    ['an unclosed quote', 'Cert="abc'],
    ['a pair without =', 'Cert'],
    ['bad URL escaping', 'Cert="%E0%A4%A"'],
    ['an empty header', ''],
  ])('is undefined for %s', (_name, header) => {
    expect(certificateFromXfcc(header)).toBeUndefined();
  });
});
