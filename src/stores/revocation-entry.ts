/**
 * Revocation entries: their shapes, validation of what callers pass, and the record form in
 * which entries and removals (tombstones) are stored and exchanged between instances.
 *
 * @module
 */

/** Fields every revocation entry has. Times are epoch seconds. */
interface RevocationEntryBase {
  /** Only tokens with this `iss` are matched; absent: every issuer. */
  readonly issuer?: string;
  /** The entry is dropped from this time on (epoch seconds). */
  readonly expiresAt: number;
  /** When the entry was made (epoch seconds, with milliseconds as a fraction). */
  readonly revokedAt: number;
}

/** Refuses a client's tokens issued before `issuedBefore` (and its tokens without `iat`). */
export interface ClientRevocationEntry extends RevocationEntryBase {
  readonly type: 'client';
  readonly clientId: string;
  /** Tokens with `iat < issuedBefore` (epoch seconds) are refused. */
  readonly issuedBefore: number;
}

/** Refuses the one token with this `jti`. */
export interface TokenRevocationEntry extends RevocationEntryBase {
  readonly type: 'token';
  readonly jti: string;
}

/** Refuses every token verified with the key of this `kid`. */
export interface KeyRevocationEntry extends RevocationEntryBase {
  readonly type: 'key';
  readonly kid: string;
}

/** One revocation, as returned by `list()` and accepted by `remove()`. */
export type RevocationEntry = ClientRevocationEntry | TokenRevocationEntry | KeyRevocationEntry;

/** What identifies an entry: `remove()` accepts an entry or just this. */
export type RevocationEntryIdentity =
  | Pick<ClientRevocationEntry, 'type' | 'clientId' | 'issuer'>
  | Pick<TokenRevocationEntry, 'type' | 'jti' | 'issuer'>
  | Pick<KeyRevocationEntry, 'type' | 'kid' | 'issuer'>;

/** What the verifier knows about a verified token when it asks whether it is revoked. */
export interface RevocationCheck {
  /** The token's `iss`. */
  issuer: string;
  /** The token's client id (`client_id`, `azp` or `sub`, as the verifier resolved it). */
  clientId: string;
  /** The token's `iat` (epoch seconds); undefined when the token has none. */
  iat: number | undefined;
  /** The token's `jti`; undefined when the token has none. */
  jti: string | undefined;
  /** The `kid` of the JWK that verified the token (not the token header's claim); undefined when that JWK has none. */
  keyId: string | undefined;
}

/** Options of `revokeClient`. */
export interface RevokeClientOptions {
  /** Tokens with `iat` before this (epoch seconds) are refused. Default: the next whole second after the call. */
  issuedBefore?: number;
  /** Match only tokens of this issuer (`iss`). */
  issuer?: string;
  /** Epoch seconds at which the entry is dropped. Default: 30 days from now. */
  expiresAt?: number;
}

/** Options of `revokeToken` and `revokeKey`. */
export interface RevokeOptions {
  /** Match only tokens of this issuer (`iss`). */
  issuer?: string;
  /** Epoch seconds at which the entry is dropped (for a token: its `exp`). Default: 30 days from now. */
  expiresAt?: number;
}

/**
 * An entry or a removal, versioned for merging between instances: the record with the
 * greater `at` wins. A tombstone (`entry: null`) lives until the removed entry would have
 * expired, so a merge with an older copy never brings the entry back.
 */
export interface RevocationRecord {
  readonly id: string;
  /** Version: epoch milliseconds of the change. */
  readonly at: number;
  /** Epoch seconds after which the record can be forgotten. */
  readonly expiresAt: number;
  readonly entry: RevocationEntry | null;
}

/** Default lifetime of an entry: 30 days. */
export const DEFAULT_ENTRY_LIFETIME = 30 * 86_400;
const MAX_ID_LENGTH = 1024;
const MAX_ISSUER_LENGTH = 2048;
/** Far enough for any real expiry, small enough to stay exact as a number. */
const MAX_EPOCH_SECONDS = 253_402_300_799; // 9999-12-31T23:59:59Z

/** The identity of an entry: entries with the same id replace each other. */
export function entryId(entry: RevocationEntry): string {
  return JSON.stringify([entry.type, entry.issuer ?? null, subjectOf(entry)]);
}

/** The client id, jti or kid an entry is about. */
export function subjectOf(entry: RevocationEntry): string {
  switch (entry.type) {
    case 'client':
      return entry.clientId;
    case 'token':
      return entry.jti;
    case 'key':
      return entry.kid;
  }
}

/**
 * Builds a validated entry from a caller's arguments (`revokeClient`, `revokeToken`,
 * `revokeKey`). Throws TypeError on bad input.
 */
export function buildEntry(
  type: RevocationEntry['type'],
  subject: unknown,
  options: RevokeClientOptions | undefined,
  nowMs: number,
): RevocationEntry {
  const name = type === 'client' ? 'clientId' : type === 'token' ? 'jti' : 'kid';
  if (!isId(subject, MAX_ID_LENGTH)) throw new TypeError(`${name} must be a non-empty string`);
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError('options must be an object');
  }
  const nowSeconds = nowMs / 1000;
  const { issuer, expiresAt = Math.floor(nowSeconds) + DEFAULT_ENTRY_LIFETIME } = options ?? {};
  if (issuer !== undefined && !isId(issuer, MAX_ISSUER_LENGTH))
    throw new TypeError('issuer must be a non-empty string');
  if (!isEpoch(expiresAt) || expiresAt <= nowSeconds) {
    throw new TypeError('expiresAt must be a future time in epoch seconds (not milliseconds)');
  }
  const base = { ...(issuer === undefined ? {} : { issuer }), expiresAt, revokedAt: nowSeconds };
  if (type === 'token') return Object.freeze({ type, jti: subject, ...base });
  if (type === 'key') return Object.freeze({ type, kid: subject, ...base });
  // Whole seconds: a replacement token minted in the same second as the revocation is refused too.
  const issuedBefore = options?.issuedBefore ?? Math.floor(nowSeconds) + 1;
  if (!isEpoch(issuedBefore)) throw new TypeError('issuedBefore must be a time in epoch seconds (not milliseconds)');
  return Object.freeze({ type, clientId: subject, issuedBefore, ...base });
}

/**
 * The id of the entry handed to `remove()`: an entry from `list()` or `revoke*()`, or just its
 * identity (`{ type: 'client', clientId, issuer? }`, `{ type: 'token', jti }`, `{ type: 'key', kid }`).
 * Throws TypeError for anything else.
 */
export function removalId(entry: unknown): string {
  const raw = (entry ?? {}) as Record<string, unknown>;
  const subject = raw.type === 'client' ? raw.clientId : raw.type === 'token' ? raw.jti : raw.kid;
  const typeOk = raw.type === 'client' || raw.type === 'token' || raw.type === 'key';
  const issuerOk = raw.issuer === undefined || isId(raw.issuer, MAX_ISSUER_LENGTH);
  if (typeof entry !== 'object' || !typeOk || !isId(subject, MAX_ID_LENGTH) || !issuerOk) {
    throw new TypeError('remove() takes an entry as returned by list() or revoke*()');
  }
  return JSON.stringify([raw.type, raw.issuer ?? null, subject]);
}

/** Parses a record read from a shared store; undefined when it is not well formed. */
export function parseRecord(text: string): RevocationRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { id, at, expiresAt, entry } = value as Record<string, unknown>;
  if (typeof id !== 'string' || !isEpochMs(at) || !isEpoch(expiresAt)) return undefined;
  if (entry === null) return Object.freeze({ id, at, expiresAt, entry: null });
  const parsed = parseEntry(entry);
  if (parsed === undefined || entryId(parsed) !== id || parsed.expiresAt !== expiresAt) return undefined;
  return Object.freeze({ id, at, expiresAt, entry: parsed });
}

/** Rebuilds an entry from untrusted data, keeping only known fields; undefined when malformed. */
function parseEntry(value: unknown): RevocationEntry | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const raw = value as Record<string, unknown>;
  const { type, issuer, expiresAt, revokedAt } = raw;
  if (issuer !== undefined && !isId(issuer, MAX_ISSUER_LENGTH)) return undefined;
  if (!isEpoch(expiresAt) || !isEpoch(revokedAt)) return undefined;
  const base = { ...(issuer === undefined ? {} : { issuer }), expiresAt, revokedAt };
  if (type === 'client' && isId(raw.clientId, MAX_ID_LENGTH) && isEpoch(raw.issuedBefore)) {
    return Object.freeze({ type, clientId: raw.clientId, issuedBefore: raw.issuedBefore, ...base });
  }
  if (type === 'token' && isId(raw.jti, MAX_ID_LENGTH)) return Object.freeze({ type, jti: raw.jti, ...base });
  if (type === 'key' && isId(raw.kid, MAX_ID_LENGTH)) return Object.freeze({ type, kid: raw.kid, ...base });
  return undefined;
}

function isId(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength;
}

/** A time in epoch seconds; a value in milliseconds (a common mistake) is out of range. */
function isEpoch(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_EPOCH_SECONDS;
}

function isEpochMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_EPOCH_SECONDS * 1000;
}
