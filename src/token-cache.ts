/**
 * The verified-token cache: a bounded LRU map from the exact token string to its verified
 * result, each entry with its own deadline. Only successes are stored.
 *
 * Entries are found by the token's last {@link LOOKUP_CHARS} characters — the end of its
 * signature, 256 bits no one but the signer can choose — and a lookup is a hit only when the
 * whole token is equal. Hashing a 40-odd-character tail instead of the whole token (a fresh
 * string on every request, 700+ characters for a typical access token) saves about a
 * microsecond per request. A forged token that copies a cached token's tail is a miss (and is
 * then refused by the signature check); since only verified tokens are stored, it cannot
 * displace the genuine entry either.
 *
 * Recency is kept in a doubly linked list beside the `Map`: a hit moves a node with a few
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

function lookupKey(token: string): string {
  return token.length > LOOKUP_CHARS ? token.slice(-LOOKUP_CHARS) : token;
}

interface Entry<V> {
  key: string;
  value: V;
  expiresAt: number;
  /** Estimated bytes held by the entry. */
  bytes: number;
  newer: Entry<V> | undefined;
  older: Entry<V> | undefined;
}

/** A least-recently-used map whose entries also expire at a deadline. */
export class TokenCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** Most recently used. */
  private newest: Entry<V> | undefined;
  /** Least recently used: evicted first. */
  private oldest: Entry<V> | undefined;
  private bytes = 0;

  /**
   * @param max - most entries kept; 0 disables the cache.
   * @param maxBytes - most estimated bytes kept: entries are bounded by size too, so 10,000
   *   tokens of 16 KB cannot pin hundreds of megabytes.
   */
  constructor(
    private readonly max: number,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** The value stored for `key`, unless absent or past its deadline (`now` in ms). */
  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(lookupKey(key));
    if (entry === undefined || entry.key !== key) return undefined;
    if (entry.expiresAt <= now) {
      this.remove(entry);
      return undefined;
    }
    this.touch(entry);
    return entry.value;
  }

  /**
   * Stores `value` until `expiresAt` (ms), evicting least recently used entries while the
   * cache is over its entry count or byte budget.
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
    while (this.oldest !== undefined && (this.entries.size >= this.max || this.bytes + bytes > this.maxBytes)) {
      this.remove(this.oldest);
    }
    this.bytes += bytes;
    const entry: Entry<V> = { key, value, expiresAt, bytes, newer: undefined, older: this.newest };
    if (this.newest !== undefined) this.newest.newer = entry;
    this.newest = entry;
    this.oldest ??= entry;
    this.entries.set(lookup, entry);
  }

  /** Makes `entry` the most recently used. */
  private touch(entry: Entry<V>): void {
    if (entry === this.newest) return;
    this.unlink(entry);
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = entry;
    this.newest = entry;
    this.oldest ??= entry;
  }

  private remove(entry: Entry<V>): void {
    this.unlink(entry);
    this.entries.delete(lookupKey(entry.key));
    this.bytes -= entry.bytes;
  }

  private unlink(entry: Entry<V>): void {
    if (entry.newer !== undefined) entry.newer.older = entry.older;
    else this.newest = entry.older;
    if (entry.older !== undefined) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    entry.newer = undefined;
    entry.older = undefined;
  }
}
