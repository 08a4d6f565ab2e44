/**
 * The shapes of Express's request, response and `next` that this package reads, declared
 * structurally so the type declarations need neither `express` nor `@types/express`: a
 * service that only calls APIs installs no Express, and its `tsc` still passes. Express's own
 * types are assignable to these, so `app.use(requireM2M())` type-checks with @types/express 4
 * and 5.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An Express request as this package reads it (`req.auth` comes from the global `Express.Request` augmentation). */
export type M2MRequest = IncomingMessage &
  Express.Request & {
    /** Parsed query string. */
    query?: unknown;
    /** Parsed body (with `express.urlencoded()`). */
    body?: unknown;
    /** The URL as received, before any router stripped a mount path. */
    originalUrl?: string;
    /** `http` or `https`, under the app's `trust proxy` setting. */
    protocol?: string;
    /** The Express application (for its `trust proxy` setting). */
    app?: { get(setting: string): unknown };
  };

/** The response, for the headers a successful request may carry (`DPoP-Nonce`). */
export type M2MResponse = ServerResponse;

/** Express's `next`. */
export type M2MNext = (error?: unknown) => void;

/** A middleware of this package. */
export type M2MMiddleware = (req: M2MRequest, res: M2MResponse, next: M2MNext) => void;

/** An error-handling middleware of this package. */
export type M2MErrorMiddleware = (error: unknown, req: M2MRequest, res: M2MResponse, next: M2MNext) => void;
