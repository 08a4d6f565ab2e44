/**
 * Real X.509 material for HTTPS and client-certificate (mTLS) tests, made with the `openssl`
 * command in a fresh temporary directory: a private CA, a server certificate for `localhost`
 * and `127.0.0.1` signed by it, a client certificate signed by it, and a self-signed client
 * certificate no CA vouches for. Keys are ECDSA P-256 (fast to make).
 *
 * @example
 * ```ts
 * const pki = makeCertificates();
 * const server = https.createServer({ key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert,
 *   requestCert: true, rejectUnauthorized: false }, app);
 * // … client: https.request({ key: pki.client.key, cert: pki.client.cert, ca: pki.ca.cert })
 * pki.cleanup();
 * ```
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its private key, as PEM text and as files. */
export interface CertifiedKey {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

/** Everything {@link makeCertificates} makes. */
export interface TestCertificates {
  dir: string;
  ca: CertifiedKey;
  server: CertifiedKey;
  client: CertifiedKey;
  /** Self-signed, CA:FALSE, clientAuth; no CA in this set vouches for it. */
  selfSignedClient: CertifiedKey;
  /** Removes the temporary directory. */
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, name: string): string {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  return join(dir, `${name}.key`);
}

function read(dir: string, name: string): CertifiedKey {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

/** Issues `name`.crt for `name`.key, signed by the CA, with the given extensions. */
function issue(dir: string, name: string, subject: string, extensions: string): void {
  newKey(dir, name);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
}

/** Makes a CA, server, client and self-signed client certificate in a new temporary directory. */
export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'express-m2m-pki-'));
  try {
    newKey(dir, 'ca');
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=express-m2m test CA',
      '-days',
      '2',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'ca.crt',
    ]);
    issue(
      dir,
      'server',
      '/CN=localhost',
      'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
    );
    issue(dir, 'client', '/CN=test-client', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
    newKey(dir, 'self-signed-client');
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      'self-signed-client.key',
      '-subj',
      '/CN=self-signed-client',
      '-days',
      '2',
      '-sha256',
      '-addext',
      'basicConstraints=CA:FALSE',
      '-addext',
      'extendedKeyUsage=clientAuth',
      '-out',
      'self-signed-client.crt',
    ]);
    return {
      dir,
      ca: read(dir, 'ca'),
      server: read(dir, 'server'),
      client: read(dir, 'client'),
      selfSignedClient: read(dir, 'self-signed-client'),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** `openssl x509 -noout -fingerprint -sha256` of a certificate file, as base64url (the `x5t#S256` form). */
export function opensslThumbprint(certPath: string): string {
  const output = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', certPath], {
    encoding: 'utf8',
  });
  const hex = output.slice(output.indexOf('=') + 1).replace(/[:\s]/g, '');
  return Buffer.from(hex, 'hex').toString('base64url');
}
