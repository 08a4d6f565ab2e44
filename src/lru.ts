/**
 * A small least-recently-used map for bounded look-up tables (issuer answers, imported proof
 * keys). Recency is the `Map`'s insertion order: a hit re-inserts its key, which is cheap at
 * these sizes (the verified-token cache, on the hot path, has its own structure).
 *
 * @module
 */

/** A `Map` that keeps at most `max` entries, dropping the least recently used. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly max: number) {}

  /** Number of entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** The value for `key`, marking it as the most recently used. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** Stores `value`, evicting the least recently used entry when full. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }

  /** Removes `key`. */
  delete(key: K): void {
    this.entries.delete(key);
  }
}
