/**
 * `express-m2m revoke client|token|key <id>`: writes a revocation to the fleet's Redis list;
 * every API instance subscribed to it refuses the matching tokens within milliseconds.
 *
 * @module
 */
import type { RevocationEntry } from '../stores/revocation-entry.js';
import { epochOption, expectPositionals, parseCommandArgs, stringOption, type OptionTable } from './args.js';
import { CliError, EXIT, oneLine, usageError, type CliContext } from './io.js';
import { REDIS_HELP, REDIS_OPTIONS, openRevocationList } from './redis-connection.js';
import { describeEntry } from './revocation-format.js';

/** `--help` of `revoke`. */
export const REVOKE_HELP = `Usage: express-m2m revoke client <clientId> [--issued-before <epoch>] [options]
       express-m2m revoke token <jti> [options]
       express-m2m revoke key <kid> [options]

Adds an entry to the revocation list kept in Redis: every API instance using
createRedisRevocationList() with the same Redis and prefix refuses the matching tokens
(401 invalid_token, "token revoked") within milliseconds.

  client   tokens of this client issued before --issued-before (default: the next whole
           second, so every token issued so far; the client's new tokens pass again)
  token    the one token with this jti (give --expires-at <its exp> to keep the list small)
  key      every token verified with the key of this kid

Options:
${REDIS_HELP}
  --issuer <iss>            match only tokens of this issuer
  --issued-before <epoch>   (client) refuse tokens with iat before this, in epoch seconds
  --expires-at <epoch>      drop the entry at this time, in epoch seconds (default: in 30 days)
  --json                    print the entry as JSON
  -h, --help                show this help

Exit status: 0 written, 1 Redis unreachable, 2 usage error.`;

const OPTIONS: OptionTable = {
  ...REDIS_OPTIONS,
  issuer: { type: 'string' },
  'issued-before': { type: 'string' },
  'expires-at': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const SUBJECTS = { client: '<clientId>', token: '<jti>', key: '<kid>' } as const;

/** Runs `revoke`; resolves with the exit code. */
export async function runRevoke(context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(context.argv, OPTIONS, 'revoke');
  if (values.help === true) {
    context.out(REVOKE_HELP);
    return EXIT.ok;
  }
  const type = positionals[0];
  if (type === undefined || !Object.hasOwn(SUBJECTS, type)) {
    throw usageError(
      `${type === undefined ? 'missing' : 'unknown'} revocation type: client, token or key (see: express-m2m revoke --help)`,
    );
  }
  const kind = type as keyof typeof SUBJECTS;
  const [subject] = expectPositionals(positionals.slice(1), [SUBJECTS[kind]], 'revoke');
  const issuedBefore = epochOption(values, 'issued-before');
  if (issuedBefore !== undefined && kind !== 'client')
    throw usageError('--issued-before applies to revoke client only');
  const expiresAt = epochOption(values, 'expires-at');
  const issuer = stringOption(values, 'issuer');
  const options = {
    ...(issuer !== undefined && { issuer }),
    ...(expiresAt !== undefined && { expiresAt }),
    ...(issuedBefore !== undefined && { issuedBefore }),
  };

  const open = await openRevocationList(values, context.env);
  let entry: RevocationEntry;
  try {
    const { list } = open;
    entry =
      kind === 'client'
        ? await list.revokeClient(subject as string, options)
        : kind === 'token'
          ? await list.revokeToken(subject as string, options)
          : await list.revokeKey(subject as string, options);
  } catch (error) {
    // The list's own validation (an expiry in the past, an id too long) is a usage error.
    throw new CliError(oneLine(error), error instanceof TypeError ? EXIT.usage : EXIT.failed);
  } finally {
    await open.close();
  }
  context.out(
    values.json === true
      ? JSON.stringify(entry, null, 2)
      : `revoked ${describeEntry(entry, context.now())} in ${open.where}`,
  );
  return EXIT.ok;
}
