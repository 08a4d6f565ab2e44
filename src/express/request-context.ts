/**
 * What the verifier may need to know about an Express request — method, absolute URL, scheme,
 * DPoP proof, client certificate — read lazily, so a plain bearer request pays for none of it.
 *
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { VerificationRequest } from '../auth.js';
import { requestUrl } from '../binding/htu.js';
import type { ResolvedOptions } from '../options/resolve.js';
import type { M2MRequest } from './types.js';

/** Every value of a header, counting repeats (Node keeps only the first of some in `req.headers`). */
export function headerValues(req: M2MRequest, name: string): string | string[] | undefined {
  const raw = req.rawHeaders;
  let values: string | string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (isHeader(raw[i] as string, name)) values = withValue(values, raw[i + 1] as string);
  }
  return values;
}

/** What the token checks read from the headers: the `Authorization` value(s), and the `DPoP` value(s) when asked. */
export interface CredentialHeaders {
  authorization: string | string[] | undefined;
  dpop: string | string[] | undefined;
}

/**
 * The `Authorization` and `DPoP` values of a request in one pass over `req.rawHeaders`, each
 * with its repeats. Express sets the prototype of every request, so V8 cannot cache where a
 * property of `req` lives and every read of one is a lookup: a request with a cached token
 * reads only this one before `req.auth` is set.
 */
export function credentialHeaders(req: M2MRequest, readDPoP: boolean): CredentialHeaders {
  const raw = req.rawHeaders;
  const found: CredentialHeaders = { authorization: undefined, dpop: undefined };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (isHeader(name, 'authorization')) found.authorization = withValue(found.authorization, raw[i + 1] as string);
    else if (readDPoP && isHeader(name, 'dpop')) found.dpop = withValue(found.dpop, raw[i + 1] as string);
  }
  return found;
}

/** The values of a header so far, with one more. */
function withValue(values: string | string[] | undefined, value: string): string | string[] {
  return values === undefined ? value : typeof values === 'string' ? [values, value] : [...values, value];
}

function isHeader(raw: string, name: string): boolean {
  return raw.length === name.length && raw.toLowerCase() === name;
}

/**
 * The origin the client addressed: `dpop.origin` when configured, else the protocol and host
 * as Express resolves them under its `trust proxy` setting (`X-Forwarded-Host` only from a
 * trusted proxy, the first of a list). Several `Host` headers give no origin.
 */
function externalOrigin(req: M2MRequest, configured: string | undefined): string | undefined {
  if (configured !== undefined) return configured;
  const trust = req.app?.get('trust proxy fn') as ((address: string | undefined, hop: number) => boolean) | undefined;
  let host = req.headers['x-forwarded-host'];
  if (typeof host !== 'string' || host === '' || trust === undefined || !trust(req.socket.remoteAddress, 0)) {
    const hosts = headerValues(req, 'host');
    if (typeof hosts !== 'string') return undefined;
    host = hosts;
  } else if (host.includes(',')) {
    host = host.slice(0, host.indexOf(',')).trimEnd();
  }
  const protocol = req.protocol ?? ((req.socket as TLSSocket).encrypted === true ? 'https' : 'http');
  return `${protocol}://${host}`;
}

/** The verifier's view of one Express request. */
export class RequestContext implements VerificationRequest {
  responseHeaders?: Record<string, string>;
  private resolvedUrl: string | undefined;

  /**
   * @param dpopProof - the request's `DPoP` value(s), read with {@link credentialHeaders}
   *   (undefined when DPoP is off).
   */
  constructor(
    private readonly req: M2MRequest,
    readonly scheme: 'Bearer' | 'DPoP',
    private readonly options: ResolvedOptions,
    readonly dpopProof: string | readonly string[] | undefined,
  ) {}

  /** The request method (read when a proof is checked: a bearer request never needs it). */
  get method(): string {
    return this.req.method ?? 'GET';
  }

  /** The normalised absolute URL, or `''` when the request's origin is not acceptable (the proof then fails). */
  get url(): string {
    if (this.resolvedUrl === undefined) {
      const origin = externalOrigin(this.req, this.options.dpop.origin);
      const target = this.req.originalUrl ?? this.req.url ?? '/';
      this.resolvedUrl = (origin === undefined ? undefined : requestUrl(origin, target)) ?? '';
    }
    return this.resolvedUrl;
  }

  /** The client certificate: `mtls.getCertificate(req)`, else the TLS peer certificate (whether or not a CA vouched for it). */
  get certificate(): string | Buffer | X509Certificate | undefined {
    const read = this.options.mtls.getCertificate;
    if (read !== undefined) {
      try {
        return read(this.req);
      } catch {
        return undefined;
      }
    }
    const socket = this.req.socket as TLSSocket;
    return typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
  }
}
