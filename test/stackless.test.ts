import { describe, expect, it } from '@jest/globals';
import { errors } from 'jose';
import { ProofFailure } from '../src/binding/dpop-proof.js';
import { InsufficientScopeError, InvalidTokenError, ServiceUnavailableError } from '../src/errors.js';
import { Refusal } from '../src/refusal.js';
import { pauseStackTraces, StacklessError, withoutStack } from '../src/stackless.js';

/** True when `stack` lists at least one frame after its first line. */
const hasFrames = (error: Error): boolean => /\n\s+at /.test(String(error.stack));

describe('withoutStack', () => {
  it('builds errors whose stack is their first line only, and restores the limit', () => {
    const before = Error.stackTraceLimit;
    const error = withoutStack(() => new errors.JWSSignatureVerificationFailed());
    expect(error.stack).toBe('JWSSignatureVerificationFailed: signature verification failed');
    expect(Error.stackTraceLimit).toBe(before);
    expect(hasFrames(new Error('after'))).toBe(true);
  });

  it('restores the limit when the builder throws', () => {
    const before = Error.stackTraceLimit;
    expect(() =>
      withoutStack(() => {
        throw new TypeError('boom');
      }),
    ).toThrow('boom');
    expect(Error.stackTraceLimit).toBe(before);
  });

  it('pauseStackTraces resumes the previous limit, whatever it was', () => {
    const before = Error.stackTraceLimit;
    Error.stackTraceLimit = 3;
    try {
      const resume = pauseStackTraces();
      expect(Error.stackTraceLimit).toBe(0);
      resume();
      expect(Error.stackTraceLimit).toBe(3);
    } finally {
      Error.stackTraceLimit = before;
    }
  });
});

describe('StacklessError', () => {
  it('gives its subclasses a one-line stack, keeps the cause, and restores the limit', () => {
    class Expected extends StacklessError {}
    const before = Error.stackTraceLimit;
    const cause = new Error('underlying');
    const error = new Expected('refused', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.stack).toBe('Error: refused');
    expect(error.cause).toBe(cause);
    expect(Error.stackTraceLimit).toBe(before);
  });
});

describe('errors of expected refusals carry no stack frames; a server error keeps them', () => {
  it.each<[string, () => Error]>([
    ['Refusal', () => new Refusal('invalid_signature', 'invalid signature')],
    ['ProofFailure', () => new ProofFailure('DPoP proof signature invalid')],
    ['InvalidTokenError (401)', () => new InvalidTokenError('invalid signature')],
    ['InsufficientScopeError (403)', () => new InsufficientScopeError('missing required scope')],
  ])('%s', (_name, build) => {
    const before = Error.stackTraceLimit;
    const error = build();
    expect(hasFrames(error)).toBe(false);
    expect(String(error.stack).split('\n')).toHaveLength(1);
    expect(Error.stackTraceLimit).toBe(before);
  });

  it('ServiceUnavailableError (503) keeps its frames: it may be an operator problem', () => {
    expect(hasFrames(new ServiceUnavailableError('signing keys are temporarily unavailable'))).toBe(true);
  });
});
