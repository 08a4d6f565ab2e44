/**
 * A revocation list: a kill switch for a leaked client secret, a token or a signing key,
 * checked synchronously on every request.
 *
 * @module
 */
import type {
  RevocationCheck,
  RevocationEntry,
  RevocationEntryIdentity,
  RevokeClientOptions,
  RevokeOptions,
} from './revocation-entry.js';
import { buildEntry, removalId } from './revocation-entry.js';
import { entryRecord, RevocationIndex, tombstoneRecord } from './revocation-index.js';

export type {
  ClientRevocationEntry,
  KeyRevocationEntry,
  RevocationCheck,
  RevocationEntry,
  RevocationEntryIdentity,
  RevokeClientOptions,
  RevokeOptions,
  TokenRevocationEntry,
} from './revocation-entry.js';

/**
 * What the verifier needs from a revocation list. The in-memory list answers synchronously;
 * the Redis list (`express-m2m/redis`) returns promises from the methods that write.
 */
export interface RevocationList {
  /**
   * The hot-path check, synchronous: true when `token` is refused at `nowSeconds` (epoch
   * seconds). A client entry refuses the client's tokens with `iat < issuedBefore` and those
   * without `iat`; a token entry matches `jti`; a key entry matches the `kid` of the key
   * that verified the token. An entry with an `issuer` matches only tokens of that issuer.
   */
  isRevoked(token: RevocationCheck, nowSeconds: number): boolean;
  /** Refuses `clientId`'s tokens issued before `issuedBefore` (default: the next whole second). */
  revokeClient(clientId: string, options?: RevokeClientOptions): RevocationEntry | Promise<RevocationEntry>;
  /** Refuses the token with this `jti`. */
  revokeToken(jti: string, options?: RevokeOptions): RevocationEntry | Promise<RevocationEntry>;
  /** Refuses every token verified with the key of this `kid`. */
  revokeKey(kid: string, options?: RevokeOptions): RevocationEntry | Promise<RevocationEntry>;
  /** Every unexpired entry. */
  list(): RevocationEntry[];
  /**
   * Removes an entry: one returned by `list()` or `revoke*()`, or its identity
   * (`{ type: 'client', clientId, issuer? }`); true when it was present.
   */
  remove(entry: RevocationEntryIdentity): boolean | Promise<boolean>;
}

/** The in-memory revocation list: every method is synchronous. */
export interface MemoryRevocationList extends RevocationList {
  revokeClient(clientId: string, options?: RevokeClientOptions): RevocationEntry;
  revokeToken(jti: string, options?: RevokeOptions): RevocationEntry;
  revokeKey(kid: string, options?: RevokeOptions): RevocationEntry;
  remove(entry: RevocationEntryIdentity): boolean;
}

/** Options of {@link createRevocationList}. */
export interface RevocationListOptions {
  /** Clock in epoch milliseconds (default `Date.now`); injected by tests. */
  now?: () => number;
}

/**
 * Creates an in-memory revocation list for one process. A fleet shares one list through
 * Redis with `createRedisRevocationList` from `express-m2m/redis`.
 *
 * Entries expire (`expiresAt`, default 30 days) and are then dropped. Bad arguments throw
 * TypeError.
 *
 * @example
 * ```ts
 * const revocations = createRevocationList();
 * app.use(requireM2M({ ...options, revocations }));
 * revocations.revokeClient('billing-service'); // its tokens issued up to now are refused
 * revocations.revokeToken(jti, { expiresAt: exp });
 * revocations.revokeKey('old-key', { issuer: 'https://tenant.example.com/' });
 * ```
 */
export function createRevocationList(options: RevocationListOptions = {}): MemoryRevocationList {
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('now must be a function returning epoch milliseconds');
  const index = new RevocationIndex();

  function revoke(type: RevocationEntry['type'], subject: string, revokeOptions?: RevokeClientOptions) {
    const nowMs = now();
    const record = entryRecord(index, buildEntry(type, subject, revokeOptions, nowMs), nowMs);
    index.apply(record, nowMs / 1000);
    return record.entry as RevocationEntry;
  }

  return {
    isRevoked: (token, nowSeconds) => index.isRevoked(token, nowSeconds),
    revokeClient: (clientId, revokeOptions) => revoke('client', clientId, revokeOptions),
    revokeToken: (jti, revokeOptions) => revoke('token', jti, revokeOptions),
    revokeKey: (kid, revokeOptions) => revoke('key', kid, revokeOptions),
    list: () => index.entries(now() / 1000),
    remove(entry) {
      const nowMs = now();
      const tombstone = tombstoneRecord(index, removalId(entry), nowMs);
      return tombstone !== undefined && index.apply(tombstone, nowMs / 1000);
    },
  };
}
