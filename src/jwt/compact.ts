/**
 * Parsing a JWS compact serialization exactly as jose 6 does (on Node 20, where jose decodes
 * base64url through `atob`): three parts, base64url without `+`, `/` or misplaced padding,
 * UTF-8 that must be well-formed, and top-level JSON objects. Errors are jose's classes so one
 * translation table serves both paths.
 *
 * @module
 */
import { isAscii } from 'node:buffer';
import { errors, type JWTHeaderParameters } from 'jose';
import { deepFreeze } from '../deep-freeze.js';

/** A compact JWS split into its parts, header decoded, nothing verified yet. */
export interface ParsedCompact {
  header: JWTHeaderParameters;
  /** `BASE64URL(header) "." BASE64URL(payload)` as ASCII bytes. */
  signingInput: Buffer;
  /** The encoded payload, decoded only after the signature is checked. */
  encodedPayload: string;
  encodedSignature: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const ASCII_WHITESPACE = /[\t\n\f\r ]/g;
const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/;
const BASE64URL_PART = /^[A-Za-z0-9_-]*$/;
const BASE64URL_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Non-ASCII characters; jose refuses them in the encoded payload. */
const NON_ASCII = /[^\p{ASCII}]/u;

/**
 * Decodes base64url with the WHATWG "forgiving-base64" rules jose relies on: `+` and `/` are
 * refused, ASCII whitespace is ignored, trailing `=` padding is allowed only where it fits.
 *
 * @returns the bytes, or `undefined` when the input is not valid base64url.
 */
export function decodeBase64url(input: string): Buffer | undefined {
  // Fast path, the shape of every real token: plain unpadded base64url, which forgiving-base64
  // decodes exactly as Node's decoder does (neither refuses stray bits in the last character).
  if (input.length % 4 !== 1 && BASE64URL_PART.test(input)) return Buffer.from(input, 'base64url');
  if (input.includes('+') || input.includes('/')) return undefined;
  let data = input.replace(/-/g, '+').replace(/_/g, '/').replace(ASCII_WHITESPACE, '');
  if (data.length % 4 === 0) data = data.replace(/==?$/, '');
  if (data.length % 4 === 1 || !BASE64_ALPHABET.test(data)) return undefined;
  return Buffer.from(data, 'base64');
}

/**
 * True when `token` is in the one canonical compact form RFC 7515 §2 defines: three parts of
 * unpadded base64url without whitespace, whose last character carries no stray bits. jose
 * (the reference for {@link parseCompact}) also accepts padded, whitespace-laden or
 * non-canonical encodings of the same bytes; refusing them means a valid token has exactly
 * one spelling, so nothing keyed on the token string (caches, deny-lists, logs) can be
 * sidestepped by re-encoding it.
 */
export function isCanonicalCompact(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  for (const part of parts) {
    if (!BASE64URL_PART.test(part) || part.length % 4 === 1) return false;
    // The last character of a part whose length is not a multiple of 4 carries 4 (length % 4
    // = 2) or 2 (= 3) bits past the data; the canonical encoding has them zero.
    const strayBits = [0, 0, 0b1111, 0b11][part.length % 4] as number;
    if (strayBits !== 0 && (BASE64URL_DIGITS.indexOf(part[part.length - 1] as string) & strayBits) !== 0) return false;
  }
  return true;
}

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.prototype.toString.call(value) !== '[object Object]')
    return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** Decodes a base64url JSON object member, or `undefined` when it is not one. */
export function decodeJsonObject(encoded: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64url(encoded);
  if (bytes === undefined) return undefined;
  let parsed: unknown;
  try {
    // ASCII is valid UTF-8 as it stands: only other bytes need the strict decoder.
    parsed = JSON.parse(isAscii(bytes) ? bytes.toString('latin1') : strictUtf8.decode(bytes));
  } catch {
    return undefined;
  }
  return isJsonObject(parsed) ? parsed : undefined;
}

/**
 * Splits and checks a compact JWS the way jose's `compactVerify` does before it looks at the
 * key: three parts, a JSON-object header, `crit` limited to the understood `b64`, a
 * base64url-encoded (`b64` not false) ASCII payload, and a non-empty string `alg`.
 *
 * @throws jose's `JWSInvalid`, `JOSENotSupported` or `JWTInvalid`.
 */
export function parseCompact(token: string): ParsedCompact {
  const parts = token.split('.');
  if (parts.length !== 3) throw new errors.JWSInvalid('Invalid Compact JWS');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const { header, b64 } = decodeHeader(encodedHeader);
  if (NON_ASCII.test(encodedPayload)) throw new errors.JWSInvalid('The payload is not a valid base64url string');
  if (!b64) throw new errors.JWTInvalid('JWTs MUST NOT use unencoded payload');
  return {
    header,
    signingInput: Buffer.from(token.slice(0, encodedHeader.length + 1 + encodedPayload.length), 'latin1'),
    encodedPayload,
    encodedSignature,
  };
}

/**
 * Headers already decoded and found acceptable, by their encoded form. A service sees the same
 * few headers over and over (one per signing key), so decoding each only once saves JSON work
 * on every new token. Bounded: emptied when full, and long headers are not kept.
 */
const knownHeaders = new Map<string, JWTHeaderParameters>();
const KNOWN_HEADERS_MAX = 64;
const KNOWN_HEADER_MAX_LENGTH = 512;

/** Decodes and checks a protected header (JSON object, `crit`, `alg`); returns it frozen, with `b64`. */
function decodeHeader(encodedHeader: string): { header: JWTHeaderParameters; b64: boolean } {
  const known = knownHeaders.get(encodedHeader);
  if (known !== undefined) return { header: known, b64: true };
  const decoded = decodeJsonObject(encodedHeader);
  if (decoded === undefined) throw new errors.JWSInvalid('JWS Protected Header is invalid');
  const b64 = checkCritical(decoded);
  const { alg } = decoded;
  if (typeof alg !== 'string' || alg === '')
    throw new errors.JWSInvalid('JWS "alg" (Algorithm) Header Parameter missing or invalid');
  // Frozen: a remembered header is shared by every token that carries it.
  const header = deepFreeze(decoded) as JWTHeaderParameters;
  if (b64 && encodedHeader.length <= KNOWN_HEADER_MAX_LENGTH) {
    if (knownHeaders.size >= KNOWN_HEADERS_MAX) knownHeaders.clear();
    // A copy, so the key does not keep the whole token alive.
    knownHeaders.set(Buffer.from(encodedHeader, 'latin1').toString('latin1'), header);
  }
  return { header, b64 };
}

/** RFC 7515 §4.1.11: every critical extension must be understood; only `b64` (RFC 7797) is. Returns `b64`. */
function checkCritical(header: Record<string, unknown>): boolean {
  const { crit } = header;
  if (crit === undefined) return true;
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((name) => typeof name !== 'string' || name === '')) {
    throw new errors.JWSInvalid(
      '"crit" (Critical) Header Parameter MUST be an array of non-empty strings when present',
    );
  }
  for (const name of crit as string[]) {
    if (name !== 'b64') throw new errors.JOSENotSupported('Extension Header Parameter is not recognized');
    if (!Object.hasOwn(header, name) || header[name] === undefined)
      throw new errors.JWSInvalid('Extension Header Parameter is missing');
  }
  if (typeof header.b64 !== 'boolean') throw new errors.JWSInvalid('The "b64" Header Parameter must be a boolean');
  return header.b64;
}
