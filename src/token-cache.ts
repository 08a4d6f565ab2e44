/**
 * The verified-token cache: a bounded LRU map from the exact token string to its verified
 * result, each entry with its own deadline. Only successes are stored.
 *
 * @module
 */

/** A least-recently-used map whose entries also expire at a deadline. */
export class TokenCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  /** @param max - most entries kept; 0 disables the cache. */
  constructor(private readonly max: number) {}

  /** Number of live or not-yet-evicted entries. */
  get size(): number {
    return this.entries.size;
  }

  /** The value stored for `key`, unless absent or past its deadline (`now` in ms). */
  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    // Re-inserting moves the entry to the most-recently-used end of the Map's order.
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` until `expiresAt` (ms), evicting the least recently used entry when full. */
  set(key: string, value: V, expiresAt: number): void {
    if (this.max === 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt });
  }

  /** Drops every entry. */
  clear(): void {
    this.entries.clear();
  }
}
