/**
 * Keeping credentials out of text that came back from a server, before it reaches an error
 * message. Servers do echo request parameters in `error_description` — some the secret itself,
 * some percent-encoded (either hex case), HTML-escaped, upper-cased, or inside a base64 or hex
 * dump of the whole request body — and an error message ends up in logs.
 *
 * Finding every encoding and cutting it out is a losing game, so the rule is blunter: text in
 * which any fragment of a credential can be recognised, under any of those encodings, is not
 * shown at all.
 *
 * @module
 */

/** What replaces a server's text that echoed a credential. */
export const WITHHELD = '[redacted: the server echoed a credential]';
/** Longest `error_description` kept; servers have been seen to put whole request dumps there. */
const MAX_DESCRIPTION = 300;
/**
 * How much of a server's text is examined. Only the first {@link MAX_DESCRIPTION} characters are
 * ever shown; looking further finds a credential that the cut would show in part (an encoded
 * 16-character fragment is at most ~200 characters long).
 */
const MAX_EXAMINED = 1024;
/**
 * Length of the credential fragments looked for. 16 characters of a secret are as good as the
 * secret for a brute-force attack on the rest, and no accident of ordinary text.
 */
const FRAGMENT = 16;
/** Secrets shorter than this are recognised only between non-alphanumeric characters. */
const SHORT = 8;
/** Recent client assertions remembered; older ones have expired anyway. */
const MAX_ASSERTIONS = 8;
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;
const BASE64_RUN = /[A-Za-z0-9+/_-]{16,}/g;
const HEX_RUN = /[0-9A-Fa-f]{32,}/g;

/**
 * Knows the credentials of one client and recognises them in server text. The credentials
 * live only in this object's private fields, as folded fragments.
 */
export class Redactor {
  readonly #fragments = new Set<string>();
  readonly #lengths = new Set<number>();
  /** Fragments of recent assertions' signatures, with how many of those assertions contain each. */
  readonly #assertionFragments = new Map<string, number>();
  readonly #assertions: string[][] = [];

  /** Remembers a credential (a secret, a PEM key, a private JWK member). */
  addSecret(secret: string): void {
    if (secret === '') return;
    for (const fragment of fragmentsOf(secret)) {
      this.#fragments.add(fragment);
      this.#lengths.add(fragment.length);
    }
  }

  /** Remembers a short-lived client assertion (its signature is the credential), forgetting the oldest beyond a few. */
  addAssertion(assertion: string): void {
    const fragments = [...new Set(fragmentsOf(assertion.split('.')[2] ?? assertion))];
    this.#assertions.push(fragments);
    for (const fragment of fragments)
      this.#assertionFragments.set(fragment, (this.#assertionFragments.get(fragment) ?? 0) + 1);
    if (this.#assertions.length <= MAX_ASSERTIONS) return;
    for (const fragment of this.#assertions.shift() ?? []) {
      const count = (this.#assertionFragments.get(fragment) ?? 1) - 1;
      if (count === 0) this.#assertionFragments.delete(fragment);
      else this.#assertionFragments.set(fragment, count);
    }
  }

  /** True when `text` contains a recognisable fragment of a known credential. */
  containsCredential(text: string): boolean {
    for (const folded of new Set(views(text.slice(0, MAX_EXAMINED)).flatMap((view) => layers(view).map(fold)))) {
      for (const length of new Set([...this.#lengths, FRAGMENT])) {
        for (let i = 0; i + length <= folded.length; i++) {
          const piece = folded.slice(i, i + length);
          if (this.#assertionFragments.has(piece)) return true;
          // A very short secret counts only as a word of its own: `s` inside `use_dpop_nonce` is no echo.
          if (this.#fragments.has(piece) && (length >= SHORT || standsAlone(folded, i, length))) return true;
        }
      }
    }
    return false;
  }

  /**
   * A server-supplied text made safe to show: {@link WITHHELD} when it echoes a credential,
   * else with control characters replaced and its length bounded.
   */
  sanitize(text: string): string {
    if (this.containsCredential(text)) return WITHHELD;
    // Control characters (CR/LF, ANSI escapes) and bidi overrides could forge or hide log lines;
    // other non-ASCII text, such as a localized message, is kept.
    let out = text.slice(0, MAX_DESCRIPTION + 1).replace(UNSAFE_CHARACTERS, '?');
    if (out.length > MAX_DESCRIPTION) out = `${out.slice(0, MAX_DESCRIPTION)}…`;
    return out;
  }
}

function standsAlone(text: string, start: number, length: number): boolean {
  const alphanumeric = /[\p{L}\p{N}]/u;
  return !alphanumeric.test(text[start - 1] ?? ' ') && !alphanumeric.test(text[start + length] ?? ' ');
}

/** The folded fragments of a credential: all of it when short, else every window of {@link FRAGMENT}. */
function fragmentsOf(secret: string): string[] {
  const folded = fold(decodeLayers(secret));
  if (folded.length <= FRAGMENT) return [folded];
  const out: string[] = [];
  for (let i = 0; i + FRAGMENT <= folded.length; i++) out.push(folded.slice(i, i + FRAGMENT));
  return out;
}

/** The text itself plus what its base64 and hex runs decode to (a dump of a request body). */
function views(text: string): string[] {
  const out = [text];
  for (const source of new Set([text, decodeLayers(text)])) {
    for (const run of source.match(BASE64_RUN) ?? []) {
      // The dump may start anywhere in the run's 4-character grid.
      for (let shift = 0; shift < 4; shift++) out.push(Buffer.from(run.slice(shift), 'base64').toString('utf8'));
    }
    for (const run of source.match(HEX_RUN) ?? []) {
      for (let shift = 0; shift < 2; shift++) out.push(Buffer.from(run.slice(shift), 'hex').toString('utf8'));
    }
  }
  return out;
}

/** Case-insensitive form; upper-then-lower also folds `ß` and its `SS`. */
function fold(text: string): string {
  return text.normalize('NFKC').toUpperCase().toLowerCase();
}

/** Undoes form, percent (either hex case), JSON and HTML escaping, a few layers deep. */
function decodeLayers(text: string): string {
  return layers(text).at(-1) as string;
}

/**
 * `text` and each decoding layer of it. Every layer is examined, the raw text included: a
 * secret that merely follows a `%` (`%2a` + `u555…`) is mangled by percent-decoding, so the
 * decoded form alone would miss it.
 */
function layers(text: string): string[] {
  const out = [text];
  for (let layer = 0; layer < 3; layer++) {
    const last = out[out.length - 1] as string;
    const next = htmlUnescape(jsonUnescape(percentDecode(last.replace(/\+/g, ' '))));
    if (next === last) break;
    out.push(next);
  }
  return out;
}

function percentDecode(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

function jsonUnescape(text: string): string {
  return text
    .replace(/\\u([0-9A-Fa-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\(["\\/])/g, '$1');
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
};

function htmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z]{2,6});?/g, (entity, name: string) => {
    if (name.startsWith('#')) {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? entity;
  });
}
