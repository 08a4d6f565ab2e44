/**
 * `protectedResourceMetadata`: RFC 9728 protected resource metadata, so that a client meeting
 * the API for the first time learns which authorization servers it trusts and which tokens it
 * takes, and every 401 challenge of the `requireM2M` it describes points at the document
 * (`resource_metadata`, RFC 9728 §5.1).
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { chooseAlgorithm, importPrivateKey, type ClientAssertionAlgorithm } from '../client/client-auth.js';
import { Redactor } from '../client/redact.js';
import { OptionProblems } from '../options/readers.js';
import type { RequireM2MHandler } from './middleware.js';
import type { M2MMiddleware, M2MNext, M2MRequest, M2MResponse } from './types.js';

/** Options of {@link protectedResourceMetadata}. */
export interface ProtectedResourceMetadataOptions {
  /** The resource identifier: an https URL (http only on loopback), no query or fragment. Required. */
  resource: string;
  /** The `requireM2M` guarding the resource: gives the issuers, token locations, DPoP and mTLS settings. */
  auth?: RequireM2MHandler;
  /** `authorization_servers` (issuer identifiers); default: the issuers of `auth`. */
  authorizationServers?: readonly string[];
  /** `scopes_supported`. */
  scopesSupported?: readonly string[];
  /** `resource_name`: a human-readable name. */
  resourceName?: string;
  /** `resource_documentation`: a URL of developer documentation. */
  resourceDocumentation?: string;
  /** `resource_policy_uri`. */
  resourcePolicyUri?: string;
  /** `resource_tos_uri`. */
  resourceTosUri?: string;
  /** Adds `signed_metadata` (RFC 9728 §2.2), a JWT signed with this key. */
  signedMetadata?: SignedMetadataOptions;
}

/** The key that signs `signed_metadata`. */
export interface SignedMetadataOptions {
  /** A PKCS#8 PEM, a private JWK or a private `KeyObject` (RSA, EC or Ed25519). */
  privateKey: string | JWK | KeyObject;
  /** `kid` of the JWS header. */
  kid?: string;
  /** `iss` of the JWT: whoever vouches for the metadata. Default: `resource`. */
  issuer?: string;
  /** JWS algorithm; default: the key's natural one (RS256, ES256/384/512 by curve, EdDSA). */
  alg?: ClientAssertionAlgorithm;
}

/** The middleware returned by {@link protectedResourceMetadata}. */
export interface ProtectedResourceMetadataHandler extends M2MMiddleware {
  /** Absolute URL of the document (what 401 challenges carry as `resource_metadata`). */
  readonly url: string;
  /** The path the document is served at (`/.well-known/oauth-protected-resource[/path]`). */
  readonly path: string;
}

const FACTORY = 'protectedResourceMetadata';
const WELL_KNOWN = '/.well-known/oauth-protected-resource';
const KEYS = [
  'resource',
  'auth',
  'authorizationServers',
  'scopesSupported',
  'resourceName',
  'resourceDocumentation',
  'resourcePolicyUri',
  'resourceTosUri',
  'signedMetadata',
];
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be refused
const UNSAFE_URL_CHARACTERS = /[\s"'<>\\^`{|}\x00-\x1f\x7f]/;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'public, max-age=3600',
  'access-control-allow-origin': '*',
  'x-content-type-options': 'nosniff',
};
const SIGNED_METADATA_TYP = 'oauth-protected-resource+jwt';

interface Signer {
  key: KeyObject;
  alg: string;
  kid: string | undefined;
  issuer: string;
}

/**
 * Serves RFC 9728 protected resource metadata at `GET /.well-known/oauth-protected-resource`
 * — or, when `resource` has a path, at the path-inserted form (RFC 9728 §3.1:
 * `/.well-known/oauth-protected-resource/orders` for `https://api.example.com/orders`) — and,
 * given `auth`, makes every 401 of that `requireM2M` point at it.
 *
 * @example
 * const auth = requireM2M({ issuerBaseURL, audience: 'https://api.example.com' });
 * app.use(protectedResourceMetadata({ resource: 'https://api.example.com', auth, scopesSupported: ['read:orders'] }));
 * app.use('/orders', auth);
 * @throws TypeError at once, listing every invalid option.
 */
export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): ProtectedResourceMetadataHandler {
  const problems = new OptionProblems(FACTORY);
  const config = problems.object(options, 'options') ?? {};
  problems.unknownKeys(config, KEYS);
  const { resource, path, url } = readResource(problems, config.resource);
  const auth = readAuth(problems, config.auth);
  const explicitServers = problems.list(config.authorizationServers, 'authorizationServers');
  for (const server of explicitServers ?? []) {
    problems.url(server, 'authorizationServers');
  }
  const fixed: Record<string, unknown> = {
    scopes_supported: problems.list(config.scopesSupported, 'scopesSupported'),
    resource_name: problems.string(config.resourceName, 'resourceName'),
    resource_documentation: problems.url(config.resourceDocumentation, 'resourceDocumentation'),
    resource_policy_uri: problems.url(config.resourcePolicyUri, 'resourcePolicyUri'),
    resource_tos_uri: problems.url(config.resourceTosUri, 'resourceTosUri'),
  };
  const signer = readSigner(problems, config.signedMetadata, resource);
  const current = auth?.verifier.challenge.resourceMetadata;
  if (current !== undefined && url !== undefined && current !== url) {
    problems.add('`auth` is already described by the metadata of another resource: one document per requireM2M');
  }
  problems.throwIfAny();
  if (auth !== undefined) auth.verifier.challenge.resourceMetadata = url;

  const document = (): Record<string, unknown> => {
    const servers = explicitServers ?? auth?.verifier.issuerIdentifiers();
    return withoutUndefined({
      resource,
      authorization_servers: servers !== undefined && servers.length > 0 ? servers : undefined,
      ...fixed,
      ...(auth === undefined ? {} : tokenMembers(auth)),
    });
  };
  let signed: { source: string; body: Promise<string> } | undefined;
  const body = (): string | Promise<string> => {
    const metadata = document();
    const source = JSON.stringify(metadata);
    if (signer === undefined) return source;
    // Signed once per distinct document (the issuers' identifiers settle after discovery).
    if (signed?.source !== source) {
      signed = {
        source,
        body: sign(metadata, signer).then((jwt) => JSON.stringify({ ...metadata, signed_metadata: jwt })),
      };
      signed.body.catch(() => (signed = undefined));
    }
    return signed.body;
  };

  const handler = (req: M2MRequest, res: M2MResponse, next: M2MNext): void => {
    if (requestPath(req) !== path) {
      next();
      return;
    }
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
        'access-control-max-age': '86400',
      });
      res.end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      next();
      return;
    }
    const send = (text: string): void => {
      res.writeHead(200, { ...HEADERS, 'content-length': Buffer.byteLength(text) });
      res.end(method === 'HEAD' ? undefined : text);
    };
    const text = body();
    if (typeof text === 'string') send(text);
    else text.then(send, next);
  };
  return Object.assign(handler, { url: url as string, path: path as string });
}

function readResource(
  problems: OptionProblems,
  value: unknown,
): { resource: string | undefined; path: string | undefined; url: string | undefined } {
  if (value === undefined) {
    problems.add('`resource` is required: the URL clients use for this API (https://api.example.com)');
    return { resource: undefined, path: undefined, url: undefined };
  }
  const resource = problems.url(value, 'resource');
  if (resource === undefined) return { resource, path: undefined, url: undefined };
  const parsed = new URL(resource);
  if (parsed.protocol !== 'https:' && !LOOPBACK.has(parsed.hostname)) {
    problems.add('`resource` must be an https URL (http only on loopback)');
  }
  // The identifier is compared verbatim by clients and goes into a header: only URL characters, percent-encoded.
  if (UNSAFE_URL_CHARACTERS.test(resource)) {
    problems.add(
      '`resource` must not contain spaces, quotes, control characters or other characters to percent-encode',
    );
  }
  if (parsed.search !== '' || parsed.hash !== '' || resource.includes('#') || resource.includes('?')) {
    problems.add('`resource` must not have a query or fragment');
  }
  // RFC 9728 §3.1: the well-known segment goes between the host and the resource's path.
  const suffix = parsed.pathname === '/' ? '' : parsed.pathname;
  const path = `${WELL_KNOWN}${suffix}`;
  return { resource, path, url: `${parsed.origin}${path}` };
}

function readAuth(problems: OptionProblems, value: unknown): RequireM2MHandler | undefined {
  if (value === undefined) return undefined;
  const handler = value as Partial<RequireM2MHandler>;
  if (
    typeof value !== 'function' ||
    typeof handler.verifier?.issuerIdentifiers !== 'function' ||
    !Array.isArray(handler.tokenLocations)
  ) {
    problems.add('`auth` must be the middleware returned by requireM2M()');
    return undefined;
  }
  return handler as RequireM2MHandler;
}

function readSigner(problems: OptionProblems, value: unknown, resource: string | undefined): Signer | undefined {
  const config = problems.object(value, 'signedMetadata');
  if (config === undefined) return undefined;
  problems.unknownKeys(config, ['privateKey', 'kid', 'issuer', 'alg'], 'signedMetadata.');
  const kid = problems.string(config.kid, 'signedMetadata.kid');
  const issuer = problems.url(config.issuer, 'signedMetadata.issuer') ?? resource;
  try {
    const { key, jwk } = importPrivateKey(
      config.privateKey as SignedMetadataOptions['privateKey'],
      new Redactor(),
      FACTORY,
      'signedMetadata.privateKey',
    );
    const alg = chooseAlgorithm(key, (config.alg as string | undefined) ?? jwk?.alg, FACTORY, 'signedMetadata.alg');
    return issuer === undefined ? undefined : { key, alg, kid: kid ?? jwk?.kid, issuer };
  } catch (error) {
    problems.add((error as Error).message.replace(/^express-m2m: [^:]*: /, ''));
    return undefined;
  }
}

/** The members that describe the tokens `auth` accepts. */
function tokenMembers(auth: RequireM2MHandler): Record<string, unknown> {
  const { dpop, mtls } = auth.verifier.options;
  return {
    bearer_methods_supported: [...auth.tokenLocations],
    ...(dpop.mode !== 'off' && { dpop_signing_alg_values_supported: [...dpop.algorithms] }),
    dpop_bound_access_tokens_required: dpop.mode === 'required',
    tls_client_certificate_bound_access_tokens: mtls.mode !== 'off',
  };
}

/** RFC 9728 §2.2: the metadata as the claims of a JWT, with `iss`. */
function sign(metadata: Record<string, unknown>, signer: Signer): Promise<string> {
  const header = { alg: signer.alg, typ: SIGNED_METADATA_TYP, ...(signer.kid !== undefined && { kid: signer.kid }) };
  return new SignJWT(metadata).setProtectedHeader(header).setIssuer(signer.issuer).setIssuedAt().sign(signer.key);
}

function requestPath(req: M2MRequest): string {
  const target = req.originalUrl ?? req.url ?? '/';
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}

function withoutUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined));
}
