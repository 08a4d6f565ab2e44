/**
 * The local state of a revocation list: versioned records (entries and tombstones) and the
 * lookup maps the hot path reads. Shared by the in-memory and the Redis lists.
 *
 * @module
 */
import type { RevocationCheck, RevocationEntry, RevocationRecord } from './revocation-entry.js';
import { entryId, subjectOf } from './revocation-entry.js';

/** Entries of one type, found by subject with or without an issuer, with no allocation per lookup. */
class SubjectIndex {
  /** Entries without an issuer: subject → entry. */
  readonly anyIssuer = new Map<string, RevocationEntry>();
  /** Entries with an issuer: issuer → subject → entry. */
  readonly byIssuer = new Map<string, Map<string, RevocationEntry>>();

  set(entry: RevocationEntry): void {
    if (entry.issuer === undefined) {
      this.anyIssuer.set(subjectOf(entry), entry);
      return;
    }
    let subjects = this.byIssuer.get(entry.issuer);
    if (subjects === undefined) this.byIssuer.set(entry.issuer, (subjects = new Map()));
    subjects.set(subjectOf(entry), entry);
  }

  delete(entry: RevocationEntry): void {
    if (entry.issuer === undefined) {
      this.anyIssuer.delete(subjectOf(entry));
      return;
    }
    const subjects = this.byIssuer.get(entry.issuer);
    subjects?.delete(subjectOf(entry));
    if (subjects?.size === 0) this.byIssuer.delete(entry.issuer);
  }
}

/**
 * Records by id plus lookup maps. A record replaces the one with the same id only when its
 * version (`at`) is greater, so merging copies from several instances in any order converges.
 */
export class RevocationIndex {
  private readonly records = new Map<string, RevocationRecord>();
  private readonly clients = new SubjectIndex();
  private readonly tokens = new SubjectIndex();
  private readonly keys = new SubjectIndex();
  /** Live entries (tombstones excluded): lets the hot path return at once when there are none. */
  private liveEntries = 0;

  /** The current record of `id`, tombstones included. */
  get(id: string): RevocationRecord | undefined {
    return this.records.get(id);
  }

  /**
   * Applies `record` when it is newer than what is held and not yet expired at `nowSeconds`.
   * Returns true when it changed the state.
   */
  apply(record: RevocationRecord, nowSeconds: number): boolean {
    const current = this.records.get(record.id);
    if (current !== undefined && current.at >= record.at) return false;
    if (record.expiresAt <= nowSeconds) {
      if (current !== undefined) this.forget(current);
      return false;
    }
    if (current !== undefined) this.forget(current);
    this.records.set(record.id, record);
    if (record.entry !== null) {
      this.indexOf(record.entry).set(record.entry);
      this.liveEntries++;
    }
    return true;
  }

  /** Every unexpired record (entries and tombstones); drops the expired ones. */
  unexpiredRecords(nowSeconds: number): RevocationRecord[] {
    const result: RevocationRecord[] = [];
    for (const record of this.records.values()) {
      if (record.expiresAt <= nowSeconds) this.forget(record);
      else result.push(record);
    }
    return result;
  }

  /** Every unexpired entry; drops the expired records. */
  entries(nowSeconds: number): RevocationEntry[] {
    const result: RevocationEntry[] = [];
    for (const record of this.unexpiredRecords(nowSeconds)) if (record.entry !== null) result.push(record.entry);
    return result;
  }

  /** The hot-path check: synchronous Map lookups, no allocation. */
  isRevoked(token: RevocationCheck, nowSeconds: number): boolean {
    if (this.liveEntries === 0) return false;
    const { issuer, clientId, iat, jti, keyId } = token;
    if (this.refusesClient(this.clients.anyIssuer.get(clientId), iat, nowSeconds)) return true;
    if (this.refusesClient(this.clients.byIssuer.get(issuer)?.get(clientId), iat, nowSeconds)) return true;
    if (jti !== undefined) {
      if (this.isLive(this.tokens.anyIssuer.get(jti), nowSeconds)) return true;
      if (this.isLive(this.tokens.byIssuer.get(issuer)?.get(jti), nowSeconds)) return true;
    }
    if (keyId !== undefined) {
      if (this.isLive(this.keys.anyIssuer.get(keyId), nowSeconds)) return true;
      if (this.isLive(this.keys.byIssuer.get(issuer)?.get(keyId), nowSeconds)) return true;
    }
    return false;
  }

  private refusesClient(entry: RevocationEntry | undefined, iat: number | undefined, nowSeconds: number): boolean {
    if (entry === undefined || entry.type !== 'client' || !this.isLive(entry, nowSeconds)) return false;
    // A token without a usable `iat` cannot prove it was issued after the revocation.
    return typeof iat !== 'number' || !(iat >= entry.issuedBefore);
  }

  /** True while `entry` has not expired; an expired entry is dropped on sight. */
  private isLive(entry: RevocationEntry | undefined, nowSeconds: number): boolean {
    if (entry === undefined) return false;
    if (entry.expiresAt > nowSeconds) return true;
    const record = this.records.get(entryId(entry));
    if (record?.entry === entry) this.forget(record);
    return false;
  }

  private forget(record: RevocationRecord): void {
    this.records.delete(record.id);
    if (record.entry !== null) {
      this.indexOf(record.entry).delete(record.entry);
      this.liveEntries--;
    }
  }

  private indexOf(entry: RevocationEntry): SubjectIndex {
    return entry.type === 'client' ? this.clients : entry.type === 'token' ? this.tokens : this.keys;
  }
}

/** A record for a new entry, versioned after whatever the index holds for the same id. */
export function entryRecord(index: RevocationIndex, entry: RevocationEntry, nowMs: number): RevocationRecord {
  const id = entryId(entry);
  return Object.freeze({ id, at: nextVersion(index, id, nowMs), expiresAt: entry.expiresAt, entry });
}

/**
 * A tombstone for the entry `id`, kept until that entry would have expired; undefined when
 * the index holds no live entry with that id.
 */
export function tombstoneRecord(index: RevocationIndex, id: string, nowMs: number): RevocationRecord | undefined {
  const current = index.get(id);
  if (current?.entry == null || current.expiresAt <= nowMs / 1000) return undefined;
  return Object.freeze({ id, at: nextVersion(index, id, nowMs), expiresAt: current.expiresAt, entry: null });
}

/** A version greater than the held one, even when the clock has not moved (or moved back). */
function nextVersion(index: RevocationIndex, id: string, nowMs: number): number {
  const current = index.get(id);
  return current === undefined ? nowMs : Math.max(nowMs, current.at + 1);
}
