/**
 * Which `req.auth` objects `requireM2M` produced, with the realm of the one that produced each:
 * guards answer only for those, so a `req.auth` set by anything else never passes a guard.
 *
 * @module
 */
import type { M2MAuth } from '../auth.js';

const produced = new WeakMap<object, string>();

/** Records that `requireM2M` with this realm set `auth` (the same object serves a cached token's requests). */
export function rememberAuth(auth: M2MAuth, realm: string): void {
  produced.set(auth, realm);
}

/** True when `auth` was produced by `requireM2M`. */
export function isVerifiedAuth(auth: unknown): auth is M2MAuth {
  return typeof auth === 'object' && auth !== null && produced.has(auth);
}

/** The realm of the `requireM2M` that produced `auth`. */
export function realmOfAuth(auth: M2MAuth): string | undefined {
  return produced.get(auth);
}
