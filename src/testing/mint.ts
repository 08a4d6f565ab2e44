import { constants, createHmac, randomBytes, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { CompactSign, type CompactJWSHeaderParameters } from 'jose';
import { isAsymmetricAlgorithm, type KeyStore } from './keys.js';
import type { MintClaims, MintOptions, SymmetricAlgorithm, TokenProfile } from './types.js';

/** What `mintToken` needs from the issuer it belongs to. */
export interface MintContext {
  readonly issuer: string;
  readonly profile: TokenProfile;
  readonly tokenLifetime: number;
  readonly keys: KeyStore;
  /** The issuer's shared secret (for HS*), if configured. */
  readonly secret: Uint8Array | undefined;
  /** Never-published secret used for HS* with `foreignKey: true`. */
  readonly foreignSecret: Uint8Array;
  defaultAudience(): string;
  /** Stores claims behind a new opaque token (for `format: 'opaque'`). */
  storeOpaque(claims: Record<string, unknown>): string;
}

/** Default `clientId` of minted tokens. */
export const DEFAULT_CLIENT_ID = 'test-client';

const SYMMETRIC: ReadonlySet<string> = new Set<SymmetricAlgorithm>(['HS256', 'HS384', 'HS512']);

/** A fresh random secret for unpublished HS* signing. */
export function randomSecret(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

function isSymmetric(alg: string): alg is SymmetricAlgorithm {
  return SYMMETRIC.has(alg);
}

function assertNumber(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`mint: ${name} must be a finite number of seconds`);
  }
}

function joinScope(scope: string | string[] | undefined): string | undefined {
  return Array.isArray(scope) ? scope.join(' ') : scope;
}

/** Builds the claims set: profile defaults, then `claims` on top (`undefined` removes one). */
export function buildClaims(ctx: MintContext, claims: MintClaims, options: MintOptions): Record<string, unknown> {
  const clientId = options.clientId ?? DEFAULT_CLIENT_ID;
  const audience = options.audience ?? ctx.defaultAudience();
  const scope = joinScope(options.scope);
  const iat = Math.floor(Date.now() / 1000);

  let exp: number | undefined;
  if (options.expiresIn !== null) {
    const expiresIn = options.expiresIn ?? ctx.tokenLifetime;
    assertNumber('expiresIn', expiresIn);
    exp = iat + expiresIn;
  }
  let nbf: number | undefined;
  if (options.notBefore !== undefined) {
    assertNumber('notBefore', options.notBefore);
    nbf = iat + options.notBefore;
  }

  const base: Record<string, unknown> =
    ctx.profile === 'rfc9068'
      ? { iss: ctx.issuer, sub: clientId, aud: audience, iat, nbf, exp, jti: randomUUID(), client_id: clientId, scope }
      : {
          iss: ctx.issuer,
          sub: `${clientId}@clients`,
          aud: audience,
          iat,
          nbf,
          exp,
          azp: clientId,
          gty: 'client-credentials',
          scope,
          jti: randomUUID(),
        };
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries({ ...base, ...claims })) {
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function buildHeader(
  ctx: MintContext,
  alg: string,
  kid: string | undefined,
  options: MintOptions,
): Record<string, unknown> {
  const header: Record<string, unknown> = { alg, typ: ctx.profile === 'rfc9068' ? 'at+jwt' : 'JWT' };
  const effectiveKid = options.kid === null ? undefined : (options.kid ?? kid);
  if (effectiveKid !== undefined) header.kid = effectiveKid;
  for (const [name, value] of Object.entries(options.header ?? {})) {
    if (value === undefined) delete header[name];
    else header[name] = value;
  }
  return header;
}

function b64u(input: string | Uint8Array): string {
  return Buffer.from(input).toString('base64url');
}

function digestOf(alg: string): string {
  return `sha${alg.slice(2)}`;
}

// Byte-for-byte what jose produces, but over any header we are given: used when the header
// lies about `alg` or carries parameters (`crit`, `b64`) that jose would interpret or refuse.
function rawSignature(alg: string, key: KeyObject | Uint8Array, input: Buffer): Buffer {
  if (key instanceof Uint8Array) return createHmac(digestOf(alg), key).update(input).digest();
  if (alg === 'EdDSA' || alg === 'Ed25519') return cryptoSign(null, input, key);
  if (alg.startsWith('PS')) {
    return cryptoSign(digestOf(alg), input, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  if (alg.startsWith('ES')) return cryptoSign(digestOf(alg), input, { key, dsaEncoding: 'ieee-p1363' });
  return cryptoSign(digestOf(alg), input, key);
}

async function signCompact(
  header: Record<string, unknown>,
  payload: Uint8Array,
  alg: string,
  key: KeyObject | Uint8Array | null,
): Promise<string> {
  const signingInput = `${b64u(JSON.stringify(header))}.${b64u(payload)}`;
  if (key === null) return `${signingInput}.`;
  const joseCanSign = header.alg === alg && !('crit' in header) && !('b64' in header);
  if (joseCanSign) {
    return new CompactSign(payload).setProtectedHeader(header as CompactJWSHeaderParameters).sign(key);
  }
  return `${signingInput}.${b64u(rawSignature(alg, key, Buffer.from(signingInput)))}`;
}

/**
 * Signs an access token for the issuer described by `ctx`.
 *
 * Any header and any claim can be produced, including malformed ones, because this is a
 * tool for testing verifiers: validation is limited to what is needed to pick a key.
 */
export async function mintToken(ctx: MintContext, claims: MintClaims = {}, options: MintOptions = {}): Promise<string> {
  const format = options.format ?? 'jwt';
  if (format !== 'jwt' && format !== 'opaque') throw new TypeError("mint: format must be 'jwt' or 'opaque'");
  const claimsSet = buildClaims(ctx, claims, options);
  if (format === 'opaque') return ctx.storeOpaque(claimsSet);
  const alg: string = options.alg ?? 'RS256';
  const payload = new TextEncoder().encode(JSON.stringify(claimsSet));

  let key: KeyObject | Uint8Array | null;
  let kid: string | undefined;
  if (alg === 'none') {
    key = null;
  } else if (isSymmetric(alg)) {
    if (options.foreignKey) key = ctx.foreignSecret;
    else if (ctx.secret) key = ctx.secret;
    else throw new TypeError(`mint: alg ${alg} needs the issuer's \`secret\` option (or foreignKey: true)`);
  } else if (isAsymmetricAlgorithm(alg)) {
    const signingKey = options.foreignKey ? await ctx.keys.foreignKey(alg) : await ctx.keys.signingKey(alg);
    key = signingKey.privateKey;
    kid = signingKey.kid;
  } else {
    throw new TypeError(`mint: unsupported alg ${JSON.stringify(alg)}`);
  }
  return signCompact(buildHeader(ctx, alg, kid, options), payload, alg, key);
}
