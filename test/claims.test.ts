import { describe, expect, it } from '@jest/globals';
import type { JWTPayload } from 'jose';
import {
  isClientCredentialsToken,
  matchesOrganization,
  readClientId,
  readOrganization,
  readScopes,
} from '../src/claims.js';

describe('readScopes', () => {
  it('splits the space-delimited scope claim', () => {
    expect(readScopes({ scope: 'read:orders  write:orders' })).toEqual(['read:orders', 'write:orders']);
  });

  it('unions scope, scp (array or string) and permissions without duplicates', () => {
    expect(readScopes({ scope: 'a b', scp: ['b', 'c'], permissions: ['d', 'a'] })).toEqual(['a', 'b', 'c', 'd']);
    expect(readScopes({ scp: 'x y' })).toEqual(['x', 'y']);
  });

  it('ignores values of the wrong type', () => {
    expect(readScopes({ scope: 42, scp: [1, 'ok', null], permissions: 'not-an-array-string' })).toEqual([
      'ok',
      'not-an-array-string',
    ]);
    expect(readScopes({})).toEqual([]);
  });
});

describe('readClientId', () => {
  it('prefers client_id, then azp, cid, appid, sub', () => {
    expect(readClientId({ client_id: 'a', azp: 'b', cid: 'c', appid: 'd', sub: 'e' })).toBe('a');
    expect(readClientId({ azp: 'b', cid: 'c', appid: 'd', sub: 'e' })).toBe('b');
    expect(readClientId({ cid: 'c', appid: 'd', sub: 'e' })).toBe('c');
    expect(readClientId({ appid: 'd', sub: 'e' })).toBe('d');
    expect(readClientId({ sub: 'e' })).toBe('e');
  });

  it('reduces an Auth0 "<id>@clients" subject to the id', () => {
    expect(readClientId({ sub: 'abc123@clients' })).toBe('abc123');
    expect(readClientId({ sub: '@clients' })).toBe('@clients');
  });

  it('keeps "@clients" in client_id and azp, which are already ids', () => {
    expect(readClientId({ azp: 'x@clients' })).toBe('x@clients');
  });

  it('is undefined without a usable string id', () => {
    expect(readClientId({})).toBeUndefined();
    expect(readClientId({ client_id: 7, sub: 'e' })).toBeUndefined();
    expect(readClientId({ client_id: '', sub: 'e' })).toBeUndefined();
  });
});

describe('readOrganization', () => {
  it('is org_id, else org_name, else undefined', () => {
    expect(readOrganization({ org_id: 'org_1', org_name: 'acme' })).toBe('org_1');
    expect(readOrganization({ org_name: 'acme' })).toBe('acme');
    expect(readOrganization({ org_id: 3 })).toBeUndefined();
  });
});

describe('isClientCredentialsToken (M2M detection)', () => {
  it.each([
    ['Auth0 gty', { gty: 'client-credentials', sub: 'whatever' }],
    ['RFC 9068 sub === client_id', { sub: 'svc', client_id: 'svc' }],
    ['Auth0 RFC 9068 profile sub === client_id@clients', { sub: 'svc@clients', client_id: 'svc' }],
    ['Auth0 sub === azp', { sub: 'svc', azp: 'svc' }],
    ['Auth0 sub === azp@clients', { sub: 'svc@clients', azp: 'svc' }],
    ['Okta sub === cid', { sub: 'svc', cid: 'svc' }],
    ['Entra ID idtyp app', { idtyp: 'app', sub: 'object-id' }],
  ])('accepts %s', (_name, payload) => {
    expect(isClientCredentialsToken(payload)).toBe(true);
  });

  it.each([
    ['a user token', { sub: 'auth0|user', azp: 'spa-client', gty: 'password' }],
    ['a user token with client_id', { sub: 'user-1', client_id: 'svc' }],
    ['Okta user token', { sub: 'user@example.com', cid: 'svc' }],
    ['Entra user token', { idtyp: 'user', sub: 'x' }],
    ['no subject', { client_id: 'svc' }],
    ['empty ids', { sub: '', azp: '' }],
    ['non-string sub', { sub: 5, client_id: 5 }],
  ])('refuses %s', (_name, payload) => {
    expect(isClientCredentialsToken(payload as JWTPayload)).toBe(false);
  });
});

describe('matchesOrganization', () => {
  it('matches org_id exactly', () => {
    expect(matchesOrganization({ org_id: 'org_1' }, ['org_1'])).toBe(true);
    expect(matchesOrganization({ org_id: 'ORG_1' }, ['org_1'])).toBe(false);
  });

  it('matches org_name after NFKC and lower-casing', () => {
    expect(matchesOrganization({ org_name: 'Acme' }, ['acme'])).toBe(true);
    expect(matchesOrganization({ org_name: 'acme' }, ['ACME'])).toBe(true);
    expect(matchesOrganization({ org_name: 'ａｃｍｅ' }, ['acme'])).toBe(true); // full-width forms fold under NFKC
    expect(matchesOrganization({ org_name: 'acme' }, ['other'])).toBe(false);
  });

  it.each([
    ['an org_name equal to the allowed id', ['org_victim'], { org_id: 'org_attacker', org_name: 'org_victim' }],
    ['an org_name equal to the id in upper case', ['org_victim'], { org_id: 'org_attacker', org_name: 'ORG_VICTIM' }],
    ['an org_name alone', ['org_victim'], { org_name: 'org_victim' }],
    ['the lower-cased form of a mixed-case id', ['org_AbC123'], { org_id: 'org_abc123' }],
  ])('never lets %s pass an id entry (ids are compared with org_id only, exactly)', (_name, allowed, payload) => {
    expect(matchesOrganization(payload, allowed)).toBe(false);
  });

  it('never compares a name entry with org_id', () => {
    expect(matchesOrganization({ org_id: 'acme' }, ['acme'])).toBe(false);
  });

  it('refuses a token without organization', () => {
    expect(matchesOrganization({}, ['org_1'])).toBe(false);
  });
});
