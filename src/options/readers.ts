/**
 * Option readers shared by every factory of the package. Each reader checks one value and,
 * when it is wrong, records a problem instead of throwing, so a configuration with several
 * mistakes is reported in one message rather than one per attempt.
 *
 * @module
 */
import { httpUrlProblem } from '../http-url.js';

const PREFIX = 'express-m2m:';

/** Human form of an upper bound in seconds (`86400` → `86400 seconds (1 day)`). */
function describeSeconds(seconds: number): string {
  const units: [number, string][] = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, unit] of units) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${seconds} seconds (${count} ${unit}${count === 1 ? '' : 's'})`;
    }
  }
  return `${seconds} seconds`;
}

/**
 * A `TypeError` for one bad option of `factory`, worded as {@link OptionProblems} words it
 * (`express-m2m: <factory>: <problem>`). For shared validators that stop at their first
 * problem; {@link OptionProblems.collect} turns it back into a recorded problem.
 *
 * @example
 * ```ts
 * throw optionError('createTokenClient', '`clientSecret` is required for client_secret_post');
 * ```
 */
export function optionError(factory: string, problem: string): TypeError {
  return new TypeError(`${PREFIX} ${factory}: ${problem}`);
}

/**
 * Collects the problems of one configuration and throws them together.
 *
 * @example
 * const problems = new OptionProblems('requireM2M');
 * const timeout = problems.seconds(options.timeout, 'timeout', { fallback: 5, max: 300 });
 * problems.throwIfAny();
 */
export class OptionProblems {
  private readonly found: string[] = [];

  /** @param factory - the function being configured, named in the message (`requireM2M`, `createTokenClient`). */
  constructor(private readonly factory: string) {}

  /** Records a problem; the sentence names the option (and its environment variable). */
  add(problem: string): void {
    this.found.push(problem);
  }

  /** True when nothing was recorded. */
  get ok(): boolean {
    return this.found.length === 0;
  }

  /** @throws TypeError listing every recorded problem, when there is any. */
  throwIfAny(): void {
    if (this.found.length === 0) return;
    if (this.found.length === 1) throw new TypeError(`${PREFIX} ${this.factory}: ${this.found[0]}`);
    throw new TypeError(
      `${PREFIX} ${this.factory}: ${this.found.length} configuration problems:\n${this.found.map((p) => `  - ${p}`).join('\n')}`,
    );
  }

  /** A string option; `''` counts as absent (an empty environment variable). */
  string(value: unknown, name: string): string | undefined {
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') {
      this.add(`\`${name}\` must be a string`);
      return undefined;
    }
    return value;
  }

  /**
   * A string option set in code, where `''` is a mistake to report rather than an unset
   * environment variable (an empty `audience` would silently ask for the default one).
   */
  nonEmptyString(value: unknown, name: string): string | undefined {
    if (value === '') {
      this.add(`\`${name}\` must be a non-empty string`);
      return undefined;
    }
    return this.string(value, name);
  }

  /** An absolute http(s) URL without credentials; a bare host gets a hint. */
  url(value: unknown, name: string, envName?: string): string | undefined {
    const text = this.string(value, name);
    if (text === undefined) return undefined;
    const problem = httpUrlProblem(text);
    if (problem === undefined) return text;
    const label = envName === undefined ? `\`${name}\`` : `\`${name}\` (${envName})`;
    const hint = /^[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?(?:\/|$)/i.test(text) ? ` (did you mean https://${text}?)` : '';
    this.add(`${label} ${problem}${hint}`);
    return undefined;
  }

  /** A non-empty string, or a non-empty array of non-empty strings. */
  list(value: unknown, name: string): readonly string[] | undefined {
    if (value === undefined || value === '') return undefined;
    const values = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string' && v !== '')) {
      this.add(`\`${name}\` must be a non-empty string or array of non-empty strings`);
      return undefined;
    }
    return Object.freeze([...new Set(values as string[])]);
  }

  /**
   * A string or an array of strings, where an empty array (or string) means none — unlike
   * {@link OptionProblems.list}, whose options must name at least one value.
   */
  strings(value: unknown, name: string): readonly string[] {
    if (value === undefined) return [];
    const values = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) {
      this.add(`\`${name}\` must be a string or an array of strings`);
      return [];
    }
    return Object.freeze([...(values as string[])]);
  }

  /**
   * A duration in seconds, at most `max`. A value over the bound is reported with a reminder
   * that durations are seconds (a millisecond value such as 600000 is the usual mistake).
   */
  seconds(value: unknown, name: string, bounds: { fallback: number; max: number; positive?: boolean }): number {
    if (value === undefined) return bounds.fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      this.add(`\`${name}\` must be a non-negative number of seconds`);
      return bounds.fallback;
    }
    if (bounds.positive === true && value === 0) {
      this.add(`\`${name}\` must be greater than 0`);
      return bounds.fallback;
    }
    if (value > bounds.max) {
      this.add(
        `\`${name}\` must be at most ${describeSeconds(bounds.max)}; durations are in seconds, not milliseconds`,
      );
      return bounds.fallback;
    }
    return value;
  }

  /** A positive integer (a count or a size). */
  integer(value: unknown, name: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      this.add(`\`${name}\` must be a positive integer`);
      return fallback;
    }
    return value;
  }

  /** An integer from `min` to `max` (a count that may be 0, such as retries). */
  integerBetween(value: unknown, name: string, bounds: { fallback: number; min: number; max: number }): number {
    if (value === undefined) return bounds.fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < bounds.min || value > bounds.max) {
      this.add(`\`${name}\` must be an integer from ${bounds.min} to ${bounds.max}`);
      return bounds.fallback;
    }
    return value;
  }

  /** A boolean. */
  boolean(value: unknown, name: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.add(`\`${name}\` must be a boolean`);
      return fallback;
    }
    return value;
  }

  /** A function. */
  function<F>(value: unknown, name: string): F | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'function') {
      this.add(`\`${name}\` must be a function`);
      return undefined;
    }
    return value as F;
  }

  /** One of a fixed set of strings. */
  oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.add(`\`${name}\` must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
      return fallback;
    }
    return value as T;
  }

  /** A plain object (or absent); anything else is recorded. */
  object(value: unknown, name: string): Record<string, unknown> | undefined {
    if (value === undefined) return undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.add(`\`${name}\` must be an object`);
      return undefined;
    }
    return value as Record<string, unknown>;
  }

  /**
   * Runs a shared validator that throws {@link optionError} for this factory (client
   * authentication, a private key) and records its problem instead, so that it is reported
   * together with the others. Any other error is rethrown.
   *
   * @returns what `check` returned, or `undefined` when it reported a problem.
   */
  collect<T>(check: () => T): T | undefined {
    try {
      return check();
    } catch (error) {
      const lead = `${PREFIX} ${this.factory}: `;
      if (!(error instanceof TypeError) || !error.message.startsWith(lead)) throw error;
      this.add(error.message.slice(lead.length));
      return undefined;
    }
  }

  /** Records every own key of `value` that is not in `known`, with a replacement when `hints` has one. */
  unknownKeys(
    value: Record<string, unknown>,
    known: readonly string[],
    prefix = '',
    hints: Readonly<Record<string, string>> = {},
  ): void {
    for (const key of Object.keys(value)) {
      if (known.includes(key) || value[key] === undefined) continue;
      const hint = Object.hasOwn(hints, key) ? hints[key] : undefined;
      this.add(hint ?? `unknown option \`${prefix}${key}\``);
    }
  }
}
