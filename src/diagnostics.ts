/**
 * Tracing and events through `node:diagnostics_channel`, for APM agents, OpenTelemetry and
 * metrics: `tracingChannel('express-m2m:verify')` around each verification and the
 * `express-m2m:jwks` channel for key-set events. Nothing is built or published unless someone
 * subscribes, so an unobserved API pays one property read per request.
 *
 * @module
 */
import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { M2MErrorReason } from './reasons.js';

/** The context of one verification, as tracing subscribers see it. */
export interface VerifyTraceContext {
  /** The calling client, once known. */
  clientId?: string;
  /** The verified issuer, once known. */
  issuer?: string;
  /** Why the request was refused, when it was. */
  reason?: M2MErrorReason;
  /** True when the verified-token cache answered. */
  cached?: boolean;
  /** The error (on `error`). */
  error?: unknown;
}

/** Channel name of key-set events. */
export const JWKS_CHANNEL = 'express-m2m:jwks';
/** Name of the verification tracing channel. */
export const VERIFY_CHANNEL = 'express-m2m:verify';

/** Key-set events. */
export const jwksChannel = channel(JWKS_CHANNEL);
/** Verification spans: `start`, `end`, `asyncStart`, `asyncEnd`, `error`. */
export const verifyChannel = tracingChannel<string, VerifyTraceContext>(VERIFY_CHANNEL);

/**
 * Runs one verification inside the `express-m2m:verify` tracing channel: `start`/`end` around
 * the synchronous part, then `asyncStart`/`asyncEnd` when it settles — at once for a cached
 * token, later when it waited — and `error` with the refusal's `reason`. Called only when someone
 * subscribes.
 */
export function traceVerification<T>(run: (context: VerifyTraceContext) => T | Promise<T>): T | Promise<T> {
  const context: VerifyTraceContext = { cached: false };
  const fail = (error: unknown): never => {
    const reason = (error as { reason?: unknown } | null)?.reason;
    if (typeof reason === 'string') context.reason = reason as M2MErrorReason;
    context.error = error;
    verifyChannel.error.publish(context);
    throw error;
  };
  verifyChannel.start.publish(context);
  let result: T | Promise<T>;
  try {
    result = run(context);
  } catch (error) {
    try {
      return fail(error);
    } finally {
      verifyChannel.end.publish(context);
    }
  }
  verifyChannel.end.publish(context);
  if (!(result instanceof Promise)) {
    // Answered at once: still close with asyncStart/asyncEnd, so every verification that did not
    // throw ends with asyncEnd and a subscriber need not guess at `end` whether a wait follows.
    verifyChannel.asyncStart.publish(context);
    verifyChannel.asyncEnd.publish(context);
    return result;
  }
  return result.then(
    (value) => {
      verifyChannel.asyncStart.publish(context);
      verifyChannel.asyncEnd.publish(context);
      return value;
    },
    (error: unknown) => {
      verifyChannel.asyncStart.publish(context);
      try {
        return fail(error);
      } finally {
        verifyChannel.asyncEnd.publish(context);
      }
    },
  );
}
