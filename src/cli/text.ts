/**
 * Turning values taken from a token or a server into text that is safe on a terminal: every
 * string is quoted and escaped, so a claim cannot carry escape sequences, line breaks or
 * bidirectional overrides into the operator's terminal.
 *
 * @module
 */

/** Characters JSON leaves alone that still move or hide text on a terminal (C1 controls, bidi and line separators). */
const TERMINAL_UNSAFE = /[\u0080-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g;
/** Longest value shown on one line; the rest is cut. */
const MAX_SHOWN = 200;

/** JSON text of `value` with terminal-unsafe characters escaped; `(absent)` for undefined. */
export function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = text.replace(TERMINAL_UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

/** A list of expected values: `"a"` or `one of "a", "b"`. */
export function showChoices(values: readonly unknown[]): string {
  if (values.length === 1) return show(values[0]);
  return `one of ${values.map(show).join(', ')}`;
}
