/**
 * The one way the caller side reports a bad option.
 *
 * @module
 */

/**
 * A `TypeError` for a bad option of `factory`, as `express-m2m: <factory>: <problem>`. The
 * problem names the option, never its value (which may be a secret).
 *
 * @example
 * ```ts
 * throw optionError('createTokenClient', '`clientId` is required');
 * ```
 */
export function optionError(factory: string, problem: string): TypeError {
  return new TypeError(`express-m2m: ${factory}: ${problem}`);
}
