/**
 * `express-m2m inspect <token|->`: why would `requireM2M` accept or refuse this token?
 *
 * @module
 */
import type { KeySetEvent } from '../keys/events.js';
import type { VerifierOptions } from '../options/types.js';
import { resolveOptions } from '../options/resolve.js';
import { Verifier } from '../verifier.js';
import { envOption, listOption, parseCommandArgs, stringOption, type OptionTable, type ParsedArgs } from './args.js';
import { decodeToken, diagnose } from './diagnose.js';
import { formatJson, formatReport } from './inspect-format.js';
import { EXIT, oneLine, usageError, type CliContext } from './io.js';
import { readToken } from './read-token.js';

/** `--help` of `inspect`. */
export const inspectHelp = `Usage: express-m2m inspect <token | -> [options]

Decodes an access token, runs every check requireM2M runs, and prints the status and
WWW-Authenticate header it would answer. Pass - to read the token from standard input.
The token and its signature are never printed.

Options (each falls back to the environment variable in brackets):
  --issuer-base-url <url>   tenant URL, for discovery             [ISSUER_BASE_URL]
  --issuer <iss>            exact expected iss                    [ISSUER]
  --jwks-uri <url>          key set URL (with --issuer)           [JWKS_URI]
  --audience <aud>          accepted audience (repeatable)        [AUDIENCE]
  --secret-env <NAME>       read an HS256/384/512 secret from the environment variable NAME
  --strict                  apply the RFC 9068 profile (typ at+jwt, required claims)
  --json                    print one JSON object
  -h, --help                show this help

Exit status: 0 accepted, 1 refused, 2 usage or configuration error (also when no issuer or
audience is configured: the token is then decoded and shown, but not verified).`;

const OPTIONS: OptionTable = {
  'issuer-base-url': { type: 'string' },
  issuer: { type: 'string' },
  'jwks-uri': { type: 'string' },
  audience: { type: 'string', multiple: true },
  'secret-env': { type: 'string' },
  strict: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Runs `inspect`; resolves with the exit code. */
export async function runInspect(context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(context.argv, OPTIONS, 'inspect');
  if (values.help === true) {
    context.out(inspectHelp);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    throw usageError(
      `${positionals.length === 0 ? 'missing <token> (or - for standard input)' : 'give exactly one token'} (see: express-m2m inspect --help)`,
    );
  }
  const token = await readToken(positionals[0] as string, context.stdin);
  const now = Math.floor(context.now() / 1000);
  const json = values.json === true;
  const strict = values.strict === true;
  const decoded = decodeToken(token);

  // Key-set failures are reported in the verdict's cause line rather than as process warnings.
  const keyFailures: string[] = [];
  const onEvent = (event: KeySetEvent) => {
    if (event.type === 'fetch_failed') keyFailures.push(event.error.message);
  };
  let verifier: Verifier;
  try {
    const options = { ...verifierOptions(values, context.env, strict), jwks: { onEvent } };
    verifier = new Verifier(resolveOptions(options, {}, 'inspect'), context.now);
  } catch (error) {
    const unchecked = oneLine(error).replace(/^express-m2m: inspect: /, '');
    context.out(json ? formatJson(decoded, { unchecked }) : formatReport(decoded, { unchecked }, now).join('\n'));
    return EXIT.usage;
  }
  const diagnosis = await diagnose(
    token,
    verifier,
    {
      audiences: Array.isArray(verifier.options.issuers)
        ? verifier.options.issuers.flatMap((spec) => spec.audience)
        : [],
      clockTolerance: verifier.options.clockTolerance,
      strict,
      m2mOnly: verifier.options.m2mOnly,
    },
    now,
    () => keyFailures.at(-1),
  );
  context.out(json ? formatJson(diagnosis, diagnosis) : formatReport(diagnosis, diagnosis, now).join('\n'));
  return diagnosis.verdict.accepted ? EXIT.ok : EXIT.failed;
}

/** The verifier's options from the flags, else the environment; the secret only from the variable `--secret-env` names. */
function verifierOptions(values: ParsedArgs['values'], env: NodeJS.ProcessEnv, strict: boolean): VerifierOptions {
  const secretName = stringOption(values, 'secret-env');
  const secret = secretName === undefined ? undefined : envOption(env, secretName);
  if (secretName !== undefined && secret === undefined) {
    throw usageError(`the environment variable ${secretName} (--secret-env) is not set`);
  }
  const options: VerifierOptions = {
    issuerBaseURL: stringOption(values, 'issuer-base-url') ?? envOption(env, 'ISSUER_BASE_URL'),
    issuer: stringOption(values, 'issuer') ?? envOption(env, 'ISSUER'),
    jwksUri: stringOption(values, 'jwks-uri') ?? envOption(env, 'JWKS_URI'),
    audience: listOption(values, 'audience') ?? envOption(env, 'AUDIENCE'),
    secret,
    strict,
    cache: false,
    // One token: the event loop is free, and no thread pool hop is needed.
    offloadSignatures: false,
  };
  if (options.issuerBaseURL === undefined && options.jwksUri === undefined && secret === undefined) {
    throw usageError('no issuer configured (give --issuer-base-url, or --issuer with --jwks-uri or --secret-env)');
  }
  return options;
}
