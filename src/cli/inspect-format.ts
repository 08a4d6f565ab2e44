/**
 * How `inspect` prints a diagnosis: a readable report, or one JSON object with `--json`.
 * Only the decoded header and claims are shown, never the token or its signature.
 *
 * @module
 */
import { STATUS_CODES } from 'node:http';
import type { Check } from './checks.js';
import type { Diagnosis, Verdict } from './diagnose.js';
import { show } from './text.js';
import { describeTime } from './time.js';

/** Claims holding NumericDate values, shown with a readable time. */
const TIME_CLAIMS = new Set(['exp', 'iat', 'nbf', 'auth_time']);
const MARKS = { true: '✓', false: '✗', null: '·' } as const;

/** The report lines for a diagnosis; `unchecked` explains why there is no verdict (no issuer configured). */
export function formatReport(
  decoded: Pick<Diagnosis, 'header' | 'claims'>,
  result: Pick<Diagnosis, 'checks' | 'verdict'> | { unchecked: string },
  now: number,
): string[] {
  const lines = [...section('Header', decoded.header, now), '', ...section('Claims', decoded.claims, now), ''];
  if ('unchecked' in result) return [...lines, `Not verified: ${result.unchecked}`];
  const width = Math.max(...result.checks.map((check) => check.name.length));
  lines.push('Checks');
  for (const check of result.checks) lines.push(formatCheck(check, width));
  if (result.checks.some((check) => check.name === 'signature' && check.ok !== true)) {
    lines.push('  (the claims above are unverified: the signature was not accepted)');
  }
  return [...lines, '', ...formatVerdict(result.verdict)];
}

function section(title: string, values: Record<string, unknown> | undefined, now: number): string[] {
  if (values === undefined) return [title, '  (not decodable)'];
  const entries = Object.entries(values);
  const width = Math.max(0, ...entries.map(([name]) => show(name).length - 2));
  return [
    title,
    ...entries.map(([name, value]) => {
      const label = show(name).slice(1, -1).padEnd(width);
      return `  ${label}  ${TIME_CLAIMS.has(name) ? describeTime(value, now) : show(value)}`;
    }),
  ];
}

function formatCheck(check: Check, width: number): string {
  const mark = MARKS[String(check.ok) as keyof typeof MARKS];
  const name = check.name.padEnd(width);
  if (check.ok === true || check.expected === '') return `  ${mark} ${name}  ${check.actual}`;
  if (check.ok === null) return `  ${mark} ${name}  not checked (expected ${check.expected})`;
  return `  ${mark} ${name}  expected ${check.expected}, actual ${check.actual}`;
}

/** The status line and headers `requireM2M` would send. */
function formatVerdict(verdict: Verdict): string[] {
  const status = `requireM2M would answer: ${verdict.status} ${STATUS_CODES[verdict.status] ?? ''}`.trimEnd();
  if (verdict.accepted) {
    const scopes = verdict.scopes.length > 0 ? verdict.scopes.map(show).join(' ') : '(none)';
    return [`${status} (accepted: client ${show(verdict.clientId)}, scopes ${scopes})`];
  }
  const lines = [status];
  for (const [name, value] of Object.entries(verdict.headers)) lines.push(`${name}: ${value}`);
  lines.push(`reason: ${verdict.reason}`);
  if (verdict.cause !== undefined) lines.push(`cause: ${verdict.cause}`);
  return lines;
}

/** The `--json` object: decoded token, checks and verdict (`null` when nothing was verified). */
export function formatJson(
  decoded: Pick<Diagnosis, 'header' | 'claims'>,
  result: Pick<Diagnosis, 'checks' | 'verdict'> | { unchecked: string },
): string {
  const token = { header: decoded.header ?? null, claims: decoded.claims ?? null };
  const body =
    'unchecked' in result
      ? { ...token, checks: [], result: null, unchecked: result.unchecked }
      : { ...token, checks: result.checks, result: jsonVerdict(result.verdict) };
  return JSON.stringify(body, null, 2);
}

function jsonVerdict(verdict: Verdict): Record<string, unknown> {
  if (verdict.accepted) return { ...verdict };
  const { headers, ...rest } = verdict;
  return { ...rest, wwwAuthenticate: headers['WWW-Authenticate'], headers };
}
