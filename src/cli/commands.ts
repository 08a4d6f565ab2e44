/**
 * The command table and the one place where errors become a line on standard error and an
 * exit code.
 *
 * @module
 */
import { inspectHelp, runInspect } from './inspect.js';
import { CliError, EXIT, oneLine, usageError, type CliContext } from './io.js';
import { REVOKE_HELP, runRevoke } from './revoke.js';
import { REVOCATIONS_HELP, runRevocations } from './revocations.js';
import { TOKEN_HELP, runToken } from './token.js';

/** `--help` of the CLI itself. */
export const MAIN_HELP = `Usage: express-m2m <command> [options]

Commands:
  inspect <token | ->                   why requireM2M accepts or refuses a token
  token                                 get an access token (client credentials)
  revoke client|token|key <id>          add to the Redis revocation list of a fleet
  revocations list|remove               show or remove revocations in Redis

Run express-m2m <command> --help for a command's options.
Exit status: 0 success (token accepted), 1 refused or failed, 2 usage or configuration error.`;

type Command = (context: CliContext) => Promise<number>;

const COMMANDS: Readonly<Record<string, { run: Command; help: string }>> = {
  inspect: { run: runInspect, help: inspectHelp },
  token: { run: runToken, help: TOKEN_HELP },
  revoke: { run: runRevoke, help: REVOKE_HELP },
  revocations: { run: runRevocations, help: REVOCATIONS_HELP },
};

/**
 * Runs the command named by `context.argv[0]` and resolves with the exit code; every error
 * is reported as one line on `context.err`.
 *
 * @example
 * const code = await runCommand({ ...context, argv: ['inspect', '-', '--json'] });
 */
export async function runCommand(context: CliContext): Promise<number> {
  const [name, ...argv] = context.argv;
  try {
    if (name === undefined) {
      // No command is a usage error: the help goes to standard error, as any other.
      context.err(MAIN_HELP);
      return EXIT.usage;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? argv[0] : undefined;
      context.out(
        topic !== undefined && Object.hasOwn(COMMANDS, topic) ? (COMMANDS[topic]?.help ?? MAIN_HELP) : MAIN_HELP,
      );
      return EXIT.ok;
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (command === undefined) {
      throw usageError(`unknown command ${JSON.stringify(name)} (see: express-m2m --help)`);
    }
    return await command.run({ ...context, argv });
  } catch (error) {
    context.err(`express-m2m: ${oneLine(error)}`);
    return error instanceof CliError ? error.exitCode : EXIT.failed;
  }
}
