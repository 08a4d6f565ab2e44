/**
 * Removal of credentials from text that came back from a server, before it reaches an error
 * message. Servers do echo request parameters in `error_description` (some even the secret),
 * and an error message ends up in logs.
 *
 * @module
 */

const REDACTED = '[redacted]';
/** Longest `error_description` kept; servers have been seen to put whole request dumps there. */
const MAX_DESCRIPTION = 300;
/** Recent client assertions remembered for redaction; older ones have expired anyway. */
const MAX_ASSERTIONS = 8;
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/**
 * Knows the credentials of one client and strips every known encoding of them from text.
 * The credentials live only in this object's private fields.
 */
export class Redactor {
  readonly #fixed: string[] = [];
  readonly #assertions: string[] = [];

  /** Remembers a credential and the encodings in which it may travel or be echoed. */
  addSecret(secret: string): void {
    if (secret === '') return;
    for (const form of encodings(secret)) {
      if (!this.#fixed.includes(form)) this.#fixed.push(form);
    }
    // Longest first, so a shorter form never splits a longer one and leaves a fragment behind.
    this.#fixed.sort((a, b) => b.length - a.length);
  }

  /** Remembers a (short-lived) client assertion, forgetting the oldest beyond a few. */
  addAssertion(assertion: string): void {
    this.#assertions.push(assertion);
    if (this.#assertions.length > MAX_ASSERTIONS) this.#assertions.shift();
  }

  /** `text` without any known credential. */
  redact(text: string): string {
    let out = text;
    for (const secret of [...this.#assertions, ...this.#fixed]) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }

  /**
   * A server-supplied description made safe to show: credentials removed, control characters
   * replaced, length bounded.
   */
  sanitize(text: string): string {
    // Redact before truncating, so a secret cut in half at the limit cannot survive.
    // Control characters (CR/LF, ANSI escapes) and bidi overrides could forge or hide log lines;
    // other non-ASCII text, such as a localized message, is kept.
    let out = this.redact(text).replace(UNSAFE_CHARACTERS, '?');
    if (out.length > MAX_DESCRIPTION) out = `${out.slice(0, MAX_DESCRIPTION)}…`;
    return out;
  }
}

/** The raw value plus the forms it takes in a form body, a URL, JSON and Basic credentials. */
function encodings(secret: string): string[] {
  const forms = new Set<string>([secret]);
  forms.add(encodeURIComponent(secret));
  forms.add(new URLSearchParams({ s: secret }).toString().slice(2));
  forms.add(JSON.stringify(secret).slice(1, -1));
  forms.add(Buffer.from(secret, 'utf8').toString('base64'));
  forms.add(Buffer.from(secret, 'utf8').toString('base64url'));
  return [...forms].filter((form) => form !== '');
}
