/**
 * `Refusal`: how the layers below the verifier (issuer selection, key sources, policy,
 * binding) say "no" without knowing how the answer is rendered. The verifier turns each into
 * the HTTP error of the request's challenge (realm, scheme, `resource_metadata`), so that
 * knowledge lives in one place.
 *
 * @module
 */
import type { ErrorDetails } from './error-details.js';
import type { M2MErrorReason } from './reasons.js';
import { StacklessError } from './stackless.js';

/**
 * A refusal with its stable reason and the fixed sentence the client sees. An expected outcome,
 * never a bug: built without a stack trace, the largest cost of building one.
 */
export class Refusal extends StacklessError {
  /**
   * @param reason - the stable reason code.
   * @param description - a fixed sentence; never a value taken from the token.
   */
  constructor(
    readonly reason: M2MErrorReason,
    readonly description: string,
    readonly extra: {
      details?: ErrorDetails;
      cause?: unknown;
      /** The RFC 9449 error code, where it is not implied by the reason. */
      code?: 'invalid_token' | 'invalid_dpop_proof';
      /** For `use_dpop_nonce`: the nonce to send. */
      nonce?: string;
      /** For 503: seconds until a retry may succeed. */
      retryAfter?: number;
      /** For `insufficient_scope`: the scopes required. */
      scope?: readonly string[];
      /** The challenge scheme this refusal calls for, when the request alone does not say (a DPoP-bound token). */
      challenge?: 'DPoP';
    } = {},
  ) {
    super(description, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'Refusal';
  }
}
