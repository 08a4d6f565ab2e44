/**
 * `express-m2m token`: gets an access token with the package's own token client, so what the
 * CLI obtains is exactly what an application would. The client secret comes from
 * `CLIENT_SECRET` only (never from the command line) and is never printed.
 *
 * @module
 */
import { createTokenClient } from '../client/token-client.js';
import { TokenRequestError } from '../client/errors.js';
import type { FetchImplementation, TokenClientOptions } from '../client/options.js';
import { envOption, parseCommandArgs, stringOption, type OptionTable } from './args.js';
import { CliError, EXIT, oneLine, usageError, type CliContext } from './io.js';

/** `--help` of `token`. */
export const TOKEN_HELP = `Usage: express-m2m token [options]

Gets an access token with the client-credentials grant and prints it (nothing else) on
standard output. The client id and secret come from the environment (CLIENT_ID,
CLIENT_SECRET); the secret is never accepted on the command line and never printed.

Options (each falls back to the environment variable in brackets):
  --issuer-base-url <url>   tenant URL; the token endpoint is discovered  [ISSUER_BASE_URL]
  --token-endpoint <url>    the token endpoint itself                     [TOKEN_ENDPOINT]
  --audience <aud>          the API identifier                            [AUDIENCE]
  --scope <scopes>          space-separated scopes to request
  --client-id <id>          the client id                                 [CLIENT_ID]
  --dpop                    get a DPoP-bound token (fresh ES256 key; the token is useless without it)
  --json                    print {access_token, token_type, expires_in, scope}
  -h, --help                show this help

Exit status: 0 token obtained, 1 refused or unreachable, 2 usage or configuration error.`;

const OPTIONS: OptionTable = {
  'issuer-base-url': { type: 'string' },
  'token-endpoint': { type: 'string' },
  audience: { type: 'string' },
  scope: { type: 'string' },
  'client-id': { type: 'string' },
  dpop: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** The members of a token response `--json` prints (besides the token). */
interface TokenResponseFields {
  access_token?: unknown;
  token_type?: unknown;
  expires_in?: unknown;
  scope?: unknown;
}

/** Runs `token`; resolves with the exit code. */
export async function runToken(context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(context.argv, OPTIONS, 'token');
  if (values.help === true) {
    context.out(TOKEN_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw usageError('token takes no arguments (see: express-m2m token --help)');
  const { env } = context;
  const clientId = stringOption(values, 'client-id') ?? envOption(env, 'CLIENT_ID');
  const clientSecret = envOption(env, 'CLIENT_SECRET');
  if (clientId === undefined) throw usageError('no client id: set CLIENT_ID (or --client-id)');
  if (clientSecret === undefined) throw usageError('no client secret: set CLIENT_SECRET');
  const tokenEndpoint = stringOption(values, 'token-endpoint') ?? envOption(env, 'TOKEN_ENDPOINT');
  const issuerBaseURL =
    tokenEndpoint === undefined
      ? (stringOption(values, 'issuer-base-url') ?? envOption(env, 'ISSUER_BASE_URL'))
      : undefined;
  if (tokenEndpoint === undefined && issuerBaseURL === undefined) {
    throw usageError('no authorization server: give --issuer-base-url or --token-endpoint');
  }

  const responses: Promise<TokenResponseFields>[] = [];
  // Keeps a copy of each successful answer, for --json: the client itself returns only the token.
  const fetch: FetchImplementation = async (input, init) => {
    const response = await globalThis.fetch(input, init);
    if (init?.method === 'POST' && response.ok)
      responses.push(
        response
          .clone()
          .json()
          .then((body: unknown) => (typeof body === 'object' && body !== null ? body : {}))
          .catch(() => ({})),
      );
    return response;
  };
  const options: TokenClientOptions = {
    clientId,
    clientSecret,
    ...(tokenEndpoint !== undefined ? { tokenEndpoint } : { issuerBaseURL }),
    audience: stringOption(values, 'audience') ?? envOption(env, 'AUDIENCE'),
    scope: stringOption(values, 'scope'),
    ...(values.dpop === true && { dpop: true as const }),
    fetch,
  };
  let accessToken: string;
  try {
    accessToken = await createTokenClient(options).getToken();
  } catch (error) {
    // The client's errors never contain the secret; removing it again costs nothing.
    const line = oneLine(error)
      .replaceAll(clientSecret, '[redacted]')
      .replace(/^express-m2m: /, '');
    throw new CliError(
      line,
      error instanceof TokenRequestError || !(error instanceof TypeError) ? EXIT.failed : EXIT.usage,
    );
  }
  if (values.json !== true) {
    context.out(accessToken);
    return EXIT.ok;
  }
  const answers = await Promise.all(responses);
  const answer = answers.find((body) => body.access_token === accessToken) ?? {};
  context.out(
    JSON.stringify(
      {
        access_token: accessToken,
        token_type: answer.token_type,
        expires_in: answer.expires_in,
        ...(answer.scope !== undefined && { scope: answer.scope }),
      },
      null,
      2,
    ),
  );
  return EXIT.ok;
}
