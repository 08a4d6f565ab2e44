/**
 * The verified-token cache: a bounded map from the exact token string to its verified result,
 * each entry with its own deadline. Only successes are stored.
 *
 * Entries are found by the token's last {@link LOOKUP_CHARS} characters — the end of its
 * signature, 256 bits no one but the signer can choose — and a lookup is a hit only when the
 * whole token is equal. Hashing a 40-odd-character tail instead of the whole token (a fresh
 * string on every request, 700+ characters for a typical access token) saves about a
 * microsecond per request. A forged token that copies a cached token's tail is a miss (and is
 * then refused by the signature check); since only verified tokens are stored, it cannot
 * displace the genuine entry either.
 *
 * Admission (segmented LRU with a doorkeeper): a token verified for the first time enters a
 * small probation segment (an eighth of `max`); its first hit moves it to the protected
 * segment, which may fill the rest. A token verified again after its probation entry was
 * evicted — within a window of `max` to 2 × `max` first-time tokens, remembered as 30-bit
 * fingerprints of the token's tail — goes straight to the protected segment. So tokens used
 * once (a flood of fresh tokens, more callers than the cache holds) only ever displace each
 * other in probation: they never evict a token that is being reused, and since a probation
 * entry lives for a few hundred requests, most die young instead of being promoted to V8's
 * old generation and collected there later. A fingerprint collision only protects a token
 * early; the lookup still compares whole tokens.
 *
 * Recency is kept in doubly linked lists beside the `Map`: a hit moves a node with a few
 * pointer writes. (Deleting and re-inserting the key to move it to the end of the `Map`'s
 * order — the usual shortcut — made a hit in a full 10,000-entry cache cost ~27 µs on V8,
 * as the table fills with deleted slots and is rebuilt.)
 *
 * @module
 */

/** Characters of the token's end used to find its entry: 43 base64url characters carry 256 bits. */
export const LOOKUP_CHARS = 43;

/** Bytes counted per entry besides the token and the value: the entry, the map slot, the frozen result's objects. */
const ENTRY_OVERHEAD = 512;
/** Characters of the token's end hashed into its doorkeeper fingerprint (72 bits of signature). */
const FINGERPRINT_CHARS = 12;
/** The probation segment's share of `max`. */
const PROBATION_SHARE = 1 / 8;

function lookupKey(token: string): string {
  return token.length > LOOKUP_CHARS ? token.slice(-LOOKUP_CHARS) : token;
}

/** A 30-bit hash of the token's end, small enough to be stored unboxed in a `Set`. */
function fingerprint(token: string): number {
  let hash = 0;
  for (let i = token.length - 1, end = Math.max(0, token.length - FINGERPRINT_CHARS); i >= end; i--) {
    hash = (Math.imul(hash, 31) + token.charCodeAt(i)) | 0;
  }
  return hash & 0x3fffffff;
}

/**
 * Remembers fingerprints in two generations of `window` each, so a fingerprint is remembered
 * for at least `window` and at most 2 × `window` later ones.
 */
class Doorkeeper {
  private current = new Set<number>();
  private previous = new Set<number>();

  constructor(private readonly window: number) {}

  /** True when `print` was recorded within the window; otherwise records it and returns false. */
  seen(print: number): boolean {
    if (this.current.has(print) || this.previous.has(print)) return true;
    if (this.current.size >= this.window) {
      this.previous = this.current;
      this.current = new Set();
    }
    this.current.add(print);
    return false;
  }
}

interface Entry<V> {
  key: string;
  value: V;
  expiresAt: number;
  /** Estimated bytes held by the entry. */
  bytes: number;
  segment: Segment<V>;
  newer: Entry<V> | undefined;
  older: Entry<V> | undefined;
}

/** One recency list: most recently used at `newest`, evicted from `oldest`. */
class Segment<V> {
  newest: Entry<V> | undefined;
  oldest: Entry<V> | undefined;
  count = 0;

  /** Makes `entry` (not in any segment) this segment's most recently used. */
  push(entry: Entry<V>): void {
    entry.segment = this;
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = entry;
    this.newest = entry;
    this.oldest ??= entry;
    this.count++;
  }

  unlink(entry: Entry<V>): void {
    if (entry.newer !== undefined) entry.newer.older = entry.older;
    else this.newest = entry.older;
    if (entry.older !== undefined) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    entry.newer = undefined;
    entry.older = undefined;
    this.count--;
  }
}

/** Options of {@link TokenCache}. */
export interface TokenCacheSettings {
  /** Segmented admission (default true, see the module comment); false: one plain LRU list. */
  admission?: boolean;
}

/** A bounded map from tokens to verified results whose entries also expire at a deadline. */
export class TokenCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly protected = new Segment<V>();
  private readonly probation = new Segment<V>();
  /** Most probation entries; without admission, nothing goes to probation. */
  private readonly probationMax: number;
  private readonly doorkeeper: Doorkeeper | undefined;
  private bytes = 0;
  /** The latest clock reading given to `get` (every verification looks its token up first). */
  private lastNow = Number.NEGATIVE_INFINITY;

  /**
   * @param max - most entries kept; 0 disables the cache.
   * @param maxBytes - most estimated bytes kept: entries are bounded by size too, so 10,000
   *   tokens of 16 KB cannot pin hundreds of megabytes.
   * @param settings - admission rule (see the module comment).
   */
  constructor(
    private readonly max: number,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
    settings: TokenCacheSettings = {},
  ) {
    const admission = settings.admission !== false && max > 0;
    this.probationMax = admission ? Math.max(1, Math.floor(max * PROBATION_SHARE)) : 0;
    this.doorkeeper = admission ? new Doorkeeper(max) : undefined;
  }

  /** Entries held (expired ones not yet dropped included). */
  get size(): number {
    return this.entries.size;
  }

  /** The value stored for `key`, unless absent or past its deadline (`now` in ms). */
  get(key: string, now: number): V | undefined {
    this.lastNow = now;
    const entry = this.entries.get(lookupKey(key));
    if (entry === undefined || entry.key !== key) return undefined;
    if (entry.expiresAt <= now) {
      this.remove(entry);
      return undefined;
    }
    // A hit makes the entry the most recently used protected one (from probation: its promotion).
    if (entry !== this.protected.newest) {
      entry.segment.unlink(entry);
      this.protected.push(entry);
    }
    return entry.value;
  }

  /**
   * Stores `value` until `expiresAt` (ms) — in probation, or protected for a token verified
   * again (see the module comment) — then evicts while the cache is over its entry count or
   * byte budget: probation's least recently used first.
   *
   * @param size - the value's own size in bytes, estimated by the caller (the key is counted here).
   */
  set(key: string, value: V, expiresAt: number, size = 0): void {
    if (this.max === 0) return;
    const bytes = ENTRY_OVERHEAD + key.length + size;
    if (bytes > this.maxBytes) return;
    const lookup = lookupKey(key);
    const existing = this.entries.get(lookup);
    // The same token again, or (not expected from any signer) another valid token ending alike: the newer one wins.
    if (existing !== undefined) this.remove(existing);
    this.dropExpired(this.probation);
    this.dropExpired(this.protected);
    const again = existing !== undefined || this.doorkeeper === undefined || this.doorkeeper.seen(fingerprint(key));
    const segment = again ? this.protected : this.probation;
    const entry: Entry<V> = { key, value, expiresAt, bytes, segment, newer: undefined, older: undefined };
    segment.push(entry);
    this.entries.set(lookup, entry);
    this.bytes += bytes;
    while (this.probation.count > this.probationMax) this.remove(this.probation.oldest as Entry<V>);
    while (this.entries.size > this.max || this.bytes > this.maxBytes) {
      this.remove((this.probation.oldest ?? this.protected.oldest) as Entry<V>);
    }
  }

  /** Drops the expired entries at `segment`'s old end: freeing them evicts nothing in use. */
  private dropExpired(segment: Segment<V>): void {
    while (segment.oldest !== undefined && segment.oldest.expiresAt <= this.lastNow) this.remove(segment.oldest);
  }

  private remove(entry: Entry<V>): void {
    entry.segment.unlink(entry);
    this.entries.delete(lookupKey(entry.key));
    this.bytes -= entry.bytes;
  }
}
