/**
 * How revocation entries are shown: one sentence, or a table row.
 *
 * @module
 */
import type { RevocationEntry } from '../stores/revocation-entry.js';
import { show } from './text.js';
import { formatDate, relativeTime } from './time.js';

/** The entry's subject: its client id, jti or kid. */
export function subjectOf(entry: RevocationEntry): string {
  return entry.type === 'client' ? entry.clientId : entry.type === 'token' ? entry.jti : entry.kid;
}

/** `client "billing" (tokens issued before …), issuer "…", until 2026-12-29 … (in 30 d)`. */
export function describeEntry(entry: RevocationEntry, nowMs: number): string {
  const now = nowMs / 1000;
  let text = `${entry.type} ${show(subjectOf(entry))}`;
  if (entry.type === 'client') text += ` (tokens issued before ${formatDate(entry.issuedBefore)})`;
  if (entry.issuer !== undefined) text += `, issuer ${show(entry.issuer)}`;
  return `${text}, until ${formatDate(entry.expiresAt)} (${relativeTime(entry.expiresAt, now)})`;
}

/** The `revocations list` table: a header line and one line per entry. */
export function formatTable(entries: readonly RevocationEntry[], nowMs: number): string[] {
  const now = nowMs / 1000;
  const rows = entries.map((entry) => [
    entry.type,
    show(subjectOf(entry)),
    entry.issuer === undefined ? '*' : show(entry.issuer),
    entry.type === 'client' ? `issued before ${formatDate(entry.issuedBefore)}` : '-',
    `${formatDate(entry.revokedAt)} (${relativeTime(entry.revokedAt, now)})`,
    `${formatDate(entry.expiresAt)} (${relativeTime(entry.expiresAt, now)})`,
  ]);
  const all = [['TYPE', 'SUBJECT', 'ISSUER', 'TOKENS', 'REVOKED', 'EXPIRES'], ...rows];
  const widths = all[0]!.map((_, column) => Math.max(...all.map((row) => (row[column] as string).length)));
  return all.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join('  ')
      .trimEnd(),
  );
}
