/**
 * `express-m2m revocations list|remove`: what the fleet's Redis revocation list holds, and
 * taking an entry back out (for every instance).
 *
 * @module
 */
import type { RevocationEntryIdentity } from '../stores/revocation-entry.js';
import { expectPositionals, parseCommandArgs, stringOption, type OptionTable, type ParsedArgs } from './args.js';
import { CliError, EXIT, oneLine, usageError, type CliContext } from './io.js';
import { REDIS_HELP, REDIS_OPTIONS, openRevocationList } from './redis-connection.js';
import { formatTable } from './revocation-format.js';

/** `--help` of `revocations`. */
export const REVOCATIONS_HELP = `Usage: express-m2m revocations list [options]
       express-m2m revocations remove client|token|key <id> [--issuer <iss>] [options]

list     shows the unexpired entries of the revocation list kept in Redis
remove   removes one entry (as revoke made it: same type, id and --issuer) for every instance

Options:
${REDIS_HELP}
  --issuer <iss>            (remove) the entry's issuer, when it was revoked with one
  --json                    (list) print the entries as a JSON array
  -h, --help                show this help

Exit status: 0 done, 1 Redis unreachable or (remove) no such entry, 2 usage error.`;

const OPTIONS: OptionTable = {
  ...REDIS_OPTIONS,
  issuer: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const SUBJECT_FIELDS = { client: 'clientId', token: 'jti', key: 'kid' } as const;

/** Runs `revocations`; resolves with the exit code. */
export async function runRevocations(context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(context.argv, OPTIONS, 'revocations');
  if (values.help === true) {
    context.out(REVOCATIONS_HELP);
    return EXIT.ok;
  }
  const [action, ...rest] = positionals;
  if (action === 'list') {
    expectPositionals(rest, [], 'revocations');
    return list(context, values);
  }
  if (action === 'remove') return remove(context, values, rest);
  throw usageError(
    `${action === undefined ? 'missing' : 'unknown'} action: list or remove (see: express-m2m revocations --help)`,
  );
}

async function list(context: CliContext, values: ParsedArgs['values']): Promise<number> {
  const open = await openRevocationList(values, context.env);
  const entries = open.list.list();
  await open.close();
  if (values.json === true) context.out(JSON.stringify(entries, null, 2));
  else if (entries.length === 0) context.out(`no revocations in ${open.where}`);
  else for (const line of formatTable(entries, context.now())) context.out(line);
  return EXIT.ok;
}

async function remove(context: CliContext, values: ParsedArgs['values'], positionals: string[]): Promise<number> {
  const type = positionals[0];
  if (type === undefined || !Object.hasOwn(SUBJECT_FIELDS, type)) {
    throw usageError('revocations remove needs a type: client, token or key (see: express-m2m revocations --help)');
  }
  const kind = type as keyof typeof SUBJECT_FIELDS;
  const [subject] = expectPositionals(positionals.slice(1), ['<id>'], 'revocations');
  const issuer = stringOption(values, 'issuer');
  const identity = {
    type: kind,
    [SUBJECT_FIELDS[kind]]: subject,
    ...(issuer !== undefined && { issuer }),
  } as RevocationEntryIdentity;
  const open = await openRevocationList(values, context.env);
  let removed: boolean;
  try {
    removed = await open.list.remove(identity);
  } catch (error) {
    throw new CliError(oneLine(error), error instanceof TypeError ? EXIT.usage : EXIT.failed);
  } finally {
    await open.close();
  }
  if (!removed) throw new CliError(`no ${kind} revocation for that id${issuer === undefined ? '' : ' and issuer'}`);
  context.out(`removed the ${kind} revocation`);
  return EXIT.ok;
}
