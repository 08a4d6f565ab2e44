import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT } from 'jose';
import { CLIENT_AUTH_PARAMETERS, type ClientAuthenticator } from './client-auth.js';
import { sendJson } from './http.js';
import type { KeyStore } from './keys.js';
import { invalidRequest, NO_STORE, sendOAuthError } from './oauth-error.js';
import { readParams } from './params.js';
import type { TokenRegistry } from './token-registry.js';

const PARAMETERS = [...CLIENT_AUTH_PARAMETERS, 'token', 'token_type_hint'] as const;

/** Media type of an RFC 9701 signed introspection response. */
export const introspectionJwtType = 'application/token-introspection+jwt';

/** What the introspection endpoint needs from its issuer. */
export interface IntrospectionContext {
  readonly issuer: string;
  readonly introspectionEndpoint: string;
  readonly clientAuth: ClientAuthenticator;
  readonly registry: TokenRegistry;
  readonly keys: KeyStore;
}

function wantsJwt(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '')
    .split(',')
    .some((range) => range.split(';')[0]?.trim().toLowerCase() === introspectionJwtType);
}

/** The calling client of a token, under RFC 7662's `client_id` whatever the profile calls it. */
function clientIdOf(claims: Record<string, unknown>): unknown {
  if (typeof claims.client_id === 'string') return claims.client_id;
  if (typeof claims.azp === 'string') return claims.azp;
  return typeof claims.sub === 'string' ? claims.sub.replace(/@clients$/, '') : undefined;
}

/**
 * RFC 7662 token introspection, as a plain node:http handler. The caller authenticates like
 * at the token endpoint; the answer is `{ "active": false }` for a token that is unknown,
 * expired, not yet valid or revoked, else `active: true` with the token's claims, `client_id`
 * and `token_type` (`DPoP` for a `cnf.jkt`-bound token). With
 * `Accept: application/token-introspection+jwt` the answer is an RFC 9701 JWT signed with the
 * issuer's current RS256 key.
 */
export class IntrospectionEndpoint {
  readonly #ctx: IntrospectionContext;

  constructor(ctx: IntrospectionContext) {
    this.#ctx = ctx;
  }

  /** Answers one `POST /oauth/introspect`; never throws. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const params = await readParams(req, res, PARAMETERS);
      if (params === undefined) return;
      const client = await this.#ctx.clientAuth.authenticate(req, params, this.#ctx.introspectionEndpoint);
      if (params.token === undefined) throw invalidRequest('token is required');
      // token_type_hint is only a hint (RFC 7662 §2.1): every kind of token is looked up anyway.
      const claims = await this.#ctx.registry.activeClaims(params.token);
      const answer: Record<string, unknown> = claims
        ? {
            ...claims,
            active: true,
            client_id: clientIdOf(claims),
            token_type: typeof (claims.cnf as { jkt?: unknown } | undefined)?.jkt === 'string' ? 'DPoP' : 'Bearer',
          }
        : { active: false };
      if (!wantsJwt(req)) {
        sendJson(res, 200, answer, NO_STORE);
        return;
      }
      const key = await this.#ctx.keys.documentKey();
      const jwt = await new SignJWT({ token_introspection: answer })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'token-introspection+jwt' })
        .setIssuer(this.#ctx.issuer)
        .setAudience(client.clientId)
        .setIssuedAt()
        .sign(key.privateKey);
      res.writeHead(200, {
        ...NO_STORE,
        'content-type': introspectionJwtType,
        'content-length': Buffer.byteLength(jwt),
      });
      res.end(jwt);
    } catch (err) {
      sendOAuthError(res, err);
    }
  }
}
