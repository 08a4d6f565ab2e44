import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLIENT_AUTH_PARAMETERS, type ClientAuthenticator } from './client-auth.js';
import type { RegisteredClient } from './clients.js';
import type { DPoPProofChecker } from './dpop-proof.js';
import { sendJson } from './http.js';
import { describable, invalidRequest, NO_STORE, OAuthError, sendOAuthError } from './oauth-error.js';
import { readParams } from './params.js';

const PARAMETERS = [...CLIENT_AUTH_PARAMETERS, 'grant_type', 'audience', 'scope', 'organization'] as const;

type Params = Partial<Record<(typeof PARAMETERS)[number], string>>;

/** A token request that passed client authentication and the grant checks. */
export interface GrantRequest {
  client: RegisteredClient;
  audience: string;
  scopes: string[];
  organization?: string;
  /** Thumbprint of the DPoP key the token must be bound to (`cnf.jkt`), when a proof came along. */
  jkt?: string;
}

/** What the token endpoint needs from its issuer. */
export interface TokenEndpointContext {
  readonly tokenEndpoint: string;
  readonly tokenLifetime: number;
  readonly clientAuth: ClientAuthenticator;
  readonly dpop: DPoPProofChecker;
  issue(request: GrantRequest): Promise<string>;
}

/** The RFC 6749 §4.4 client-credentials token endpoint, as a plain node:http handler. */
export class TokenEndpoint {
  readonly #ctx: TokenEndpointContext;

  constructor(ctx: TokenEndpointContext) {
    this.#ctx = ctx;
  }

  /** Answers one `POST /oauth/token`; never throws. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const params = await readParams(req, res, PARAMETERS);
      if (params === undefined) return;
      const body = await this.#grant(req, params);
      sendJson(res, 200, body, NO_STORE);
    } catch (err) {
      sendOAuthError(res, err);
    }
  }

  async #grant(req: IncomingMessage, params: Params): Promise<Record<string, unknown>> {
    if (params.grant_type === undefined) throw invalidRequest('grant_type is required');
    if (params.grant_type !== 'client_credentials') {
      throw new OAuthError(400, 'unsupported_grant_type', 'only the client_credentials grant is supported');
    }
    // The proof goes first: a use_dpop_nonce answer must not spend the client's assertion.
    const proof = await this.#ctx.dpop.check(req, this.#ctx.tokenEndpoint);
    const client = await this.#ctx.clientAuth.authenticate(req, params, this.#ctx.tokenEndpoint);

    const audience = params.audience;
    if (audience === undefined) throw invalidRequest('audience is required');
    const granted = client.grants.get(audience);
    if (!granted) {
      throw new OAuthError(
        403,
        'access_denied',
        `Client is not authorized to access ${describable(audience, 'the requested audience')}`,
      );
    }

    let scopes: string[] = [...new Set(granted)];
    if (params.scope !== undefined) {
      const requested = [...new Set(params.scope.split(' ').filter((s) => s.length > 0))];
      if (requested.some((s) => !granted.includes(s))) {
        throw new OAuthError(400, 'invalid_scope', 'a requested scope is not granted to this client for this audience');
      }
      scopes = requested;
    }

    const organization = params.organization;
    if (organization !== undefined && client.organization !== undefined && organization !== client.organization) {
      throw invalidRequest('the client is not a member of the requested organization');
    }

    if (proof) this.#ctx.dpop.consume(proof);
    const accessToken = await this.#ctx.issue({
      client,
      audience,
      scopes,
      ...(organization !== undefined ? { organization } : {}),
      ...(proof ? { jkt: proof.jkt } : {}),
    });
    const response: Record<string, unknown> = {
      access_token: accessToken,
      token_type: proof ? 'DPoP' : 'Bearer',
      expires_in: this.#ctx.tokenLifetime,
    };
    if (scopes.length > 0) response.scope = scopes.join(' ');
    return response;
  }
}
