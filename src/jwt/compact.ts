/**
 * Parsing a JWS compact serialization exactly as jose 6 does (on Node 20, where jose decodes
 * base64url through `atob`): three parts, base64url without `+`, `/` or misplaced padding,
 * UTF-8 that must be well-formed, and top-level JSON objects. Errors are jose's classes so one
 * translation table serves both paths.
 *
 * @module
 */
import { isAscii } from 'node:buffer';
import { base64url, errors, type JWTHeaderParameters } from 'jose';
import { isJsonObject } from '../json.js';
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
const BASE64URL_PART = /^[A-Za-z0-9_-]*$/;
const BASE64URL_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Non-ASCII characters; jose refuses them in the encoded payload. */
const NON_ASCII = /[^\p{ASCII}]/u;

/**
 * Decodes base64url exactly as jose does. Every real token takes the fast path; any other
 * spelling (padding, whitespace, odd lengths) is handed to jose's own decoder, so those edge
 * cases follow jose by construction rather than by imitation.
 *
 * @returns the bytes, or `undefined` when the input is not valid base64url.
 */
export function decodeBase64url(input: string): Buffer | undefined {
  // Plain unpadded base64url, which jose's decoder (forgiving-base64 through `atob` on Node 20)
  // decodes exactly as Node's does, about twice as fast (neither refuses stray bits in the last
  // character).
  if (input.length % 4 !== 1 && BASE64URL_PART.test(input)) return Buffer.from(input, 'base64url');
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(input);
  } catch {
    return undefined;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * True when `token` is in the canonical compact form RFC 7515 §2 defines: three parts of
 * unpadded base64url without whitespace, whose last character carries no stray bits. jose
 * (the reference for {@link parseCompact}) also accepts padded, whitespace-laden or
 * non-canonical encodings of the same bytes; refusing them keeps a token's base64url spelling
 * unique, so the verified-token cache is not filled with re-encodings of one token.
 *
 * This does NOT make a token's string unique. An ECDSA signature (r, s) has a twin (r, n − s)
 * that is just as valid, and anyone can compute it from a token they have seen, without the
 * key: an ES256/384/512 token therefore has two accepted spellings (jose accepts both too).
 * That is harmless for a cache keyed on the token string (a twin is only a cache miss), but
 * anything that must not be sidestepped (revocation, replay detection, audit logs) has to be
 * keyed on claims (`jti`, `iss`, the client), never on the token string.
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

/** Bounds on the shape of a JSON text, checked before it is parsed. */
export interface JsonShapeLimits {
  /** Deepest nesting of arrays and objects. */
  depth: number;
  /** Most array elements and object members, counted together. */
  entries: number;
}

/**
 * Decodes a base64url JSON object member, or `undefined` when it is not one, or when its
 * shape exceeds `limits` (checked before parsing).
 */
export function decodeJsonObject(encoded: string, limits?: JsonShapeLimits): Record<string, unknown> | undefined {
  const bytes = decodeBase64url(encoded);
  if (bytes === undefined) return undefined;
  let parsed: unknown;
  try {
    // ASCII is valid UTF-8 as it stands: only other bytes need the strict decoder.
    const text = isAscii(bytes) ? bytes.toString('latin1') : strictUtf8.decode(bytes);
    if (limits !== undefined && exceedsShape(text, limits)) return undefined;
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isJsonObject(parsed) ? parsed : undefined;
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when the JSON text nests deeper, or holds more entries (commas and openings outside
 * strings, an upper bound on elements and members), than `limits` allow: one linear pass over
 * the characters, far cheaper than parsing a text built to be expensive (every level and every
 * member is an allocation). Text that is not JSON may give any answer; the parser refuses it.
 */
export function exceedsShape(text: string, limits: JsonShapeLimits): boolean {
  let depth = 0;
  let entries = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) index++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) inString = true;
    else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > limits.depth || ++entries > limits.entries) return true;
    } else if (code === COMMA) {
      if (++entries > limits.entries) return true;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) depth--;
  }
  return false;
}

/** Header checks that refuse a token before any work that grows with its header. */
export interface HeaderPolicy {
  /** Allowed `alg` values; another one is `JOSEAlgNotAllowed`. */
  algorithms?: readonly string[] | undefined;
  /** Expected `typ`, compared as a media type (`at+jwt` matches `application/at+jwt`). */
  typ?: string | undefined;
}

/**
 * The largest protected header accepted, by shape: 16 levels of nesting, 100 elements and
 * members. Real headers nest two levels at most (`jwk`, `x5c`) and hold a dozen members;
 * parsing a 16 KB header of nested arrays or thousands of members costs several times a
 * signature check, so such a header is refused before it is parsed. jose has no such limits:
 * an intended difference (a header past them is refused even when validly signed).
 */
export const HEADER_SHAPE_LIMITS: Readonly<JsonShapeLimits> = Object.freeze({ depth: 16, entries: 100 });

/**
 * Splits and checks a compact JWS the way jose's `compactVerify` does before it looks at the
 * key: three parts, a JSON-object header, `crit` limited to the understood `b64`, a
 * base64url-encoded (`b64` not false) ASCII payload, and a non-empty string `alg`; with a
 * `policy`, also the allowed `alg`s and the expected `typ`, checked right after the header is
 * parsed. A header past {@link HEADER_SHAPE_LIMITS} is refused unparsed.
 *
 * @example
 * ```ts
 * const { header, signingInput } = parseCompact(token, { algorithms: ['RS256'] });
 * ```
 * @throws jose's `JWSInvalid`, `JOSENotSupported`, `JOSEAlgNotAllowed`, `JWTInvalid` or
 *   `JWTClaimValidationFailed` (claim `typ`).
 */
export function parseCompact(token: string, policy: HeaderPolicy = {}): ParsedCompact {
  const parts = token.split('.');
  if (parts.length !== 3) throw new errors.JWSInvalid('Invalid Compact JWS');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const { header, b64 } = decodeHeader(encodedHeader, policy);
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
 * Headers already decoded and found well-formed, by their encoded form. A service sees the same
 * few headers over and over (one per signing key), so decoding each only once saves JSON work
 * on every new token. Bounded: emptied when full, and long headers are not kept. The policy is
 * checked on every use, so only headers that passed it once are ever kept.
 */
const knownHeaders = new Map<string, JWTHeaderParameters>();
const KNOWN_HEADERS_MAX = 64;
const KNOWN_HEADER_MAX_LENGTH = 512;

/**
 * Decodes and checks a protected header: shape, JSON object, `alg` (present, then
 * allowed), `typ`, then `crit`; the cheap refusals come before anything that grows with the
 * header. Only a header that is remembered is frozen (it is then shared by every token that
 * carries it); any other is the caller's alone.
 */
function decodeHeader(encodedHeader: string, policy: HeaderPolicy): { header: JWTHeaderParameters; b64: boolean } {
  const known = knownHeaders.get(encodedHeader);
  if (known !== undefined) {
    checkPolicy(known, policy);
    return { header: known, b64: true };
  }
  const decoded = decodeJsonObject(encodedHeader, HEADER_SHAPE_LIMITS);
  if (decoded === undefined) throw new errors.JWSInvalid('JWS Protected Header is invalid');
  checkPolicy(decoded, policy);
  const b64 = checkCritical(decoded);
  const header = decoded as JWTHeaderParameters;
  if (b64 && encodedHeader.length <= KNOWN_HEADER_MAX_LENGTH) {
    if (knownHeaders.size >= KNOWN_HEADERS_MAX) knownHeaders.clear();
    // A copy, so the key does not keep the whole token alive.
    knownHeaders.set(Buffer.from(encodedHeader, 'latin1').toString('latin1'), deepFreeze(header));
  }
  return { header, b64 };
}

/** `alg` present and allowed, `typ` as expected: a look at two members, whatever the size of the header. */
function checkPolicy(header: Record<string, unknown>, policy: HeaderPolicy): void {
  const { alg, typ } = header;
  if (typeof alg !== 'string' || alg === '')
    throw new errors.JWSInvalid('JWS "alg" (Algorithm) Header Parameter missing or invalid');
  if (policy.algorithms !== undefined && !policy.algorithms.includes(alg))
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  if (policy.typ !== undefined && (typeof typ !== 'string' || normalizeTyp(typ) !== normalizeTyp(policy.typ)))
    throw new errors.JWTClaimValidationFailed('unexpected "typ" JWT header value', {}, 'typ', 'check_failed');
}

/** A `typ` as a full media type, lower-cased (RFC 7515 §4.1.9), as jose compares it. */
export function normalizeTyp(value: string): string {
  const lower = value.toLowerCase();
  return value.includes('/') ? lower : `application/${lower}`;
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
