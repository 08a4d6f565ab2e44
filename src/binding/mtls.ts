/**
 * Client-certificate thumbprints for certificate-bound tokens (RFC 8705 §3.1): the token's
 * `cnf["x5t#S256"]` is base64url(SHA-256(DER of the certificate)). Accepts the certificate as
 * the TLS socket gives it, or as a TLS-terminating proxy forwards it in a header.
 *
 * @module
 */
import { createHash, X509Certificate } from 'node:crypto';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g;
/** Base64 body of a PEM block; whitespace (newlines, tabs, spaces a proxy put in) is removed first. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const WHITESPACE = /\s+/g;
/** Certificates larger than this are refused: real client certificates are a few KB. */
const MAX_CERTIFICATE_BYTES = 64 * 1024;

/**
 * base64url(SHA-256(DER)) of a certificate, as a bound token's `cnf["x5t#S256"]` holds it.
 *
 * @param cert - PEM text (as `getPeerCertificate` callers or proxies produce it, line breaks
 *   or not), URL-escaped PEM (nginx `$ssl_client_escaped_cert`, Envoy's `Cert=` element), DER
 *   or PEM bytes, or a `node:crypto` `X509Certificate`. Exactly one certificate: a PEM text
 *   with several is refused, since which of them the client holds the key of is unknown.
 * @returns the thumbprint, or `undefined` when the input is not exactly one parsable certificate.
 * @example
 * ```ts
 * certificateThumbprint(req.socket.getPeerCertificate().raw);       // from the TLS socket
 * certificateThumbprint(req.get('x-ssl-client-cert') ?? '');         // from nginx, escaped PEM
 * ```
 */
export function certificateThumbprint(cert: string | Buffer | X509Certificate): string | undefined {
  const der = certificateDer(cert);
  return der === undefined ? undefined : createHash('sha256').update(der).digest('base64url');
}

function certificateDer(cert: unknown): Buffer | undefined {
  if (cert instanceof X509Certificate) return cert.raw;
  if (Buffer.isBuffer(cert)) {
    if (cert.length > MAX_CERTIFICATE_BYTES) return undefined;
    // A DER certificate is an ASN.1 SEQUENCE (0x30); anything else is taken as PEM text.
    return cert[0] === 0x30 ? parseDer(cert) : derFromPem(cert.toString('latin1'));
  }
  if (typeof cert !== 'string' || cert.length > 2 * MAX_CERTIFICATE_BYTES) return undefined;
  let text = cert;
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return undefined;
    }
  }
  return derFromPem(text);
}

function derFromPem(text: string): Buffer | undefined {
  const blocks = [...text.matchAll(PEM_CERTIFICATE)];
  if (blocks.length !== 1) return undefined;
  const body = (blocks[0]?.[1] ?? '').replace(WHITESPACE, '');
  if (!BASE64.test(body) || body.length % 4 !== 0) return undefined;
  return parseDer(Buffer.from(body, 'base64'));
}

/** The DER bytes when they are exactly one certificate (no trailing bytes). */
function parseDer(der: Buffer): Buffer | undefined {
  try {
    const raw = new X509Certificate(der).raw;
    return raw.equals(der) ? raw : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The client certificate in Envoy's `x-forwarded-client-cert` header: the `Cert` value of the
 * first element, URL-decoded to PEM. Elements are separated by `,`, key=value pairs by `;`;
 * values may be double-quoted, with `\"` and `\\` escapes inside quotes.
 *
 * Trust this header only when Envoy sets it (`forward_client_cert_details: SANITIZE_SET`) and
 * the application is reachable only through Envoy; otherwise any client can write it.
 *
 * @returns the PEM text, or `undefined` when the first element has no `Cert`, has it more than
 *   once, or the header is malformed (an unclosed quote, a pair without `=`).
 * @example
 * ```ts
 * const pem = certificateFromXfcc(req.get('x-forwarded-client-cert') ?? '');
 * const thumbprint = pem === undefined ? undefined : certificateThumbprint(pem);
 * ```
 */
export function certificateFromXfcc(header: string): string | undefined {
  if (typeof header !== 'string' || header.length > 4 * MAX_CERTIFICATE_BYTES) return undefined;
  const pairs = firstElementPairs(header);
  if (pairs === undefined) return undefined;
  const certs = pairs.filter(([key]) => key.toLowerCase() === 'cert');
  if (certs.length !== 1) return undefined;
  try {
    return decodeURIComponent((certs[0] as [string, string])[1]);
  } catch {
    return undefined;
  }
}

/** The key=value pairs of the first element, quotes removed; `undefined` when malformed. */
function firstElementPairs(header: string): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  let key = '';
  let value = '';
  let inValue = false;
  let quoted = false;
  for (let i = 0; i < header.length; i += 1) {
    const character = header[i] as string;
    if (quoted) {
      if (character === '\\' && i + 1 < header.length) value += header[++i];
      else if (character === '"') quoted = false;
      else value += character;
    } else if (character === '"' && inValue) quoted = true;
    else if (character === '=' && !inValue) inValue = true;
    else if (character === ';' || character === ',') {
      if (!inValue) return undefined;
      pairs.push([key.trim(), value.trim()]);
      [key, value, inValue] = ['', '', false];
      if (character === ',') return pairs;
    } else if (inValue) value += character;
    else key += character;
  }
  if (quoted || !inValue) return undefined;
  pairs.push([key.trim(), value.trim()]);
  return pairs;
}
