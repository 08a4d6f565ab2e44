/**
 * Reading an introspection answer (RFC 7662 §2.2). Only a JSON object whose `active` is the
 * boolean `true` makes a token acceptable; anything that is not an RFC 7662 object (`active:
 * "true"`, a member of the wrong type, an active answer without a numeric `exp`) says nothing
 * reliable about the token, so it is an unusable answer (503), never "inactive".
 *
 * @module
 */
import type { JWTPayload } from 'jose';
import { isJsonObject } from '../json.js';

/** Why an introspection answer could not be obtained or used: a few words, never response content. */
export class IntrospectionUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IntrospectionUnavailableError';
  }
}

/** What the authorization server said about a token. */
export type IntrospectionAnswer = { readonly active: false } | { readonly active: true; readonly claims: JWTPayload };

/** RFC 7662 §2.2 members that are strings when present. */
const STRING_MEMBERS = ['scope', 'client_id', 'username', 'token_type', 'sub', 'iss', 'jti'] as const;
/** RFC 7662 §2.2 members that are NumericDates when present. */
const NUMERIC_MEMBERS = ['exp', 'iat', 'nbf'] as const;

/**
 * Validates a parsed introspection answer.
 *
 * @throws {@link IntrospectionUnavailableError} when `document` is not an RFC 7662 answer, or
 *   is active without a numeric `exp` (this package never accepts a token without one).
 */
export function readAnswer(document: unknown): IntrospectionAnswer {
  if (!isJsonObject(document)) throw new IntrospectionUnavailableError('answer is not a JSON object');
  const { active } = document;
  if (typeof active !== 'boolean') throw new IntrospectionUnavailableError('answer has no boolean "active"');
  if (!active) return { active: false };
  for (const member of STRING_MEMBERS) {
    const value = document[member];
    if (value !== undefined && typeof value !== 'string') {
      throw new IntrospectionUnavailableError(`answer has a non-string "${member}"`);
    }
  }
  for (const member of NUMERIC_MEMBERS) {
    const value = document[member];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new IntrospectionUnavailableError(`answer has a non-numeric "${member}"`);
    }
  }
  const { aud, cnf, exp } = document;
  if (
    aud !== undefined &&
    typeof aud !== 'string' &&
    !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))
  ) {
    throw new IntrospectionUnavailableError('answer has an invalid "aud"');
  }
  if (cnf !== undefined && !isJsonObject(cnf)) throw new IntrospectionUnavailableError('answer has an invalid "cnf"');
  if (exp === undefined) throw new IntrospectionUnavailableError('active answer has no "exp"');
  const { active: _active, ...claims } = document;
  return { active: true, claims: claims as JWTPayload };
}
