/**
 * Reading the confirmation claim (`cnf`, RFC 7800) of a verified access token: the key
 * thumbprint a DPoP proof must match (`jkt`, RFC 9449 §6.1) and the client-certificate
 * thumbprint the TLS connection must match (`x5t#S256`, RFC 8705 §3.1).
 *
 * @module
 */
import { isJsonObject } from '../json.js';

/**
 * What a token's `cnf` binds it to. `valid: false` means a `cnf` is present but cannot be
 * understood: the token must be refused. The thumbprints are only reachable after checking
 * `valid`, so a malformed binding cannot be mistaken for "no binding".
 */
export type Confirmation =
  { readonly valid: true; readonly jkt?: string; readonly x5t?: string } | { readonly valid: false };

/**
 * base64url of a SHA-256 digest, canonical: 43 characters, the last one carrying no stray
 * bits (its two low bits are past the 256 bits of data and must be zero).
 */
const SHA256_BASE64URL = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** The confirmation methods this package can prove; any other member is a binding it cannot check. */
const KNOWN_METHODS = new Set(['jkt', 'x5t#S256']);

const UNBOUND: Confirmation = Object.freeze({ valid: true });
const MALFORMED: Confirmation = Object.freeze({ valid: false });

/** True when `value` is a canonical base64url SHA-256 digest (43 characters). */
export function isSha256Thumbprint(value: unknown): value is string {
  return typeof value === 'string' && SHA256_BASE64URL.test(value);
}

/**
 * Reads `cnf` from a verified token payload.
 *
 * A `cnf` that is not a JSON object, that is empty, that carries a member other than `jkt`
 * and `x5t#S256` (a confirmation method that cannot be proven here, e.g. `jwk` or `kid`), or
 * whose `jkt` / `x5t#S256` is not a canonical base64url SHA-256 digest gives
 * `{ valid: false }`: the token is bound to something, and accepting it without the proof
 * would turn it back into a bearer token.
 *
 * @example
 * ```ts
 * const confirmation = readConfirmation(payload);
 * if (!confirmation.valid) throw refuse('invalid_token');
 * if (confirmation.jkt !== undefined) requireDPoPProof(confirmation.jkt);
 * ```
 */
export function readConfirmation(payload: Readonly<Record<string, unknown>>): Confirmation {
  if (!Object.hasOwn(payload, 'cnf')) return UNBOUND;
  const cnf = payload.cnf;
  if (!isJsonObject(cnf)) return MALFORMED;
  const members = Object.keys(cnf);
  if (members.length === 0 || members.some((name) => !KNOWN_METHODS.has(name))) return MALFORMED;
  const jkt = cnf.jkt;
  const x5t = cnf['x5t#S256'];
  if (jkt !== undefined && !isSha256Thumbprint(jkt)) return MALFORMED;
  if (x5t !== undefined && !isSha256Thumbprint(x5t)) return MALFORMED;
  return Object.freeze({
    valid: true,
    ...(jkt === undefined ? {} : { jkt }),
    ...(x5t === undefined ? {} : { x5t }),
  });
}
