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
  const first = req.headers[name];
  if (first === undefined) return undefined;
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (isHeader(raw[i] as string, name)) count++;
  if (count <= 1) return first as string;
  return raw.filter((_value, i) => i % 2 === 1 && isHeader(raw[i - 1] as string, name));
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
  readonly method: string;
  readonly dpopProof: string | readonly string[] | undefined;
  responseHeaders?: Record<string, string>;
  private resolvedUrl: string | undefined;

  constructor(
    private readonly req: M2MRequest,
    readonly scheme: 'Bearer' | 'DPoP',
    private readonly options: ResolvedOptions,
  ) {
    this.method = req.method ?? 'GET';
    this.dpopProof = options.dpop.mode === 'off' ? undefined : headerValues(req, 'dpop');
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
