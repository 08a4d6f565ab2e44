/**
 * Options of express-oauth2-jwt-bearer that express-m2m does not take, each with what to use
 * instead. In plain JavaScript a dropped option is silently ignored — and a dropped
 * `validators` silently loosens access control — so they are refused with a hint.
 *
 * @module
 */

/** The replacement for each option of express-oauth2-jwt-bearer's `auth()` that we do not take. */
export const PEER_OPTION_HINTS: Readonly<Record<string, string>> = Object.freeze({
  tokenSigningAlg:
    "`tokenSigningAlg` is express-oauth2-jwt-bearer's; use `algorithms: ['RS256']` (HS256 only with `secret`)",
  validators:
    "`validators` is express-oauth2-jwt-bearer's; express-m2m checks `iss`, `aud`, `exp`, `nbf` and `iat` itself — put other claim rules in route guards (`requireClaim(name, expected)`) or `isM2M`",
  cacheMaxAge: "`cacheMaxAge` is express-oauth2-jwt-bearer's (milliseconds); use `jwks: { cacheMaxAge }` in seconds",
  timeoutDuration:
    "`timeoutDuration` is express-oauth2-jwt-bearer's (milliseconds); use `jwks: { timeout }` in seconds",
  cooldownDuration:
    "`cooldownDuration` is express-oauth2-jwt-bearer's (milliseconds); use `jwks: { cooldown }` in seconds",
  agent: "`agent` is express-oauth2-jwt-bearer's; pass a `fetch` that uses your agent or dispatcher",
  mcd: "`mcd` is express-oauth2-jwt-bearer's; list the issuers in `issuers` (or pass a resolver function)",
  getCertificate: "`getCertificate` is express-oauth2-jwt-bearer's; use `mtls: { getCertificate }`",
});

/** Members of express-oauth2-jwt-bearer's `dpop` option, which express-m2m shapes differently. */
export const PEER_DPOP_HINTS: Readonly<Record<string, string>> = Object.freeze({
  enabled:
    "`dpop.enabled` is express-oauth2-jwt-bearer's; use `dpop: { mode: 'allowed' }` (the default) or `{ mode: 'off' }`",
  required: "`dpop.required` is express-oauth2-jwt-bearer's; use `dpop: { mode: 'required' }`",
  iatOffset: "`dpop.iatOffset` is express-oauth2-jwt-bearer's; use `dpop: { maxAge }` in seconds",
  iatLeeway: "`dpop.iatLeeway` is express-oauth2-jwt-bearer's; use `clockTolerance` in seconds",
});

let warnedSigningAlg = false;

/**
 * express-oauth2-jwt-bearer reads `TOKEN_SIGNING_ALG`; express-m2m does not. A set variable
 * only warns (once per process): refusing to start over an environment variable another
 * service may share would be harsh.
 */
export function warnAboutPeerEnvironment(env: NodeJS.ProcessEnv): void {
  if (warnedSigningAlg || env.TOKEN_SIGNING_ALG === undefined || env.TOKEN_SIGNING_ALG === '') return;
  warnedSigningAlg = true;
  process.emitWarning(
    'TOKEN_SIGNING_ALG is ignored by express-m2m; set `algorithms` in code instead (HS256 only with `secret`)',
    { type: 'ExpressM2MWarning', code: 'EXPRESS_M2M_TOKEN_SIGNING_ALG' },
  );
}
