/**
 * A scriptable RFC 7662 endpoint on 127.0.0.1 for the faults a real authorization server
 * rarely shows (non-JSON, wrong member types, huge or slow answers, redirects), with the
 * requests it received.
 */
import type http from 'node:http';
import { generateKeyPair, SignJWT, exportJWK, type CryptoKey, type JWK } from 'jose';
import { startServer, type StubServer } from '../helpers/servers.js';

export const STUB_ISSUER = 'https://as.example.com/';
export const AUDIENCE = 'https://api.example.com';

/** What the stub received in one introspection request. */
export interface Received {
  params: URLSearchParams;
  headers: http.IncomingHttpHeaders;
}

/** Answers one request; `params` is the parsed form. */
export type Behaviour = (res: http.ServerResponse, params: URLSearchParams) => void;

export interface StubAuthorizationServer {
  server: StubServer;
  endpoint: string;
  /** Public JWK of the key that signs RFC 9701 answers (configure it as the issuer's `publicKey`). */
  publicJwk: JWK;
  received: Received[];
  /** Replaces the answer of later requests. */
  answer(behaviour: Behaviour): void;
  /** Signs an RFC 9701 answer with the issuer's key (or another one). */
  signed(claims: Record<string, unknown>, options?: { foreign?: boolean; typ?: string }): Promise<string>;
  close(): Promise<void>;
}

/** Sends `body` as JSON. */
export function sendJson(res: http.ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An active answer for `clientId`, valid for `lifetime` seconds from `nowMs`. */
export function activeAnswer(
  nowMs: number,
  extra: Record<string, unknown> = {},
  lifetime = 600,
): Record<string, unknown> {
  const now = Math.floor(nowMs / 1000);
  return {
    active: true,
    iss: STUB_ISSUER,
    aud: AUDIENCE,
    client_id: 'worker',
    sub: 'worker',
    scope: 'read:orders',
    iat: now,
    exp: now + lifetime,
    ...extra,
  };
}

export async function startStubAuthorizationServer(): Promise<StubAuthorizationServer> {
  const signing = await generateKeyPair('ES256', { extractable: true });
  const foreign = await generateKeyPair('ES256');
  const publicJwk = { ...(await exportJWK(signing.publicKey)), alg: 'ES256', kid: 'as-1' };
  const received: Received[] = [];
  let behaviour: Behaviour = (res) => sendJson(res, { active: false });
  const server = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      received.push({ params, headers: req.headers });
      behaviour(res, params);
    });
  });
  const sign = (claims: Record<string, unknown>, key: CryptoKey, typ: string): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'as-1', typ })
      .setIssuer(STUB_ISSUER)
      .setAudience('api')
      .setIssuedAt()
      .sign(key);
  return {
    server,
    endpoint: `${server.url}/introspect`,
    publicJwk,
    received,
    answer(next) {
      behaviour = next;
    },
    signed: (claims, options = {}) =>
      sign(
        claims,
        options.foreign === true ? foreign.privateKey : signing.privateKey,
        options.typ ?? 'token-introspection+jwt',
      ),
    close: () => server.close(),
  };
}
