/**
 * The `req.auth` type augmentation and the per-request realm marker guards answer with.
 *
 * @module
 */
import type { M2MAuth } from '../verifier.js';

declare global {
  // Express's own types merge this global namespace into `Request` (@types/express 4 and 5).
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified M2M caller, set by `requireM2M`. */
      auth?: M2MAuth;
    }
  }
}

const REALM = Symbol('express-m2m.realm');

/** The minimal request shape the guards read. */
export interface RealmCarrier {
  [REALM]?: string;
}

/** Remembers the realm of the `requireM2M` that handled this request. */
export function setRealm(req: object, realm: string): void {
  (req as RealmCarrier)[REALM] = realm;
}

/** The realm of the `requireM2M` that handled this request, if one did. */
export function realmOf(req: object): string | undefined {
  return (req as RealmCarrier)[REALM];
}
