/**
 * Argument parsing on node:util `parseArgs`, with its errors turned into one short line that
 * names the option and exits 2.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './io.js';

/** The option table of a command, as `parseArgs` takes it. */
export type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** Parsed options and positionals. */
export interface ParsedArgs {
  /** Strings, booleans, and string arrays for options declared `multiple`. */
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * Parses `argv` strictly: unknown options, missing values and values given to flags are usage
 * errors (exit 2) that name the option and the command's `--help`.
 *
 * @example
 * const { values, positionals } = parseCommandArgs(['--json', 'abc'], { json: { type: 'boolean' } }, 'inspect');
 */
export function parseCommandArgs(argv: readonly string[], options: OptionTable, command: string): ParsedArgs {
  try {
    const parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
  } catch (error) {
    throw usageError(`${describeParseError(error)} (see: express-m2m ${command} --help)`);
  }
}

function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = typeof message === 'string' ? message : '';
  const option = /'(-{1,2}[^ '<]+)/.exec(text)?.[1] ?? 'an option';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return text.includes('does not take an argument')
        ? `option ${option} takes no value`
        : `option ${option} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return 'unexpected argument';
    default:
      return 'invalid arguments';
  }
}

/** The string value of an option, or `undefined`; `''` counts as absent. */
export function stringOption(values: ParsedArgs['values'], name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The values of an option declared `multiple`, without empty ones; `undefined` when none. */
export function listOption(values: ParsedArgs['values'], name: string): string[] | undefined {
  const value = values[name];
  const list = (Array.isArray(value) ? value : typeof value === 'string' ? [value] : []).filter((item) => item !== '');
  return list.length > 0 ? list : undefined;
}

/** An environment variable, or `undefined` when unset or empty (as the library reads them). */
export function envOption(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * A whole number of epoch seconds given to `--name`, or `undefined` when absent.
 *
 * @throws a usage error for anything else.
 */
export function epochOption(values: ParsedArgs['values'], name: string): number | undefined {
  const value = stringOption(values, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,12}$/.test(value)) throw usageError(`--${name} must be epoch seconds (a whole number)`);
  return Number(value);
}

/**
 * Exactly `count` positionals, else a usage error naming what is missing or extra.
 *
 * @param names - what each positional is, for the message (`<clientId>`).
 */
export function expectPositionals(positionals: readonly string[], names: readonly string[], command: string): string[] {
  if (positionals.length < names.length) {
    throw usageError(`missing ${names[positionals.length]} (see: express-m2m ${command} --help)`);
  }
  if (positionals.length > names.length) {
    throw usageError(`unexpected argument after ${names.at(-1) ?? command} (see: express-m2m ${command} --help)`);
  }
  return [...positionals];
}
