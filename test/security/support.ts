/**
 * Shared tooling of the security suite: the Express major under test, a raw HTTP/1.1 client
 * (node:net, so duplicate headers, control and non-ASCII bytes reach the server exactly as
 * written), a strict RFC 6750 `WWW-Authenticate` parser, raw JWS signing with node:crypto,
 * and small loopback servers that count their hits.
 */
import { createHash, createHmac, createPublicKey, constants, sign as cryptoSign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

// Express 4 or 5: the one loader of the test suite, re-exported for the security tests.
export { express, expressMajor } from '../helpers/express.js';

// ---------------------------------------------------------------------------------------------
// Base64url and raw JWS.

/** base64url without padding of a string (UTF-8), bytes, or a JSON value. */
export function b64u(input: string | Uint8Array | object): string {
  if (typeof input === 'string') return Buffer.from(input, 'utf8').toString('base64url');
  if (input instanceof Uint8Array) return Buffer.from(input).toString('base64url');
  return Buffer.from(JSON.stringify(input), 'utf8').toString('base64url');
}

/** What a JWS segment is made of: a JSON value (serialized), a text (UTF-8) or raw bytes. */
export type Segment = string | Uint8Array | object;

/** A key to sign with: a private `KeyObject`, or HMAC secret bytes/text; `null` for no signature. */
export type SigningMaterial = KeyObject | Uint8Array | string | null;

/**
 * Signs `header.payload` with `alg`, whatever the header claims: this is how a forger builds
 * tokens (the header may lie about the algorithm, or hold parameters a library would refuse).
 */
export function signJws(header: Segment, payload: Segment, alg: string, key: SigningMaterial): string {
  const input = `${b64u(header)}.${b64u(payload)}`;
  if (key === null) return `${input}.`;
  return `${input}.${rawSignature(alg, key, Buffer.from(input, 'ascii')).toString('base64url')}`;
}

/** The signature bytes JWA (RFC 7518 §3) defines for `alg` over `input`. */
export function rawSignature(alg: string, key: Exclude<SigningMaterial, null>, input: Buffer): Buffer {
  const digest = `sha${alg.slice(2)}`;
  if (alg.startsWith('HS')) {
    const secret = typeof key === 'string' ? Buffer.from(key, 'utf8') : key instanceof Uint8Array ? key : null;
    if (secret === null) throw new TypeError('HS* needs secret bytes');
    return createHmac(digest, secret).update(input).digest();
  }
  if (typeof key === 'string' || key instanceof Uint8Array) throw new TypeError(`${alg} needs a KeyObject`);
  if (alg === 'EdDSA' || alg === 'Ed25519') return cryptoSign(null, input, key);
  if (alg.startsWith('PS')) {
    return cryptoSign(digest, input, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  if (alg.startsWith('ES')) return cryptoSign(digest, input, { key, dsaEncoding: 'ieee-p1363' });
  return cryptoSign(digest, input, key);
}

/** The three parts of a compact JWS (throws on anything else). */
export function splitJws(token: string): [string, string, string] {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error(`not a compact JWS: ${parts.length} parts`);
  return parts as [string, string, string];
}

/** The public key of a JWK in the formats a confused verifier might use as an HMAC secret. */
export function publicKeyForms(jwk: object): {
  spkiPem: string;
  pkcs1Pem?: string;
  der: Buffer;
  jwkJson: string;
  key: KeyObject;
} {
  const key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  const spkiPem = key.export({ type: 'spki', format: 'pem' }) as string;
  const der = key.export({ type: 'spki', format: 'der' });
  const forms: { spkiPem: string; pkcs1Pem?: string; der: Buffer; jwkJson: string; key: KeyObject } = {
    spkiPem,
    der,
    jwkJson: JSON.stringify(jwk),
    key,
  };
  if (key.asymmetricKeyType === 'rsa') forms.pkcs1Pem = key.export({ type: 'pkcs1', format: 'pem' }) as string;
  return forms;
}

// ---------------------------------------------------------------------------------------------
// A minimal self-signed X.509 certificate (DER), so `x5c` cases need neither openssl nor a
// private key committed to the repository.

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  let length: Buffer;
  if (body.length < 0x80) length = Buffer.from([body.length]);
  else if (body.length < 0x100) length = Buffer.from([0x81, body.length]);
  else length = Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}
const seq = (...c: Buffer[]): Buffer => der(0x30, ...c);
const oid = (hex: string): Buffer => der(0x06, Buffer.from(hex, 'hex'));
const utcTime = (text: string): Buffer => der(0x17, Buffer.from(text, 'ascii'));
const name = (cn: string): Buffer => seq(der(0x31, seq(oid('550403'), der(0x0c, Buffer.from(cn, 'utf8')))));

/** A self-signed ECDSA P-256 certificate for `privateKey`'s public key, DER-encoded. */
export function selfSignedCertificate(privateKey: KeyObject, commonName: string): Buffer {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const ecdsaWithSha256 = seq(oid('2a8648ce3d040302'));
  const serial = der(
    0x02,
    Buffer.concat([Buffer.from([0x01]), createHash('sha256').update(spki).digest().subarray(0, 8)]),
  );
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))),
    serial,
    ecdsaWithSha256,
    name(commonName),
    seq(utcTime('250101000000Z'), utcTime('350101000000Z')),
    name(commonName),
    spki,
  );
  const signature = cryptoSign('sha256', tbs, privateKey);
  return seq(tbs, ecdsaWithSha256, der(0x03, Buffer.from([0x00]), signature));
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over node:net.

/** What to send. Header values are written as UTF-8; use `rawHeaders` for exact bytes. */
export interface RawRequest {
  method?: string;
  /** Path and query string. */
  path: string;
  /** `Authorization` values; several are sent as repeated header lines. */
  authorization?: string | readonly string[];
  /** Complete header lines (no CRLF), written byte for byte. */
  rawHeaders?: readonly Buffer[];
  /** A request body with its content type. */
  body?: { contentType: string; data: string };
}

/** A parsed response. */
export interface RawResponse {
  status: number;
  /** Header lines in order, names lower-cased; values as latin1 text (the bytes, one char each). */
  headers: Array<[string, string]>;
  body: string;
  /** The whole response as latin1 text. */
  raw: string;
}

/** All values of a response header. */
export function headerValues(response: RawResponse, name: string): string[] {
  const lower = name.toLowerCase();
  return response.headers.filter(([n]) => n === lower).map(([, v]) => v);
}

/** Serializes a request (always `Connection: close`, so the response ends with the socket). */
export function serializeRequest(request: RawRequest, host: string): Buffer {
  const lines: Buffer[] = [
    Buffer.from(
      `${request.method ?? 'GET'} ${request.path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`,
      'utf8',
    ),
  ];
  const auth = request.authorization;
  for (const value of auth === undefined ? [] : typeof auth === 'string' ? [auth] : auth) {
    lines.push(Buffer.from(`Authorization: ${value}\r\n`, 'utf8'));
  }
  for (const line of request.rawHeaders ?? []) lines.push(line, Buffer.from('\r\n'));
  if (request.body !== undefined) {
    const data = Buffer.from(request.body.data, 'utf8');
    lines.push(
      Buffer.from(`Content-Type: ${request.body.contentType}\r\nContent-Length: ${data.length}\r\n\r\n`, 'utf8'),
      data,
    );
  } else {
    lines.push(Buffer.from('\r\n'));
  }
  return Buffer.concat(lines);
}

/** Sends `request` on a fresh connection and reads the response until the server closes it. */
export function sendRaw(port: number, request: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      // The server may answer and reset while we are still writing a huge request.
      if (chunks.length > 0) resolve(parseResponse(Buffer.concat(chunks)));
      else reject(error);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error as Error);
      }
    });
    // No half-close: Node answers a client that half-closes by aborting its in-flight requests.
    socket.write(serializeRequest(request, `127.0.0.1:${port}`));
  });
}

/** Parses an HTTP/1.1 response (Content-Length or chunked). */
export function parseResponse(data: Buffer): RawResponse {
  const raw = data.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`incomplete response: ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const match = /^HTTP\/1\.1 (\d{3})/.exec(statusLine);
  if (match === null) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  });
  let bodyBytes = data.subarray(Buffer.byteLength(raw.slice(0, end + 4), 'latin1'));
  if (headers.some(([n, v]) => n === 'transfer-encoding' && /chunked/i.test(v))) bodyBytes = dechunk(bodyBytes);
  return { status: Number(match[1]), headers, body: bodyBytes.toString('utf8'), raw };
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}

// ---------------------------------------------------------------------------------------------
// RFC 6750 §3 challenge parsing.

/** Characters RFC 6750 §3 allows inside quoted attribute values. */
const QUOTED_VALUE = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
const ATTRIBUTES = new Set(['realm', 'error', 'error_description', 'scope', 'error_uri', 'algs', 'resource_metadata']);

/**
 * Parses a `WWW-Authenticate` value strictly: `Bearer` (or `DPoP`, RFC 9449 §7.1) then
 * `name="value"` pairs separated by commas (RFC 7235 §2.1 with RFC 6750 §3's attribute set and
 * character rules, plus `algs` and RFC 9728's `resource_metadata`), each name once. Throws
 * with a reason on anything else.
 */
export function parseBearerChallenge(value: string): Map<string, string> {
  if (!/^[\x20-\x7E]*$/.test(value)) throw new Error('challenge has characters outside visible ASCII and SP');
  const head = /^(?:Bearer|DPoP)(?: +|$)/.exec(value);
  if (head === null) throw new Error('challenge does not start with the Bearer or DPoP scheme');
  const params = new Map<string, string>();
  let rest = value.slice(head[0].length);
  while (rest.length > 0) {
    const match = /^([A-Za-z_][A-Za-z0-9_-]*)="([^"\\]*)"(?: *, *(?=[A-Za-z_])|$)/.exec(rest);
    if (match === null) throw new Error(`malformed auth-param at ${JSON.stringify(rest.slice(0, 40))}`);
    const [whole, name = '', quoted = ''] = match;
    if (!ATTRIBUTES.has(name)) throw new Error(`unexpected attribute ${name}`);
    if (params.has(name)) throw new Error(`attribute ${name} repeated`);
    if (!QUOTED_VALUE.test(quoted)) throw new Error(`attribute ${name} has characters RFC 6750 forbids`);
    params.set(name, quoted);
    rest = rest.slice(whole.length);
  }
  if (!params.has('realm')) throw new Error('challenge has no realm');
  return params;
}

// ---------------------------------------------------------------------------------------------
// Loopback servers.

/** A started loopback server. */
export interface LoopbackServer {
  readonly url: string;
  readonly port: number;
  /** Requests received, by path. */
  readonly hits: Map<string, number>;
  /** Total requests received. */
  totalHits(): number;
  close(): Promise<void>;
}

/** Starts `handler` on 127.0.0.1 with a random port. */
export async function startServer(
  handler: http.RequestListener,
  options: http.ServerOptions = {},
): Promise<LoopbackServer & { server: http.Server }> {
  const hits = new Map<string, number>();
  const server = http.createServer(options, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    req.on('error', () => {});
    res.on('error', () => {});
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    totalHits: () => [...hits.values()].reduce((a, b) => a + b, 0),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds (background key-set refreshes finish after the request that started them). */
export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(20);
  }
}
