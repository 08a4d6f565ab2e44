/**
 * What every command is given: its arguments, the environment and the output streams, plus
 * the one error type that ends a command with a chosen exit code and a single line.
 *
 * @module
 */

/** Exit codes: 0 success (or token accepted), 1 refused or failed, 2 usage or configuration error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** What a command runs with; tests and `main` build it from the process. */
export interface CliContext {
  /** The command's own arguments (after the command name). */
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadableStream;
  /** Writes one line (a newline is added) to standard output. */
  out(line: string): void;
  /** Writes one line (a newline is added) to standard error. */
  err(line: string): void;
  /** The clock, epoch milliseconds. */
  now(): number;
}

/**
 * Ends a command with one line on standard error and `exitCode`. The message must never
 * contain a token, a secret or a stack.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage or configuration error (exit 2). */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}

/**
 * One line for any error: the first line of its message, control characters replaced, so a
 * multi-line library message or a hostile server's text cannot spread over the terminal.
 */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/\n\s*-\s*/g, '; ')
    .replace(/[\r\n]+/g, ' ')
    .replace(CONTROL, '?')
    .trim();
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/g;
