import diagnostics from 'node:diagnostics_channel';
import { VERIFY_CHANNEL, type VerifyTraceContext } from '../../../src/index.js';

/** Called when a token verification starts, and once when it is over (accepted, or refused with `reason`). */
export interface VerificationObserver {
  start(context: VerifyTraceContext): void;
  finish(context: VerifyTraceContext): void;
}

/**
 * Subscribes to the `express-m2m:verify` tracing channel; returns the function that unsubscribes.
 * A verification is over at `asyncEnd`, or at `end` when it threw at once (`error` is set then).
 */
export function observeVerifications(observer: VerificationObserver): () => void {
  const channel = diagnostics.tracingChannel<unknown, VerifyTraceContext>(VERIFY_CHANNEL);
  const handlers = {
    start: (context: VerifyTraceContext) => observer.start(context),
    end: (context: VerifyTraceContext) => {
      if (context.error !== undefined) observer.finish(context);
    },
    asyncStart: () => undefined,
    asyncEnd: (context: VerifyTraceContext) => observer.finish(context),
    error: () => undefined,
  };
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}
