import { describe, expect, it } from '@jest/globals';
import { OptionProblems, optionError } from '../../src/options/readers.js';

function messageOf(problems: OptionProblems): string {
  try {
    problems.throwIfAny();
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('OptionProblems readers for options set in code', () => {
  it('nonEmptyString refuses an empty string instead of treating it as absent', () => {
    const problems = new OptionProblems('f');
    expect(problems.nonEmptyString('x', 'a')).toBe('x');
    expect(problems.nonEmptyString(undefined, 'a')).toBeUndefined();
    expect(problems.ok).toBe(true);
    expect(problems.nonEmptyString('', 'a')).toBeUndefined();
    expect(problems.nonEmptyString(1, 'b')).toBeUndefined();
    expect(messageOf(problems)).toBe(
      'express-m2m: f: 2 configuration problems:\n  - `a` must be a non-empty string\n  - `b` must be a string',
    );
  });

  it('strings takes a string, an array of strings, or an empty one as none', () => {
    const problems = new OptionProblems('f');
    expect(problems.strings(undefined, 's')).toEqual([]);
    expect(problems.strings([], 's')).toEqual([]);
    expect(problems.strings('a b', 's')).toEqual(['a b']);
    expect(problems.strings(['a', 'a'], 's')).toEqual(['a', 'a']);
    expect(problems.ok).toBe(true);
    expect(problems.strings(['a', 1], 's')).toEqual([]);
    expect(messageOf(problems)).toBe('express-m2m: f: `s` must be a string or an array of strings');
  });

  it('integerBetween takes the bounds inclusively', () => {
    const problems = new OptionProblems('f');
    const bounds = { fallback: 2, min: 0, max: 10 };
    expect(problems.integerBetween(undefined, 'n', bounds)).toBe(2);
    expect(problems.integerBetween(0, 'n', bounds)).toBe(0);
    expect(problems.integerBetween(10, 'n', bounds)).toBe(10);
    expect(problems.ok).toBe(true);
    for (const bad of [11, -1, 1.5, '3', Number.NaN]) expect(problems.integerBetween(bad, 'n', bounds)).toBe(2);
    expect(messageOf(problems)).toContain('5 configuration problems');
    expect(messageOf(problems)).toContain('`n` must be an integer from 0 to 10');
  });

  it("collect records this factory's option errors and rethrows anything else", () => {
    const problems = new OptionProblems('f');
    expect(problems.collect(() => 42)).toBe(42);
    expect(
      problems.collect(() => {
        throw optionError('f', '`key` is required');
      }),
    ).toBeUndefined();
    expect(messageOf(problems)).toBe('express-m2m: f: `key` is required');
    const bug = new RangeError('a bug, not a configuration problem');
    expect(() =>
      problems.collect(() => {
        throw bug;
      }),
    ).toThrow(bug);
    expect(() =>
      problems.collect(() => {
        throw optionError('other', 'x');
      }),
    ).toThrow('express-m2m: other: x');
  });
});
