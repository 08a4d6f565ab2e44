/**
 * Reading an access token's claims: granted scopes, the calling client, the organization,
 * and whether the token came from the client-credentials grant.
 *
 * @module
 */
import type { JWTPayload } from 'jose';

/**
 * Scopes granted by a token: the union, in order of first appearance, of `scope`
 * (space-delimited string, RFC 8693 / RFC 9068), `scp` (array or string: Okta, Entra ID)
 * and `permissions` (array: Auth0 RBAC).
 */
export function readScopes(payload: JWTPayload): string[] {
  const scopes = new Set<string>();
  addScopes(scopes, payload.scope);
  addScopes(scopes, payload.scp);
  addScopes(scopes, payload.permissions);
  return [...scopes];
}

function addScopes(into: Set<string>, value: unknown): void {
  if (typeof value === 'string') {
    for (const scope of value.split(' ')) if (scope !== '') into.add(scope);
  } else if (Array.isArray(value)) {
    for (const scope of value) if (typeof scope === 'string' && scope !== '') into.add(scope);
  }
}

/** Claims naming the client, in order of precedence. */
const CLIENT_ID_CLAIMS = ['client_id', 'azp', 'cid', 'appid', 'sub'] as const;
const AUTH0_CLIENT_SUFFIX = '@clients';

/**
 * The calling application's id: `client_id ?? azp ?? cid ?? appid ?? sub`, with Auth0's
 * `"<id>@clients"` subject reduced to `"<id>"`.
 *
 * @returns the id, or `undefined` when the first claim present is not a non-empty string.
 */
export function readClientId(payload: JWTPayload): string | undefined {
  for (const claim of CLIENT_ID_CLAIMS) {
    const value = payload[claim];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value === '') return undefined;
    if (claim === 'sub' && value.endsWith(AUTH0_CLIENT_SUFFIX) && value.length > AUTH0_CLIENT_SUFFIX.length) {
      return value.slice(0, -AUTH0_CLIENT_SUFFIX.length);
    }
    return value;
  }
  return undefined;
}

/** The token's organization: `org_id ?? org_name` (Auth0 Organizations), when a string. */
export function readOrganization(payload: JWTPayload): string | undefined {
  const { org_id: orgId, org_name: orgName } = payload;
  if (typeof orgId === 'string') return orgId;
  if (typeof orgName === 'string') return orgName;
  return undefined;
}

/**
 * Built-in detection of tokens issued by the client-credentials grant. True when any of:
 * `gty === 'client-credentials'` (Auth0); `sub === client_id` (RFC 9068 §2.2);
 * `sub === client_id + '@clients'` (Auth0's RFC 9068 token profile);
 * `sub === azp` or `sub === azp + '@clients'` (Auth0); `sub === cid` (Okta);
 * `idtyp === 'app'` (Microsoft Entra ID).
 */
export function isClientCredentialsToken(payload: JWTPayload): boolean {
  if (payload.gty === 'client-credentials') return true;
  if (payload.idtyp === 'app') return true;
  const { sub } = payload;
  if (typeof sub !== 'string' || sub === '') return false;
  const { client_id: clientId, azp, cid } = payload;
  if (typeof clientId === 'string' && clientId !== '' && (sub === clientId || sub === clientId + AUTH0_CLIENT_SUFFIX))
    return true;
  if (typeof azp === 'string' && azp !== '' && (sub === azp || sub === azp + AUTH0_CLIENT_SUFFIX)) return true;
  if (typeof cid === 'string' && sub === cid) return true;
  return false;
}

/** Auth0 organization ids start with this prefix; names cannot. */
const ORG_ID_PREFIX = 'org_';

/** How organization names are compared: Unicode NFKC, then lower case (Auth0 stores names lower-case). */
export function normalizeOrganizationName(name: string): string {
  return name.normalize('NFKC').toLowerCase();
}

/**
 * Whether the token belongs to one of the allowed organizations. An allowed entry that starts
 * with `org_` is an id and must equal the token's `org_id` exactly; any other entry is a name
 * and must equal its `org_name` after {@link normalizeOrganizationName}. An id is never
 * compared with a name, so a token cannot name itself into another organization.
 */
export function matchesOrganization(payload: JWTPayload, allowed: readonly string[]): boolean {
  const { org_id: orgId, org_name: orgName } = payload;
  for (const entry of allowed) {
    if (entry.startsWith(ORG_ID_PREFIX)) {
      if (typeof orgId === 'string' && orgId === entry) return true;
    } else if (typeof orgName === 'string' && normalizeOrganizationName(orgName) === normalizeOrganizationName(entry)) {
      return true;
    }
  }
  return false;
}
