/**
 * A set of keys that each expire at a given time (epoch seconds): single-use bookkeeping for
 * assertion and proof `jti`s, server nonces and revoked tokens. Expired entries are swept at
 * most once a second, so memory stays proportional to what is still live.
 */
export class ExpiringSet {
  readonly #entries = new Map<string, number>();
  #lastSweep = 0;

  /** Seconds since the epoch (fractional). */
  static now(): number {
    return Date.now() / 1000;
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < 1) return;
    this.#lastSweep = now;
    for (const [key, expiresAt] of this.#entries) if (expiresAt <= now) this.#entries.delete(key);
  }

  /** Whether `key` is recorded and not yet expired. */
  has(key: string): boolean {
    const expiresAt = this.#entries.get(key);
    return expiresAt !== undefined && expiresAt > ExpiringSet.now();
  }

  /** Records `key` until `expiresAt`; false (and no change) when it is already live: a reuse. */
  add(key: string, expiresAt: number): boolean {
    const now = ExpiringSet.now();
    this.#sweep(now);
    if (this.has(key)) return false;
    this.#entries.set(key, expiresAt);
    return true;
  }
}
