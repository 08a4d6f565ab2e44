/**
 * One issuer's introspection endpoint (RFC 7662): POSTs `token` and
 * `token_type_hint=access_token`, authenticated as the API's client, and reads the answer —
 * JSON, or an RFC 9701 signed answer verified against the issuer's keys. The exchange is
 * bounded like a key-set fetch (the issuer's `jwks.timeout` for the whole exchange, body
 * included, and `jwks.maxBytes`), and redirects are never followed: the request carries the
 * token and the API's credentials, which must not travel anywhere else.
 *
 * @module
 */
import { readBoundedBody } from '../bounded-body.js';
import { normalizeTyp, parseCompact, decodeJsonObject } from '../jwt/compact.js';
import type { ClaimsSetOptions } from '../jwt/claims-set.js';
import { describeCause } from '../keys/fetch-json.js';
import type { IssuerContext } from '../issuers/context.js';
import { JwksKeySource } from '../issuers/jwks-source.js';
import { checkWithIssuer } from '../issuers/signed-jwt.js';
import { IntrospectionUnavailableError, readAnswer, type IntrospectionAnswer } from './response.js';
import type { ResolvedIntrospection } from './options.js';
import { untilAborted } from '../client/http.js';

/** RFC 9701 media type of a signed introspection answer (and its JWT `typ`). */
export const introspectionJwtType = 'token-introspection+jwt';
const ACCEPT = `application/${introspectionJwtType}, application/json;q=0.9`;

/** Asks one issuer about tokens. */
export class IntrospectionClient {
  readonly settings: ResolvedIntrospection;

  constructor(
    private readonly context: IssuerContext,
    private readonly now: () => number,
  ) {
    this.settings = context.spec.introspection as ResolvedIntrospection;
  }

  /**
   * The server's answer about `token`.
   *
   * @throws {@link IntrospectionUnavailableError} when no usable answer was obtained.
   */
  async ask(token: string): Promise<IntrospectionAnswer> {
    const endpoint = await this.endpoint();
    const { headers, params } = await this.settings.authentication.authenticate(endpoint);
    const body = new URLSearchParams({ ...params, token, token_type_hint: 'access_token' }).toString();
    const { contentType, text } = await this.post(endpoint, body, headers);
    if (normalizeTyp(contentType) === `application/${introspectionJwtType}`) return this.readSigned(text);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new IntrospectionUnavailableError('answer is not JSON');
    }
    return readAnswer(document);
  }

  private async endpoint(): Promise<string> {
    const configured = this.settings.endpoint;
    if (configured !== undefined) return configured;
    const keys = this.context.keys;
    const discovered = keys instanceof JwksKeySource ? await keys.introspectionEndpoint() : undefined;
    if (discovered === undefined) throw new IntrospectionUnavailableError('no introspection endpoint is known');
    return discovered;
  }

  private async post(
    endpoint: string,
    body: string,
    authHeaders: Record<string, string>,
  ): Promise<{ contentType: string; text: string }> {
    const { timeout, maxBytes, fetch } = this.context.spec.jwks;
    const signal = AbortSignal.timeout(timeout * 1000);
    const failed = (what: string, cause?: unknown): IntrospectionUnavailableError =>
      new IntrospectionUnavailableError(signal.aborted ? 'timed out' : what, { cause });
    let response: Response;
    try {
      response = await untilAborted(
        fetch(endpoint, {
          method: 'POST',
          signal,
          redirect: 'manual',
          headers: {
            ...authHeaders,
            accept: ACCEPT,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body,
        }),
        signal,
      );
    } catch (error) {
      throw failed(describeCause(error), error);
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw failed(response.status >= 300 && response.status < 400 ? 'redirect refused' : `HTTP ${response.status}`);
    }
    let text: string | undefined;
    try {
      text = await untilAborted(readBoundedBody(response, maxBytes), signal);
    } catch (error) {
      throw failed(`reading the answer failed (${describeCause(error)})`, error);
    }
    if (text === undefined) throw failed(`answer larger than ${maxBytes} bytes`);
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    return { contentType, text };
  }

  /** RFC 9701: a JWT signed with the issuer's keys, for us, carrying the answer under `token_introspection`. */
  private async readSigned(text: string): Promise<IntrospectionAnswer> {
    const context = this.context;
    const { clientId } = this.settings;
    const claimsFor = (issuer: IssuerContext): ClaimsSetOptions | undefined => {
      const rules = issuer.claimsOptions();
      if (rules === undefined) return undefined;
      return {
        issuer: rules.issuer,
        audience: [clientId, ...rules.audience],
        clockTolerance: rules.clockTolerance,
        requiredClaims: ['iat'],
        typ: introspectionJwtType,
      };
    };
    try {
      const parsed = parseCompact(text.trim(), { algorithms: context.spec.algorithms, typ: introspectionJwtType });
      const payload = decodeJsonObject(parsed.encodedPayload);
      if (payload === undefined) throw new IntrospectionUnavailableError('signed answer has no claims');
      await checkWithIssuer(parsed, payload, context, claimsFor, this.now, true);
      return readAnswer(payload.token_introspection);
    } catch (error) {
      if (error instanceof IntrospectionUnavailableError) throw error;
      throw new IntrospectionUnavailableError('signed answer could not be verified', { cause: error });
    }
  }
}
