import { describe, expect, it } from '@jest/globals';
import { createRevocationList } from '../../src/stores/revocation-list.js';
import type { RevocationCheck, RevocationEntry } from '../../src/stores/revocation-list.js';

const T0 = 1_764_000_000; // epoch seconds
const DAY = 86_400;
const ISS = 'https://tenant-a.example.com/';
const OTHER_ISS = 'https://tenant-b.example.com/';

function clockAt(seconds: number) {
  let nowMs = seconds * 1000;
  return { now: () => nowMs, set: (s: number) => (nowMs = s * 1000) };
}

function token(overrides: Partial<RevocationCheck> = {}): RevocationCheck {
  return { issuer: ISS, clientId: 'billing', iat: T0 - 60, jti: 'jti-1', keyId: 'key-1', ...overrides };
}

describe('createRevocationList: clients', () => {
  it('refuses the client tokens issued before the next whole second after the call, and those without iat', () => {
    const clock = clockAt(T0 + 0.4);
    const list = createRevocationList({ now: clock.now });
    expect(list.isRevoked(token(), T0)).toBe(false);
    const entry = list.revokeClient('billing');
    expect(entry).toMatchObject({ type: 'client', clientId: 'billing', issuedBefore: T0 + 1 });
    expect(list.isRevoked(token({ iat: T0 - 60 }), T0 + 1)).toBe(true);
    expect(list.isRevoked(token({ iat: T0 }), T0 + 1)).toBe(true); // minted in the same second
    expect(list.isRevoked(token({ iat: undefined }), T0 + 1)).toBe(true);
    expect(list.isRevoked(token({ iat: Number.NaN }), T0 + 1)).toBe(true);
    expect(list.isRevoked(token({ iat: T0 + 1 }), T0 + 1)).toBe(false); // a new token after rotation
    expect(list.isRevoked(token({ clientId: 'reporting' }), T0 + 1)).toBe(false);
  });

  it('a revocation at a whole second still refuses a token minted in that second', () => {
    const list = createRevocationList({ now: clockAt(T0).now });
    list.revokeClient('billing');
    expect(list.isRevoked(token({ iat: T0 }), T0)).toBe(true);
    expect(list.isRevoked(token({ iat: T0 + 1 }), T0 + 1)).toBe(false);
  });

  it('honours an explicit issuedBefore', () => {
    const list = createRevocationList({ now: clockAt(T0).now });
    list.revokeClient('billing', { issuedBefore: T0 - 100 });
    expect(list.isRevoked(token({ iat: T0 - 101 }), T0)).toBe(true);
    expect(list.isRevoked(token({ iat: T0 - 100 }), T0)).toBe(false);
  });

  it('an entry with an issuer matches only that issuer; one without matches every issuer', () => {
    const list = createRevocationList({ now: clockAt(T0).now });
    list.revokeClient('billing', { issuer: ISS });
    expect(list.isRevoked(token(), T0)).toBe(true);
    expect(list.isRevoked(token({ issuer: OTHER_ISS }), T0)).toBe(false);
    list.revokeClient('reporting');
    expect(list.isRevoked(token({ clientId: 'reporting' }), T0)).toBe(true);
    expect(list.isRevoked(token({ clientId: 'reporting', issuer: OTHER_ISS }), T0)).toBe(true);
  });

  it('a later revocation of the same client replaces the earlier one', () => {
    const clock = clockAt(T0);
    const list = createRevocationList({ now: clock.now });
    list.revokeClient('billing');
    clock.set(T0 + 3600);
    list.revokeClient('billing');
    expect(list.list()).toHaveLength(1);
    expect(list.isRevoked(token({ iat: T0 + 1800 }), T0 + 3600)).toBe(true);
  });
});

describe('createRevocationList: tokens and keys', () => {
  it('refuses one token by jti, scoped by issuer when given', () => {
    const list = createRevocationList({ now: clockAt(T0).now });
    list.revokeToken('jti-1', { expiresAt: T0 + 3600 });
    expect(list.isRevoked(token(), T0)).toBe(true);
    expect(list.isRevoked(token({ jti: 'jti-2' }), T0)).toBe(false);
    expect(list.isRevoked(token({ jti: undefined }), T0)).toBe(false);
    list.revokeToken('jti-3', { issuer: OTHER_ISS });
    expect(list.isRevoked(token({ jti: 'jti-3' }), T0)).toBe(false);
    expect(list.isRevoked(token({ jti: 'jti-3', issuer: OTHER_ISS }), T0)).toBe(true);
  });

  it('refuses every token verified with a revoked key, whatever the token says about its kid', () => {
    const list = createRevocationList({ now: clockAt(T0).now });
    list.revokeKey('key-1');
    expect(list.isRevoked(token({ keyId: 'key-1', jti: undefined, iat: undefined }), T0)).toBe(true);
    expect(list.isRevoked(token({ keyId: 'key-2' }), T0)).toBe(false);
    list.revokeKey('key-9', { issuer: OTHER_ISS });
    expect(list.isRevoked(token({ keyId: 'key-9' }), T0)).toBe(false);
    expect(list.isRevoked(token({ keyId: 'key-9', issuer: OTHER_ISS }), T0)).toBe(true);
  });
});

describe('createRevocationList: expiry, list and remove', () => {
  it('entries last 30 days by default, then are dropped', () => {
    const clock = clockAt(T0);
    const list = createRevocationList({ now: clock.now });
    const entry = list.revokeKey('key-1');
    expect(entry.expiresAt).toBe(T0 + 30 * DAY);
    expect(list.isRevoked(token(), T0 + 30 * DAY - 1)).toBe(true);
    expect(list.isRevoked(token(), T0 + 30 * DAY)).toBe(false);
    clock.set(T0 + 30 * DAY);
    expect(list.list()).toEqual([]);
  });

  it('honours expiresAt, and list() drops expired entries', () => {
    const clock = clockAt(T0);
    const list = createRevocationList({ now: clock.now });
    list.revokeToken('jti-1', { expiresAt: T0 + 60 });
    list.revokeClient('billing');
    expect(list.list().map((e) => e.type)).toEqual(['token', 'client']);
    clock.set(T0 + 60);
    expect(list.list().map((e) => e.type)).toEqual(['client']);
    expect(list.isRevoked(token({ iat: T0 + 5 }), T0 + 60)).toBe(false);
  });

  it('remove() takes an entry from list() or an equal copy, and the token passes again', () => {
    const list = createRevocationList({ now: clockAt(T0).now });
    list.revokeClient('billing', { issuer: ISS });
    list.revokeKey('key-1');
    const [clientEntry] = list.list();
    const copy = JSON.parse(JSON.stringify(clientEntry)) as RevocationEntry;
    expect(list.remove(copy)).toBe(true);
    expect(list.remove(copy)).toBe(false);
    expect(list.isRevoked(token({ keyId: 'key-2' }), T0)).toBe(false);
    expect(list.list()).toHaveLength(1);
    // An entry may be revoked again after its removal.
    list.revokeClient('billing', { issuer: ISS });
    expect(list.isRevoked(token({ keyId: 'key-2' }), T0)).toBe(true);
  });

  it('remove() also takes just the identity of an entry, issuer included', () => {
    const list = createRevocationList({ now: clockAt(T0).now });
    list.revokeClient('billing', { issuer: ISS });
    list.revokeToken('jti-1');
    list.revokeKey('key-1');
    expect(list.remove({ type: 'client', clientId: 'billing' })).toBe(false); // no issuer: another entry
    expect(list.remove({ type: 'client', clientId: 'billing', issuer: ISS })).toBe(true);
    expect(list.remove({ type: 'token', jti: 'jti-1' })).toBe(true);
    expect(list.remove({ type: 'key', kid: 'key-1' })).toBe(true);
    expect(list.list()).toEqual([]);
  });

  it('entries are frozen', () => {
    const list = createRevocationList({ now: clockAt(T0).now });
    const entry = list.revokeToken('jti-1');
    expect(Object.isFrozen(entry)).toBe(true);
    expect(Object.isFrozen(list.list()[0])).toBe(true);
  });
});

describe('createRevocationList: bad arguments', () => {
  const list = createRevocationList({ now: clockAt(T0).now });
  it.each([
    ['empty client id', () => list.revokeClient('')],
    ['non-string client id', () => list.revokeClient(7 as unknown as string)],
    ['empty jti', () => list.revokeToken('')],
    ['missing kid', () => list.revokeKey(undefined as unknown as string)],
    ['empty issuer', () => list.revokeClient('a', { issuer: '' })],
    ['expiresAt in the past', () => list.revokeToken('j', { expiresAt: T0 - 1 })],
    ['expiresAt in milliseconds', () => list.revokeToken('j', { expiresAt: (T0 + 60) * 1000 })],
    ['issuedBefore NaN', () => list.revokeClient('a', { issuedBefore: Number.NaN })],
    ['issuedBefore in milliseconds', () => list.revokeClient('a', { issuedBefore: T0 * 1000 })],
    ['options not an object', () => list.revokeClient('a', 'soon' as unknown as object)],
    ['remove of a non-entry', () => list.remove({ type: 'client' } as unknown as RevocationEntry)],
    ['remove of an unknown type', () => list.remove({ type: 'user', clientId: 'a' } as unknown as RevocationEntry)],
    ['remove with an empty issuer', () => list.remove({ type: 'key', kid: 'k', issuer: '' })],
    ['remove of null', () => list.remove(null as unknown as RevocationEntry)],
    ['clock not a function', () => createRevocationList({ now: 5 as unknown as () => number })],
  ])('%s → TypeError', (_name, call) => {
    expect(call).toThrow(TypeError);
    expect(list.list()).toEqual([]);
  });
});
