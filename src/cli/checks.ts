/**
 * The rows of `inspect`: each check of a token, judged on its own from the decoded header and
 * claims, so an operator sees every problem at once (an expired token for the wrong audience
 * shows both). The verdict itself always comes from the real verifier (see diagnose.ts), and
 * the row of the check it failed on carries the verifier's own expected and actual values.
 *
 * @module
 */
import type { JWTPayload } from 'jose';
import { isClientCredentialsToken, readClientId } from '../claims.js';
import { normalizeTyp } from '../jwt/compact.js';
import { describeTime } from './time.js';
import { show, showChoices } from './text.js';

/** The checks `inspect` shows, in the order the verifier runs them. */
export const CHECK_NAMES = [
  'format',
  'issuer',
  'signature',
  'audience',
  'expiry',
  'not-before',
  'issued-at',
  'typ',
  'm2m',
  'client-id',
] as const;

/** A check's name: one of {@link CHECK_NAMES}, or a reason code for a refusal no row covers (`revoked`). */
export type CheckName = (typeof CHECK_NAMES)[number] | (string & Record<never, never>);

/** One row: passed (`true`), failed (`false`) or not checked (`null`), with what was expected and found. */
export interface Check {
  name: CheckName;
  ok: boolean | null;
  expected: string;
  actual: string;
}

/** What the token is judged against. */
export interface Expectations {
  audiences: readonly string[];
  clockTolerance: number;
  strict: boolean;
  m2mOnly: boolean;
}

/** RFC 9068 §2.1: the `typ` of a JWT access token. */
const ACCESS_TOKEN_TYP = 'application/at+jwt';

/**
 * Judges each claim check on its own. The issuer and signature rows are left to the caller:
 * only the verifier knows which issuers it trusts (after discovery) and their keys.
 *
 * @param now - the current time in epoch seconds.
 */
export function claimChecks(
  header: Record<string, unknown>,
  payload: JWTPayload,
  expect: Expectations,
  now: number,
): Check[] {
  const tolerance = expect.clockTolerance;
  const checks: Check[] = [
    audienceCheck(payload.aud, expect.audiences),
    timeCheck('expiry', payload.exp, true, (exp) => exp > now - tolerance, `later than now − ${tolerance} s`, now),
    timeCheck(
      'not-before',
      payload.nbf,
      false,
      (nbf) => nbf <= now + tolerance,
      `not later than now + ${tolerance} s`,
      now,
    ),
    timeCheck(
      'issued-at',
      payload.iat,
      false,
      (iat) => iat <= now + tolerance,
      `not later than now + ${tolerance} s`,
      now,
    ),
  ];
  if (expect.strict) {
    checks.push({
      name: 'typ',
      ok: typeof header.typ === 'string' && normalizeTyp(header.typ) === ACCESS_TOKEN_TYP,
      expected: show('at+jwt'),
      actual: show(header.typ),
    });
  }
  if (expect.m2mOnly) {
    checks.push({
      name: 'm2m',
      ok: isClientCredentialsToken(payload),
      expected: 'client-credentials grant (gty "client-credentials", or sub equal to client_id/azp/cid)',
      actual: `gty ${show(payload.gty)}, sub ${show(payload.sub)}`,
    });
  }
  const clientId = readClientId(payload);
  checks.push({
    name: 'client-id',
    ok: clientId !== undefined,
    expected: 'a non-empty client_id, azp, cid, appid or sub',
    actual: show(clientId),
  });
  return checks;
}

function audienceCheck(aud: unknown, audiences: readonly string[]): Check {
  const values = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  return {
    name: 'audience',
    ok: audiences.some((audience) => values.includes(audience)),
    expected: showChoices(audiences),
    actual: show(aud),
  };
}

function timeCheck(
  name: CheckName,
  value: unknown,
  required: boolean,
  passes: (value: number) => boolean,
  expected: string,
  now: number,
): Check {
  if (value === undefined && !required)
    return { name, ok: true, expected: 'absent, or ' + expected, actual: show(value) };
  const ok = typeof value === 'number' && Number.isFinite(value) && passes(value);
  return { name, ok, expected: required ? expected : 'absent, or ' + expected, actual: describeTime(value, now) };
}
