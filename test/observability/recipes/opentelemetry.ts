import { SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { VerifyTraceContext } from '../../../src/index.js';
import { observeVerifications } from './verifications.js';

/**
 * One OpenTelemetry span per token verification, child of the active span (the HTTP request's),
 * with the client, the issuer, whether the token cache answered, and the refusal reason.
 * Returns the function that unsubscribes.
 */
export function traceVerifications(tracer: Tracer = trace.getTracer('express-m2m')): () => void {
  const spans = new WeakMap<VerifyTraceContext, Span>();
  return observeVerifications({
    start(context) {
      spans.set(context, tracer.startSpan('express-m2m verify'));
    },
    finish(context) {
      const span = spans.get(context);
      if (span === undefined) return;
      spans.delete(context);
      span.setAttribute('express_m2m.cached', context.cached === true);
      if (context.clientId !== undefined) span.setAttribute('express_m2m.client_id', context.clientId);
      if (context.issuer !== undefined) span.setAttribute('express_m2m.issuer', context.issuer);
      if (context.reason !== undefined) {
        span.setAttribute('express_m2m.reason', context.reason);
        span.setStatus({ code: SpanStatusCode.ERROR, message: context.reason });
      }
      span.end();
    },
  });
}
