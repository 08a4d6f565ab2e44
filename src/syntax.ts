/**
 * The two character classes of OAuth 2.0 wire values, written once. Each is the body of a
 * regular-expression bracket expression, so callers choose the length they allow.
 *
 * @module
 */

/**
 * RFC 6749 Appendix A `NQSCHAR` (%x20-21 / %x23-5B / %x5D-7E): printable ASCII and space,
 * without `"` and `\`. The characters of `error`, `error_description` (RFC 6749 §5.2,
 * RFC 6750 §3) and of a `scope` value, scope tokens joined by spaces.
 */
export const NQSCHAR = '\\x20\\x21\\x23-\\x5B\\x5D-\\x7E';

/**
 * RFC 6749 Appendix A `NQCHAR` (%x21 / %x23-5B / %x5D-7E): {@link NQSCHAR} without the space.
 * The characters of one `scope-token` (RFC 6749 §3.3) and of a DPoP `nonce` (RFC 9449 §8).
 */
export const NQCHAR = '\\x21\\x23-\\x5B\\x5D-\\x7E';

/**
 * A pattern that matches a whole string of `min` to `max` (default: unbounded) characters of
 * `chars`.
 *
 * @example
 * ```ts
 * const SCOPE_TOKEN = runOf(NQCHAR, 1); // /^[\x21\x23-\x5B\x5D-\x7E]{1,}$/
 * SCOPE_TOKEN.test('read:orders'); // true
 * ```
 */
export function runOf(chars: string, min: number, max?: number): RegExp {
  return new RegExp(`^[${chars}]{${min},${max ?? ''}}$`);
}
