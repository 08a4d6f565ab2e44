/**
 * `inspect`'s engine: the real verifier's verdict on a token (status, `WWW-Authenticate`,
 * reason, details — exactly what `requireM2M` would answer to a Bearer request), plus one row
 * per check. Never keeps or returns the token or its signature.
 *
 * @module
 */
import type { JWTPayload } from 'jose';
import type { M2MError } from '../errors.js';
import { isM2MError } from '../errors.js';
import { decodeJsonObject } from '../jwt/compact.js';
import type { Verifier } from '../verifier.js';
import { oneLine } from './io.js';
import { claimChecks, type Check, type CheckName, type Expectations } from './checks.js';
import { show, showChoices } from './text.js';

/** What `requireM2M` would answer. */
export type Verdict =
  | { accepted: true; status: 200; clientId: string; scopes: readonly string[]; issuer: string }
  | {
      accepted: false;
      status: number;
      code: string | undefined;
      reason: string;
      description: string;
      headers: Readonly<Record<string, string>>;
      details: M2MError['details'];
      /** Why the keys could not be obtained (503): the underlying error's first line. */
      cause?: string;
    };

/** The decoded token (header and claims only), the checks and the verdict. */
export interface Diagnosis {
  header: Record<string, unknown> | undefined;
  claims: Record<string, unknown> | undefined;
  checks: Check[];
  verdict: Verdict;
}

/** The header and claims of a compact JWT, decoded without any check; `undefined` parts when not decodable. */
export function decodeToken(token: string): Pick<Diagnosis, 'header' | 'claims'> {
  const parts = token.split('.');
  if (parts.length !== 3) return { header: undefined, claims: undefined };
  return { header: decodeJsonObject(parts[0] as string), claims: decodeJsonObject(parts[1] as string) };
}

/** Reasons raised before the signature is checked (but see {@link stageOf}): the signature row is then "not checked". */
const BEFORE_SIGNATURE = new Set(['malformed_token', 'token_too_large', 'unexpected_issuer', 'invalid_typ']);
/** Reasons that are the signature or its key failing. */
const SIGNATURE_FAILURES = new Set(['alg_not_allowed', 'unknown_key', 'invalid_signature', 'keys_unavailable']);
/** The row a refusal belongs to, by the claim its details name. */
const ROW_OF_CLAIM: Readonly<Record<string, CheckName>> = {
  iss: 'issuer',
  aud: 'audience',
  exp: 'expiry',
  nbf: 'not-before',
  iat: 'issued-at',
  typ: 'typ',
  gty: 'm2m',
  alg: 'signature',
};
/** The row a refusal belongs to, by its reason, when its details name no claim. */
const ROW_OF_REASON: Readonly<Record<string, CheckName>> = {
  malformed_token: 'format',
  token_too_large: 'format',
  unexpected_issuer: 'issuer',
  unexpected_audience: 'audience',
  expired: 'expiry',
  not_yet_valid: 'not-before',
  issued_in_future: 'issued-at',
  too_old: 'issued-at',
  invalid_typ: 'typ',
  not_m2m: 'm2m',
  no_client_id: 'client-id',
  ...Object.fromEntries([...SIGNATURE_FAILURES].map((reason) => [reason, 'signature'])),
};

/**
 * Verifies `token` with `verifier` and lays out every check.
 *
 * @param now - the current time in epoch seconds, for the claim rows.
 * @param keyFailure - why the last key-set fetch failed, if it did (for a 503's cause line).
 */
export async function diagnose(
  token: string,
  verifier: Verifier,
  expect: Expectations,
  now: number,
  keyFailure: () => string | undefined = () => undefined,
): Promise<Diagnosis> {
  const verdict = await verdictOf(token, verifier, keyFailure);
  const { header, claims } = decodeToken(token);
  const checks: Check[] = [
    {
      name: 'format',
      ok: header !== undefined && claims !== undefined,
      expected: 'a signed JWT: base64url JSON header and claims',
      actual: header !== undefined && claims !== undefined ? 'decoded' : 'not decodable',
    },
  ];
  if (header !== undefined && claims !== undefined) {
    checks.push(
      issuerRow(claims.iss, verifier, verdict),
      signatureRow(header, verifier, verdict),
      ...claimChecks(header, claims as JWTPayload, expect, now),
    );
  }
  return { header, claims, checks: withVerdict(checks, verdict), verdict };
}

async function verdictOf(token: string, verifier: Verifier, keyFailure: () => string | undefined): Promise<Verdict> {
  try {
    const auth = await verifier.verify(token);
    return { accepted: true, status: 200, clientId: auth.clientId, scopes: auth.scopes, issuer: auth.issuer };
  } catch (error) {
    const refusal = isM2MError(error) ? error : verifier.httpError(error, undefined);
    const failure = refusal.status === 503 ? (keyFailure() ?? refusal.cause) : undefined;
    const cause = failure !== undefined ? oneLine(failure) : undefined;
    return {
      accepted: false,
      status: refusal.status,
      code: refusal.code,
      reason: refusal.reason,
      description: refusal.description,
      headers: refusal.headers,
      details: refusal.details,
      ...(cause !== undefined && { cause }),
    };
  }
}

/** How far the verifier got: it stopped before the signature check, at it, or passed it. */
type Stage = 'before-signature' | 'signature' | 'after-signature';

function stageOf(verdict: Verdict): Stage {
  if (verdict.accepted) return 'after-signature';
  if (SIGNATURE_FAILURES.has(verdict.reason)) return 'signature';
  // The issuer is chosen by `iss` before any key: a token without one stops there.
  if (verdict.reason === 'missing_claim' && verdict.details?.claim === 'iss') return 'before-signature';
  // A malformed claim (a non-numeric `exp`) is found after the signature; a malformed token before it.
  if (verdict.reason === 'malformed_token' && verdict.details !== undefined) return 'after-signature';
  return BEFORE_SIGNATURE.has(verdict.reason) ? 'before-signature' : 'after-signature';
}

/**
 * The issuer row, from the verifier: it picks the issuer by the token's `iss` (for discovery,
 * compared with the `issuer` of the fetched metadata) before looking for a key, so a verdict
 * from the key or later means the `iss` is trusted.
 */
function issuerRow(iss: unknown, verifier: Verifier, verdict: Verdict): Check {
  // Read after verifying: with discovery, the expected `iss` is known only once the metadata was fetched.
  const known = verifier.issuerIdentifiers();
  const row: Check = { name: 'issuer', ok: true, expected: showChoices(known), actual: show(iss) };
  const stage = stageOf(verdict);
  // Unreachable discovery: the expected `iss` was never learnt.
  const unknown = !verdict.accepted && verdict.reason === 'keys_unavailable' && !known.includes(iss as string);
  return stage === 'before-signature' || unknown ? { ...row, ok: null } : row;
}

function signatureRow(header: Record<string, unknown>, verifier: Verifier, verdict: Verdict): Check {
  const algorithms = Array.isArray(verifier.options.issuers)
    ? verifier.options.issuers.flatMap((spec) => spec.algorithms)
    : [];
  const allowed = algorithms.length > 0 ? `in ${[...new Set(algorithms)].join(', ')}` : 'allowed';
  const stage = stageOf(verdict);
  return {
    name: 'signature',
    ok: stage === 'after-signature' ? true : stage === 'signature' ? false : null,
    expected: `alg ${allowed}, a key of the issuer`,
    actual: `alg ${show(header.alg)}, kid ${show(header.kid)}`,
  };
}

/**
 * Marks the row of the check the verifier refused on. A row that already failed on its own
 * keeps its (more readable) values; otherwise the verifier's details say what was expected and
 * found. A refusal no row covers (`revoked`, a DPoP-bound token) gets a row of its own, named
 * by its reason, with the verifier's description (and no expected value unless it has details).
 */
function withVerdict(checks: Check[], verdict: Verdict): Check[] {
  if (verdict.accepted) return checks;
  const claim = verdict.details?.claim;
  const name = (claim !== undefined ? ROW_OF_CLAIM[claim] : undefined) ?? ROW_OF_REASON[verdict.reason];
  const row = checks.find((check) => check.name === name);
  if (row?.ok === false) return checks;
  const refused: Check = {
    name: row?.name ?? verdict.reason,
    ok: false,
    expected: verdict.details !== undefined ? show(verdict.details.expected) : (row?.expected ?? ''),
    actual: verdict.details !== undefined ? show(verdict.details.actual) : verdict.description,
  };
  if (row === undefined) return [...checks, refused];
  return checks.map((check) => (check === row ? refused : check));
}
