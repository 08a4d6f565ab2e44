/**
 * What a successful verification yields (`req.auth`) and what a verification may know about
 * the HTTP request (for sender-constrained tokens).
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import type { JWTHeaderParameters, JWTPayload } from 'jose';

/** The verified caller, set as `req.auth` by `requireM2M`. */
export interface M2MAuth {
  /** The raw access token. */
  readonly token: string;
  /** The token's protected header (`{}` for an introspected token). */
  readonly header: Readonly<JWTHeaderParameters>;
  /** All claims. */
  readonly payload: Readonly<JWTPayload>;
  /** The calling application: `client_id ?? azp ?? cid ?? appid ?? sub` (Auth0 `"<id>@clients"` → `"<id>"`). */
  readonly clientId: string;
  /** Union of `scope`, `scp` and `permissions`. */
  readonly scopes: readonly string[];
  /** `org_id ?? org_name`, when present. */
  readonly organization?: string;
  /** The verified `iss`. */
  readonly issuer: string;
  /** Set when the token is sender-constrained and the request proved it. */
  readonly binding?: { readonly type: 'dpop' | 'mtls'; readonly thumbprint: string };
  /** Set when the token was accepted through introspection (RFC 7662). */
  readonly introspected?: true;
}

/** The HTTP request a token came with, for the checks that depend on it (DPoP proofs, client certificates). */
export interface VerificationRequest {
  /** The request method (`GET`, `POST`, …). */
  method: string;
  /** The absolute request URL as the client addressed it (`https://api.example.com/orders?x=1`). */
  url: string;
  /** The `Authorization` scheme the token came with. Default `Bearer`. */
  scheme?: 'Bearer' | 'DPoP';
  /** The `DPoP` header value(s), when any were sent. */
  dpopProof?: string | readonly string[];
  /** The client certificate (PEM, DER or `X509Certificate`), when the request came with one. */
  certificate?: string | Buffer | X509Certificate;
  /** Filled in by the verifier: headers the response must carry (a fresh `DPoP-Nonce`). */
  responseHeaders?: Record<string, string>;
}
