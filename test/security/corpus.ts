/**
 * The hostile-input corpus: each entry builds one HTTP request and states the answer the
 * API must give (status + RFC 6750 error code), per the error table of the README ("Errors"):
 * header-syntax problems are 400 `invalid_request`, token problems 401 `invalid_token`,
 * no bearer credentials at all 401 without a code (`"unauthorized"` in the body), and bytes
 * Node's own HTTP parser refuses never reach the middleware (`http_parser`: Node's bare 400).
 *
 * Entries are grouped by the RFC 8725 (JWT BCP) section they exercise; the transport classes
 * (size limits, `Authorization` syntax) come from RFC 6750 §2.1 / RFC 7235 §2.1.
 *
 * Every case is built so that the expected outcome is principled. In particular a token is
 * only signed with a key the API trusts when the point of the case is a claim or header
 * check that must fail on its own (for raw claims JSON such cases use the `/hs` API, whose
 * HMAC secret the test knows, so the signature is valid and only the content is hostile).
 */
import type { KeyObject } from 'node:crypto';
import type { TestIssuer } from '../../src/testing/index.js';
import { b64u, rawSignature, signJws, splitJws, type RawRequest, type Segment } from './support.js';

/** RFC 8725 classes (plus the transport classes), with the sections they come from. */
export const CLASSES = {
  'alg-none': 'RFC 8725 §2.1, §3.1: unsecured JWS ("alg": "none" in any spelling)',
  'alg-verification': 'RFC 8725 §3.1: only allow-listed, exactly spelled algorithms',
  'alg-confusion': 'RFC 8725 §2.1, §3.1: HMAC keyed with the public key (RS/ES to HS confusion)',
  'alg-key-mismatch': "RFC 8725 §3.1: the token's alg must agree with the key's alg/kty/crv",
  'kid-injection': 'RFC 8725 §2.9, §3.10: a hostile kid is only ever compared, never used',
  'key-injection': 'RFC 8725 §2.9, §3.10: jku/x5u/x5c/jwk from the token are never trusted or fetched',
  'header-semantics': 'RFC 8725 §3.3, §2.8, §3.11: crit, b64, nested (cty: JWT) and compressed tokens',
  'jwe-confusion': 'RFC 8725 §2.3, §3.3: encrypted or extra-part tokens where a JWS is expected',
  'json-encoding': 'RFC 8725 §2.6, §3.7: duplicate members, non-UTF-8, non-canonical base64url',
  'time-claims': 'RFC 7519 §4.1.4-4.1.6, RFC 8725 §3.10: exp/nbf/iat of the wrong type or range',
  'issuer-audience': 'RFC 8725 §2.7, §3.8, §3.9: iss/aud types, look-alikes and substitutions',
  'resource-exhaustion': 'RFC 8725 §2.9 (indirect attacks): oversized and pathological input',
  'bearer-syntax': 'RFC 6750 §2.1, RFC 7235 §2.1: Authorization header syntax',
} as const;

export type CorpusClass = keyof typeof CLASSES;

/** The answer a case must get. `http_parser`: refused by Node before any middleware runs. */
export type ExpectedError = 'invalid_request' | 'invalid_token' | 'unauthorized' | 'http_parser';

/** The request a case sends, plus strings the response must never echo. */
export interface RequestShape extends RawRequest {
  /** Text from the hostile input that must not appear anywhere in the response. */
  markers?: readonly string[];
}

/** Everything a case may build from. */
export interface CorpusContext {
  issuer: TestIssuer;
  audience: string;
  /** Now, in whole seconds. */
  now(): number;
  /** A valid token for `/api` (RS256, the issuer's current key). */
  valid: string;
  /** A valid token for `/hs` (HS256 with the shared secret). */
  validHs: string;
  /** The HS secret of the `/hs` API. */
  hsSecret: string;
  /** kid of the issuer's RS256 / ES256 keys. */
  rsaKid: string;
  ecKid: string;
  /** The issuer's published keys in every form a confused verifier might use as an HMAC secret. */
  rsaPublic: { spkiPem: string; pkcs1Pem: string; der: Buffer; jwkJson: string; jwk: Record<string, unknown> };
  ecPublic: { spkiPem: string; der: Buffer; jwkJson: string; jwk: Record<string, unknown> };
  /** Keys the API does not trust. */
  attacker: {
    rsa: KeyObject;
    rsaJwk: Record<string, unknown>;
    ec: KeyObject;
    ecJwk: Record<string, unknown>;
    /** base64 (not url) DER of a self-signed certificate for `ec`, as `x5c` carries it. */
    ecCertificate: string;
  };
  /** Base URL of a server that must never be contacted (its hits are counted). */
  canaryUrl: string;
  /** The claims of a valid token (any `undefined` member is dropped). */
  claims(overrides?: Record<string, unknown>): Record<string, unknown>;
  /** `claims()` as JSON text with raw members appended verbatim before the closing brace. */
  claimsJson(rawMembers: string, overrides?: Record<string, unknown>): string;
  /** Signs with the `/hs` secret (valid signature): any header and payload, even non-JSON. */
  hs(payload: Segment, header?: Segment, alg?: string): string;
}

export interface CorpusCase {
  name: string;
  class: CorpusClass;
  build: (ctx: CorpusContext) => RequestShape | Promise<RequestShape>;
  status: 400 | 401;
  error: ExpectedError;
}

const bearer = (token: string, extra: Partial<RequestShape> = {}): RequestShape => ({
  path: '/api',
  authorization: `Bearer ${token}`,
  ...extra,
});
const hsBearer = (token: string, extra: Partial<RequestShape> = {}): RequestShape =>
  bearer(token, { path: '/hs', ...extra });
const raw = (...lines: Array<string | Buffer>): RequestShape => ({
  path: '/api',
  rawHeaders: lines.map((line) => (typeof line === 'string' ? Buffer.from(line, 'latin1') : line)),
});

const INVALID_TOKEN = { status: 401, error: 'invalid_token' } as const;
const INVALID_REQUEST = { status: 400, error: 'invalid_request' } as const;
const NO_CREDENTIALS = { status: 401, error: 'unauthorized' } as const;
const HTTP_PARSER = { status: 400, error: 'http_parser' } as const;

/** An unsecured token for `/api` with `alg` spelled as given. */
function unsecured(ctx: CorpusContext, alg: string, signature: string, header: Record<string, unknown> = {}): string {
  return `${b64u({ alg, typ: 'JWT', ...header })}.${b64u(ctx.claims())}.${signature}`;
}

/** The signature part of the valid token (a real signature, over other bytes). */
const validSignature = (ctx: CorpusContext): string => splitJws(ctx.valid)[2];

/** HS* over the valid claims with `secret` as the HMAC key and the RSA key's kid. */
const hmacWith = (
  ctx: CorpusContext,
  alg: string,
  secret: string | Uint8Array,
  kid: string | null = ctx.rsaKid,
): string => signJws({ alg, typ: 'JWT', ...(kid === null ? {} : { kid }) }, ctx.claims(), alg, secret);

const mintApi = async (
  ctx: CorpusContext,
  claims: Record<string, unknown>,
  options: Parameters<TestIssuer['mint']>[1] = {},
) => bearer(await ctx.issuer.mint(claims, options));

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The valid token with its signature's last character changed so that only the unused
 * low-order bits differ: a different string that decodes to the same signature bytes.
 */
function nonCanonicalSignature(token: string): string {
  const [h, p, s] = splitJws(token);
  const unusedBits = (s.length * 6) % 8; // 2048-bit RSA: 342 chars, 4 unused bits
  const last = ALPHABET.indexOf(s.slice(-1));
  const changed = ALPHABET[last ^ ((1 << unusedBits) - 1)] as string;
  return `${h}.${p}.${s.slice(0, -1)}${changed}`;
}

export const corpus: readonly CorpusCase[] = [
  // ------------------------------------------------------------------------------ alg-none
  ...(['none', 'None', 'NONE'] as const).flatMap((alg): CorpusCase[] => [
    {
      name: `alg "${alg}" without signature`,
      class: 'alg-none',
      build: (c) => bearer(unsecured(c, alg, '')),
      ...INVALID_TOKEN,
    },
    {
      name: `alg "${alg}" with a real signature attached`,
      class: 'alg-none',
      build: (c) => bearer(unsecured(c, alg, validSignature(c))),
      ...INVALID_TOKEN,
    },
  ]),
  {
    name: 'alg "nOnE" without signature',
    class: 'alg-none',
    build: (c) => bearer(unsecured(c, 'nOnE', '')),
    ...INVALID_TOKEN,
  },
  {
    name: 'alg "none" as a two-part token (no trailing dot)',
    class: 'alg-none',
    build: (c) => bearer(unsecured(c, 'none', '').slice(0, -1)),
    ...INVALID_TOKEN,
  },
  {
    name: 'alg "none" carrying the kid of the trusted RSA key',
    class: 'alg-none',
    build: (c) => bearer(unsecured(c, 'none', '', { kid: c.rsaKid })),
    ...INVALID_TOKEN,
  },
  {
    name: 'alg "none" on the HS256 API',
    class: 'alg-none',
    build: (c) => hsBearer(signJws({ alg: 'none' }, c.claims(), 'none', null)),
    ...INVALID_TOKEN,
  },
  {
    name: 'alg "none" minted by the test issuer (typ JWT, kid)',
    class: 'alg-none',
    build: (c) => mintApi(c, {}, { alg: 'none' }),
    ...INVALID_TOKEN,
  },

  // ---------------------------------------------------------------------- alg-verification
  ...(
    [
      ['empty string', ''],
      ['lower-case "rs256"', 'rs256'],
      ['"RS256 " with a trailing space', 'RS256 '],
      ['"RS256\\u0000"', 'RS256\u0000'],
      ['with CR/LF header injection ("RS256\\r\\nX-Injected: 1")', 'RS256\r\nX-Injected: PWNED'],
      ['a number (256)', 256],
      ['an array (["RS256"])', ['RS256']],
      ['an object', { name: 'RS256' }],
      ['null', null],
      ['"HS256" on the JWKS API (symmetric never allowed with a JWKS)', 'HS256'],
      ['"RSA-OAEP" (a JWE key-management alg)', 'RSA-OAEP'],
    ] as const
  ).map(([label, alg]): CorpusCase => ({
    name: `alg ${label}, token signed by the trusted key`,
    class: 'alg-verification',
    build: async (c) => ({ ...(await mintApi(c, {}, { header: { alg } })), markers: ['PWNED'] }),
    ...INVALID_TOKEN,
  })),
  {
    name: 'alg missing from the header',
    class: 'alg-verification',
    build: (c) => mintApi(c, {}, { header: { alg: undefined } }),
    ...INVALID_TOKEN,
  },
  {
    name: 'RS256 token (signed by the trusted key) sent to the HS256 API',
    class: 'alg-verification',
    build: (c) => hsBearer(c.valid),
    ...INVALID_TOKEN,
  },

  // ------------------------------------------------------------------------- alg-confusion
  ...(
    [
      ['HS256', 'RSA SPKI PEM', (c: CorpusContext) => c.rsaPublic.spkiPem],
      ['HS256', 'RSA SPKI PEM without its final newline', (c: CorpusContext) => c.rsaPublic.spkiPem.trimEnd()],
      [
        'HS256',
        'RSA SPKI PEM with leading and trailing whitespace',
        (c: CorpusContext) => `  \n${c.rsaPublic.spkiPem}\n\n `,
      ],
      ['HS256', 'RSA SPKI PEM with CRLF line ends', (c: CorpusContext) => c.rsaPublic.spkiPem.replace(/\n/g, '\r\n')],
      ['HS256', 'RSA PKCS#1 PEM', (c: CorpusContext) => c.rsaPublic.pkcs1Pem],
      ['HS256', 'RSA SPKI DER', (c: CorpusContext) => c.rsaPublic.der],
      ['HS256', 'RSA JWK JSON', (c: CorpusContext) => c.rsaPublic.jwkJson],
      [
        'HS256',
        'RSA JWK JSON with surrounding whitespace',
        (c: CorpusContext) => ` ${JSON.stringify(c.rsaPublic.jwk, null, 2)}\n`,
      ],
      ['HS256', 'RSA modulus bytes', (c: CorpusContext) => Buffer.from(String(c.rsaPublic.jwk.n), 'base64url')],
      ['HS384', 'RSA SPKI PEM', (c: CorpusContext) => c.rsaPublic.spkiPem],
      ['HS512', 'RSA SPKI PEM', (c: CorpusContext) => c.rsaPublic.spkiPem],
      ['HS512', 'RSA SPKI DER', (c: CorpusContext) => c.rsaPublic.der],
    ] as const
  ).map(([alg, label, secret]): CorpusCase => ({
    name: `${alg} keyed with the ${label}`,
    class: 'alg-confusion',
    build: (c) => bearer(hmacWith(c, alg, secret(c))),
    ...INVALID_TOKEN,
  })),
  ...(
    [
      ['HS256', 'EC SPKI PEM', (c: CorpusContext) => c.ecPublic.spkiPem],
      ['HS256', 'EC SPKI PEM with leading and trailing whitespace', (c: CorpusContext) => `\n${c.ecPublic.spkiPem}  `],
      ['HS256', 'EC SPKI DER', (c: CorpusContext) => c.ecPublic.der],
      ['HS384', 'EC JWK JSON', (c: CorpusContext) => c.ecPublic.jwkJson],
      ['HS512', 'EC SPKI PEM', (c: CorpusContext) => c.ecPublic.spkiPem],
    ] as const
  ).map(([alg, label, secret]): CorpusCase => ({
    name: `${alg} keyed with the ${label}`,
    class: 'alg-confusion',
    build: (c) => bearer(hmacWith(c, alg, secret(c), c.ecKid)),
    ...INVALID_TOKEN,
  })),
  {
    name: 'HS256 keyed with the RSA SPKI PEM, no kid',
    class: 'alg-confusion',
    build: (c) => bearer(hmacWith(c, 'HS256', c.rsaPublic.spkiPem, null)),
    ...INVALID_TOKEN,
  },

  // ---------------------------------------------------------------------- alg-key-mismatch
  ...(
    [
      ['header RS384 on the RS256 key (JWK alg RS256)', 'RS256', { alg: 'RS384' }],
      ['header PS256 on the RS256 key (same kty, other alg)', 'RS256', { alg: 'PS256' }],
      ['header RS512 on the RS256 key, no kid', 'RS256', { alg: 'RS512', kid: undefined }],
      ['header ES256 with the RSA key kid', 'RS256', { alg: 'ES256' }],
      ['header EdDSA with the RSA key kid', 'RS256', { alg: 'EdDSA' }],
      ['header ES384 on the P-256 key (crv mismatch)', 'ES256', { alg: 'ES384' }],
      ['header ES512 on the P-256 key, no kid', 'ES256', { alg: 'ES512', kid: undefined }],
      ['header RS256 with the EC key kid', 'ES256', { alg: 'RS256' }],
      ['header EdDSA with the EC key kid', 'ES256', { alg: 'EdDSA' }],
      ['header PS384, no kid, no such key published', 'RS256', { alg: 'PS384', kid: undefined }],
    ] as const
  ).map(([label, alg, header]): CorpusCase => ({
    name: `${label}, signed by the trusted ${alg} key`,
    class: 'alg-key-mismatch',
    build: (c) => mintApi(c, {}, { alg, header }),
    ...INVALID_TOKEN,
  })),
  {
    name: 'header ES256 with the RSA key kid, signed ES256 by an attacker key',
    class: 'alg-key-mismatch',
    build: (c) => bearer(signJws({ alg: 'ES256', kid: c.rsaKid }, c.claims(), 'ES256', c.attacker.ec)),
    ...INVALID_TOKEN,
  },

  // ------------------------------------------------------------------------- kid-injection
  ...(
    [
      ['path traversal', '../../../../../../etc/passwd'],
      ['Windows path traversal', '..\\..\\..\\windows\\win.ini'],
      ['device file', '/dev/zero'],
      ['SQL injection', "' OR '1'='1' -- PWNED"],
      ['SQL statement', '"; DROP TABLE keys; -- PWNED'],
      ['double quotes', 'PWNED"kid"'],
      ['CR/LF header injection', 'PWNED\r\nSet-Cookie: pwned=1'],
      ['LF only', 'PWNED\nX-Injected: 1'],
      ['NUL byte', 'PWNED\u0000.pem'],
      ['JNDI lookup', '${jndi:ldap://127.0.0.1/PWNED}'],
      ['__proto__', '__proto__'],
      ['constructor', 'constructor'],
      ['empty string', ''],
      ['10 KB long', 'PWNED'.repeat(2048)],
    ] as const
  ).map(([label, kid]): CorpusCase => ({
    name: `kid: ${label}, signed by the trusted key`,
    class: 'kid-injection',
    build: async (c) => ({ ...(await mintApi(c, {}, { kid })), markers: ['PWNED', 'pwned'] }),
    ...INVALID_TOKEN,
  })),
  ...(
    [
      ['a number', 123],
      ['null', null],
      ['true', true],
      ['a NoSQL operator object', { $ne: null }],
    ] as const
  ).map(([label, kid]): CorpusCase => ({
    name: `kid: ${label} (non-string), signed by the trusted key`,
    class: 'kid-injection',
    build: (c) => mintApi(c, {}, { header: { kid } }),
    ...INVALID_TOKEN,
  })),
  {
    name: 'kid: an array holding the trusted kid, signed by the trusted key',
    class: 'kid-injection',
    build: (c) => mintApi(c, {}, { header: { kid: [c.rsaKid] } }),
    ...INVALID_TOKEN,
  },
  {
    name: 'kid: the trusted kid plus a trailing space, signed by the trusted key',
    class: 'kid-injection',
    build: (c) => mintApi(c, {}, { kid: `${c.rsaKid} ` }),
    ...INVALID_TOKEN,
  },
  {
    name: 'kid: the trusted kid plus a zero-width space, signed by the trusted key',
    class: 'kid-injection',
    build: (c) => mintApi(c, {}, { kid: `${c.rsaKid}\u200b` }),
    ...INVALID_TOKEN,
  },
  {
    name: 'kid: a URL of the canary server, signed by the trusted key',
    class: 'kid-injection',
    build: (c) => mintApi(c, {}, { kid: `${c.canaryUrl}/kid` }),
    ...INVALID_TOKEN,
  },

  // ------------------------------------------------------------------------- key-injection
  {
    name: 'jku to the canary JWKS, attacker kid, signed by the attacker key',
    class: 'key-injection',
    build: (c) =>
      bearer(
        signJws(
          { alg: 'RS256', kid: 'attacker', jku: `${c.canaryUrl}/jwks.json` },
          c.claims(),
          'RS256',
          c.attacker.rsa,
        ),
      ),
    ...INVALID_TOKEN,
  },
  {
    name: 'jku to the canary JWKS, no kid, signed by the attacker key',
    class: 'key-injection',
    build: (c) =>
      bearer(signJws({ alg: 'RS256', jku: `${c.canaryUrl}/jwks.json` }, c.claims(), 'RS256', c.attacker.rsa)),
    ...INVALID_TOKEN,
  },
  {
    name: 'jku to the canary JWKS with the trusted kid, signed by the attacker key',
    class: 'key-injection',
    build: (c) =>
      bearer(
        signJws({ alg: 'RS256', kid: c.rsaKid, jku: `${c.canaryUrl}/jwks.json` }, c.claims(), 'RS256', c.attacker.rsa),
      ),
    ...INVALID_TOKEN,
  },
  {
    name: 'jku to a cloud metadata address, signed by the attacker key',
    class: 'key-injection',
    build: (c) =>
      bearer(
        signJws({ alg: 'RS256', jku: 'http://169.254.169.254/latest/meta-data/' }, c.claims(), 'RS256', c.attacker.rsa),
      ),
    ...INVALID_TOKEN,
  },
  {
    name: 'x5u to the canary certificate, signed by the attacker key',
    class: 'key-injection',
    build: (c) => bearer(signJws({ alg: 'ES256', x5u: `${c.canaryUrl}/cert.pem` }, c.claims(), 'ES256', c.attacker.ec)),
    ...INVALID_TOKEN,
  },
  {
    name: 'x5c with a self-signed attacker certificate, signed by its key',
    class: 'key-injection',
    build: (c) =>
      bearer(signJws({ alg: 'ES256', x5c: [c.attacker.ecCertificate] }, c.claims(), 'ES256', c.attacker.ec)),
    ...INVALID_TOKEN,
  },
  {
    name: 'x5c with a self-signed attacker certificate and the trusted EC kid',
    class: 'key-injection',
    build: (c) =>
      bearer(
        signJws({ alg: 'ES256', kid: c.ecKid, x5c: [c.attacker.ecCertificate] }, c.claims(), 'ES256', c.attacker.ec),
      ),
    ...INVALID_TOKEN,
  },
  {
    name: 'embedded jwk (attacker RSA key), no kid',
    class: 'key-injection',
    build: (c) => bearer(signJws({ alg: 'RS256', jwk: c.attacker.rsaJwk }, c.claims(), 'RS256', c.attacker.rsa)),
    ...INVALID_TOKEN,
  },
  {
    name: 'embedded jwk (attacker RSA key) with the trusted kid',
    class: 'key-injection',
    build: (c) =>
      bearer(signJws({ alg: 'RS256', kid: c.rsaKid, jwk: c.attacker.rsaJwk }, c.claims(), 'RS256', c.attacker.rsa)),
    ...INVALID_TOKEN,
  },
  {
    name: 'embedded jwk (attacker EC key), no kid',
    class: 'key-injection',
    build: (c) => bearer(signJws({ alg: 'ES256', jwk: c.attacker.ecJwk }, c.claims(), 'ES256', c.attacker.ec)),
    ...INVALID_TOKEN,
  },
  {
    name: 'embedded jwk equal to the trusted public key, signed by the attacker key',
    class: 'key-injection',
    build: (c) => bearer(signJws({ alg: 'RS256', jwk: c.rsaPublic.jwk }, c.claims(), 'RS256', c.attacker.rsa)),
    ...INVALID_TOKEN,
  },
  {
    name: 'jku, x5u and jwk together, signed by the attacker key',
    class: 'key-injection',
    build: (c) =>
      bearer(
        signJws(
          { alg: 'RS256', jku: `${c.canaryUrl}/jwks.json`, x5u: `${c.canaryUrl}/cert.pem`, jwk: c.attacker.rsaJwk },
          c.claims(),
          'RS256',
          c.attacker.rsa,
        ),
      ),
    ...INVALID_TOKEN,
  },

  // ---------------------------------------------------------------------- header-semantics
  {
    name: 'crit names an unknown extension that is present, signed by the trusted key',
    class: 'header-semantics',
    build: (c) => mintApi(c, {}, { header: { crit: ['x-policy'], 'x-policy': 'strict' } }),
    ...INVALID_TOKEN,
  },
  {
    name: 'crit names an extension that is absent, signed by the trusted key',
    class: 'header-semantics',
    build: (c) => mintApi(c, {}, { header: { crit: ['x-policy'] } }),
    ...INVALID_TOKEN,
  },
  {
    name: 'crit is an empty array, signed by the trusted key',
    class: 'header-semantics',
    build: (c) => mintApi(c, {}, { header: { crit: [] } }),
    ...INVALID_TOKEN,
  },
  {
    name: 'crit is a string instead of an array, signed by the trusted key',
    class: 'header-semantics',
    build: (c) => mintApi(c, {}, { header: { crit: 'exp', exp: 1 } }),
    ...INVALID_TOKEN,
  },
  {
    name: 'crit names a registered header parameter (alg), signed by the trusted key',
    class: 'header-semantics',
    build: (c) => mintApi(c, {}, { header: { crit: ['alg'] } }),
    ...INVALID_TOKEN,
  },
  {
    name: 'b64: false with crit, signed over the unencoded payload (valid HS256)',
    class: 'header-semantics',
    build: (c) => {
      const header = b64u({ alg: 'HS256', b64: false, crit: ['b64'] });
      const payload = JSON.stringify(c.claims());
      return hsBearer(`${header}.${b64u(payload)}.${signatureOverRaw(c, header, payload)}`);
    },
    ...INVALID_TOKEN,
  },
  {
    name: 'b64: false with crit, signed over the encoded payload by the trusted key',
    class: 'header-semantics',
    build: (c) => mintApi(c, {}, { header: { b64: false, crit: ['b64'] } }),
    ...INVALID_TOKEN,
  },
  {
    name: 'b64: false without crit, signed over the unencoded payload (HS256)',
    class: 'header-semantics',
    build: (c) => {
      const header = b64u({ alg: 'HS256', b64: false });
      const payload = JSON.stringify(c.claims());
      return hsBearer(`${header}.${b64u(payload)}.${signatureOverRaw(c, header, payload)}`);
    },
    ...INVALID_TOKEN,
  },
  {
    name: 'cty: JWT wrapping a valid token, outer validly signed (HS256): nested tokens are not unwrapped',
    class: 'header-semantics',
    build: (c) => hsBearer(c.hs(c.validHs, { alg: 'HS256', cty: 'JWT' })),
    ...INVALID_TOKEN,
  },
  {
    name: 'cty: JWT wrapping a valid token, outer alg none',
    class: 'header-semantics',
    build: (c) => bearer(signJws({ alg: 'none', cty: 'JWT' }, c.valid, 'none', null)),
    ...INVALID_TOKEN,
  },
  {
    name: 'cty: JWT wrapping a valid token, outer signed by the attacker key',
    class: 'header-semantics',
    build: (c) => bearer(signJws({ alg: 'RS256', cty: 'JWT' }, c.valid, 'RS256', c.attacker.rsa)),
    ...INVALID_TOKEN,
  },
  {
    name: 'zip: DEF on a JWS with a deflated payload (valid HS256)',
    class: 'header-semantics',
    build: async (c) => {
      const { deflateRawSync } = await import('node:zlib');
      return hsBearer(c.hs(deflateRawSync(Buffer.from(JSON.stringify(c.claims()))), { alg: 'HS256', zip: 'DEF' }));
    },
    ...INVALID_TOKEN,
  },

  // ------------------------------------------------------------------------- jwe-confusion
  {
    name: 'JWE (RSA-OAEP-256, A256GCM) encrypted to the trusted RSA public key, valid claims',
    class: 'jwe-confusion',
    build: async (c) => {
      const { CompactEncrypt, importJWK } = await import('jose');
      const key = await importJWK({ ...c.rsaPublic.jwk, alg: 'RSA-OAEP-256', use: 'enc' }, 'RSA-OAEP-256');
      const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify(c.claims())))
        .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: c.rsaKid })
        .encrypt(key);
      return bearer(jwe);
    },
    ...INVALID_TOKEN,
  },
  {
    name: 'JWE (ECDH-ES, A128GCM) to the trusted EC key, wrapping a valid token (cty JWT)',
    class: 'jwe-confusion',
    build: async (c) => {
      const { CompactEncrypt, importJWK } = await import('jose');
      const key = await importJWK({ ...c.ecPublic.jwk, alg: 'ECDH-ES', use: 'enc' }, 'ECDH-ES');
      const jwe = await new CompactEncrypt(Buffer.from(c.valid))
        .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A128GCM', cty: 'JWT', kid: c.ecKid })
        .encrypt(key);
      return bearer(jwe);
    },
    ...INVALID_TOKEN,
  },
  {
    name: 'five-part token with alg dir and random parts',
    class: 'jwe-confusion',
    build: () =>
      bearer(
        [
          b64u({ alg: 'dir', enc: 'A128GCM' }),
          '',
          b64u('iv-iv-iv-iv!'),
          b64u('ciphertext'),
          b64u('tag-tag-tag-tag!'),
        ].join('.'),
      ),
    ...INVALID_TOKEN,
  },
  {
    name: 'five-part token whose header claims RS256 (valid JWS plus two parts)',
    class: 'jwe-confusion',
    build: (c) => bearer(`${c.valid}.${b64u('x')}.${b64u('y')}`),
    ...INVALID_TOKEN,
  },
  {
    name: 'four-part token (valid JWS plus one part)',
    class: 'jwe-confusion',
    build: (c) => bearer(`${c.valid}.${b64u('x')}`),
    ...INVALID_TOKEN,
  },
  {
    name: 'five-part token with a JWE header and the valid JWS parts spliced in',
    class: 'jwe-confusion',
    build: (c) => {
      const [, payload, signature] = splitJws(c.valid);
      return bearer(
        [b64u({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: c.rsaKid }), payload, b64u('iv'), payload, signature].join('.'),
      );
    },
    ...INVALID_TOKEN,
  },

  // ------------------------------------------------------------------------- json-encoding
  {
    name: 'duplicate aud, the lexically last one foreign (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs(c.claimsJson('"aud":"https://evil.example"'))),
    ...INVALID_TOKEN,
  },
  {
    name: 'duplicate iss, the lexically last one foreign (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs(c.claimsJson('"iss":"https://evil.example/"'))),
    ...INVALID_TOKEN,
  },
  {
    name: 'duplicate exp, the lexically last one in the past (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs(c.claimsJson(`"exp":${c.now() - 3600}`))),
    ...INVALID_TOKEN,
  },
  {
    name: 'duplicate gty, the lexically last one not client-credentials (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs(c.claimsJson('"gty":"password"', { sub: 'user|123' }))),
    ...INVALID_TOKEN,
  },
  {
    name: 'duplicate alg in the header, the lexically last one "none" (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs(c.claims(), '{"alg":"HS256","typ":"JWT","alg":"none"}')),
    ...INVALID_TOKEN,
  },
  {
    name: '__proto__ member carrying gty does not pollute the claims (valid HS256)',
    class: 'json-encoding',
    build: (c) => {
      const json = JSON.stringify(c.claims({ gty: undefined, sub: 'user|123', azp: undefined }));
      return hsBearer(c.hs(`{"__proto__":{"gty":"client-credentials"},${json.slice(1)}`));
    },
    ...INVALID_TOKEN,
  },
  {
    name: 'claims encoded as UTF-16LE (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs(Buffer.from(JSON.stringify(c.claims()), 'utf16le'))),
    ...INVALID_TOKEN,
  },
  {
    name: 'invalid UTF-8 byte inside iss (valid HS256)',
    class: 'json-encoding',
    build: (c) => {
      const json = JSON.stringify(c.claims());
      const at = json.indexOf('"iss":"') + 7;
      return hsBearer(
        c.hs(Buffer.concat([Buffer.from(json.slice(0, at)), Buffer.from([0xff]), Buffer.from(json.slice(at))])),
      );
    },
    ...INVALID_TOKEN,
  },
  {
    name: 'lone surrogate escape appended to iss (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs(JSON.stringify(c.claims()).replace(/("iss":"[^"]*)"/, '$1\\ud800"'))),
    ...INVALID_TOKEN,
  },
  {
    name: 'claims are a JSON array (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs(JSON.stringify([c.claims()]))),
    ...INVALID_TOKEN,
  },
  {
    name: 'claims are a JSON string (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs(JSON.stringify(JSON.stringify(c.claims())))),
    ...INVALID_TOKEN,
  },
  {
    name: 'claims are JSON null (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs('null')),
    ...INVALID_TOKEN,
  },
  {
    name: 'header is a JSON array (valid HS256)',
    class: 'json-encoding',
    build: (c) => hsBearer(c.hs(c.claims(), '["HS256"]')),
    ...INVALID_TOKEN,
  },
  {
    name: 'header is not JSON',
    class: 'json-encoding',
    build: (c) => bearer(`${b64u('alg=RS256')}.${splitJws(c.valid)[1]}.${splitJws(c.valid)[2]}`),
    ...INVALID_TOKEN,
  },
  {
    name: 'valid token with "==" padding appended to the signature (same bytes, other string)',
    class: 'json-encoding',
    build: (c) => bearer(`${c.valid}==`),
    ...INVALID_TOKEN,
  },
  {
    name: 'valid token with non-zero unused bits in the last signature character (same bytes, other string)',
    class: 'json-encoding',
    build: (c) => bearer(nonCanonicalSignature(c.valid)),
    ...INVALID_TOKEN,
  },
  {
    name: 'valid token with "=" padding inside (after the header): not a b64token',
    class: 'json-encoding',
    build: (c) => {
      const [h, p, s] = splitJws(c.valid);
      return bearer(`${h}=.${p}.${s}`);
    },
    ...INVALID_REQUEST,
  },
  {
    name: 'valid token with the standard base64 alphabet in the signature',
    class: 'json-encoding',
    build: (c) => {
      const [h, p, s] = splitJws(c.valid);
      // Force at least one alphabet difference, whatever the signature's characters.
      const std = s.replace(/-/g, '+').replace(/_/g, '/');
      return bearer(`${h}.${p}.${std === s ? `+${s.slice(1)}` : std}`);
    },
    ...INVALID_TOKEN,
  },

  // --------------------------------------------------------------------------- time-claims
  ...(
    [
      ['exp as a numeric string in the future', (c: CorpusContext) => ({ exp: String(c.now() + 3600) })],
      ['exp as a string in exponent notation', () => ({ exp: '1e10' })],
      ['exp a float in the past (valid NumericDate, expired)', () => ({ exp: 1000.5 })],
      ['exp a float 10.5 s in the past (beyond the 5 s leeway)', (c: CorpusContext) => ({ exp: c.now() - 10.5 })],
      ['exp negative', () => ({ exp: -1 })],
      ['exp zero', () => ({ exp: 0 })],
      ['exp true', () => ({ exp: true })],
      ['exp null', () => ({ exp: null })],
      ['exp an array holding a future time', (c: CorpusContext) => ({ exp: [c.now() + 3600] })],
      ['exp an object', () => ({ exp: { $gt: 0 } })],
      ['exp -1e300 (huge negative)', () => ({ exp: -1e300 })],
      ['nbf as a string', () => ({ nbf: '0' })],
      ['nbf a float an hour in the future', (c: CorpusContext) => ({ nbf: c.now() + 3600.5 })],
      ['nbf 1e300 (huge)', () => ({ nbf: 1e300 })],
      ['iat as a string', () => ({ iat: '0' })],
      ['iat a float an hour in the future', (c: CorpusContext) => ({ iat: c.now() + 3600.25 })],
      ['iat 1e300 (huge)', () => ({ iat: 1e300 })],
      ['iat an array', (c: CorpusContext) => ({ iat: [c.now()] })],
    ] as const
  ).map(([label, claims]): CorpusCase => ({
    name: `${label}, signed by the trusted key`,
    class: 'time-claims',
    build: (c) => mintApi(c, claims(c)),
    ...INVALID_TOKEN,
  })),
  {
    name: 'exp missing, signed by the trusted key',
    class: 'time-claims',
    build: (c) => mintApi(c, {}, { expiresIn: null }),
    ...INVALID_TOKEN,
  },
  {
    name: 'exp 1e400 (overflows to Infinity: a token that never expires), valid HS256',
    class: 'time-claims',
    build: (c) => hsBearer(c.hs(c.claimsJson('"exp":1e400', { exp: undefined }))),
    ...INVALID_TOKEN,
  },
  {
    name: 'exp -1e400 (overflows to -Infinity), valid HS256',
    class: 'time-claims',
    build: (c) => hsBearer(c.hs(c.claimsJson('"exp":-1e400', { exp: undefined }))),
    ...INVALID_TOKEN,
  },
  {
    name: 'nbf 1e400 (overflows to Infinity), valid HS256',
    class: 'time-claims',
    build: (c) => hsBearer(c.hs(c.claimsJson('"nbf":1e400'))),
    ...INVALID_TOKEN,
  },
  {
    name: 'iat 1e400 (overflows to Infinity), valid HS256',
    class: 'time-claims',
    build: (c) => hsBearer(c.hs(c.claimsJson('"iat":1e400', { iat: undefined }))),
    ...INVALID_TOKEN,
  },

  // ----------------------------------------------------------------------- issuer-audience
  ...(
    [
      ['aud an empty object', () => ({ aud: {} })],
      ['aud an object keyed like an array', (c: CorpusContext) => ({ aud: { 0: c.audience } })],
      ['aud an empty array', () => ({ aud: [] })],
      ['aud an empty string', () => ({ aud: '' })],
      ['aud an array nested in an array', (c: CorpusContext) => ({ aud: [[c.audience]] })],
      ['aud an array of objects', (c: CorpusContext) => ({ aud: [{ aud: c.audience }] })],
      ['aud null', () => ({ aud: null })],
      ['aud missing', () => ({ aud: undefined })],
      ['aud with a trailing slash', (c: CorpusContext) => ({ aud: `${c.audience}/` })],
      [
        'aud with an upper-case host',
        (c: CorpusContext) => ({ aud: c.audience.replace('api.example.com', 'API.example.com') }),
      ],
      [
        'aud with a Cyrillic "а" (U+0430) in the host',
        (c: CorpusContext) => ({ aud: c.audience.replace('api.', '\u0430pi.') }),
      ],
      ['iss an empty object', () => ({ iss: {} })],
      ['iss an array holding the issuer', (c: CorpusContext) => ({ iss: [c.issuer.issuer] })],
      ['iss an empty string', () => ({ iss: '' })],
      ['iss null', () => ({ iss: null })],
      ['iss missing', () => ({ iss: undefined })],
      ['iss without its trailing slash', (c: CorpusContext) => ({ iss: c.issuer.issuer.slice(0, -1) })],
      ['iss with an upper-case scheme', (c: CorpusContext) => ({ iss: c.issuer.issuer.replace('http:', 'HTTP:') })],
      [
        'iss with a Cyrillic "һ" (U+04BB) in the scheme',
        (c: CorpusContext) => ({ iss: c.issuer.issuer.replace('h', '\u04bb') }),
      ],
      [
        'iss with a fullwidth solidus (U+FF0F) as its last slash',
        (c: CorpusContext) => ({ iss: `${c.issuer.issuer.slice(0, -1)}\uff0f` }),
      ],
      [
        'iss with fullwidth digits (U+FF11 U+FF12 U+FF17)',
        (c: CorpusContext) => ({ iss: c.issuer.issuer.replace('127', '\uff11\uff12\uff17') }),
      ],
      [
        'iss with a fullwidth colon (U+FF1A)',
        (c: CorpusContext) => ({ iss: c.issuer.issuer.replace('http:', 'http\uff1a') }),
      ],
      ['iss with a zero-width space', (c: CorpusContext) => ({ iss: c.issuer.issuer.replace('//', '//\u200b') })],
      ['iss with a trailing no-break space', (c: CorpusContext) => ({ iss: `${c.issuer.issuer}\u00a0` })],
      ['iss with a right-to-left override', (c: CorpusContext) => ({ iss: `\u202e${c.issuer.issuer}` })],
      ['iss in NFD with a combining mark', (c: CorpusContext) => ({ iss: `${c.issuer.issuer}\u0301` })],
    ] as const
  ).map(([label, claims]): CorpusCase => ({
    name: `${label}, signed by the trusted key`,
    class: 'issuer-audience',
    build: (c) => mintApi(c, claims(c)),
    ...INVALID_TOKEN,
  })),

  // ------------------------------------------------------------------- resource-exhaustion
  {
    name: 'token of 16 KB + 1 character (just over the limit)',
    class: 'resource-exhaustion',
    build: () => bearer('A'.repeat(16 * 1024 + 1)),
    ...INVALID_REQUEST,
  },
  {
    name: 'token of exactly 16 KB of junk (at the limit: parsed, malformed)',
    class: 'resource-exhaustion',
    build: () => bearer('A'.repeat(16 * 1024)),
    ...INVALID_TOKEN,
  },
  {
    name: 'token of 64 KB (valid token padded with a huge claim), raised Node header limit',
    class: 'resource-exhaustion',
    build: async (c) => mintApi(c, { pad: 'x'.repeat(48 * 1024) }),
    ...INVALID_REQUEST,
  },
  {
    name: 'token of 1 MB, raised Node header limit',
    class: 'resource-exhaustion',
    build: (c) => bearer(`${c.valid}${'A'.repeat(1024 * 1024)}`),
    ...INVALID_REQUEST,
  },
  {
    name: 'Authorization of 100 KB spaces between scheme and token',
    class: 'resource-exhaustion',
    build: (c) => ({ path: '/api', authorization: `Bearer${' '.repeat(100 * 1024)}${c.valid}` }),
    ...INVALID_REQUEST,
  },
  {
    name: 'token of 10,000 dots',
    class: 'resource-exhaustion',
    build: () => bearer('.'.repeat(10_000)),
    ...INVALID_TOKEN,
  },
  {
    name: 'header JSON nested 4,000 levels deep, signed by the attacker key',
    class: 'resource-exhaustion',
    build: (c) =>
      bearer(
        signJws(`{"alg":"RS256","x":${'['.repeat(4000)}${']'.repeat(4000)}}`, c.claims(), 'RS256', c.attacker.rsa),
      ),
    ...INVALID_TOKEN,
  },
  {
    name: 'token of 64 KB in the query string (token in query allowed)',
    class: 'resource-exhaustion',
    build: () => ({ path: `/multi?access_token=${'A'.repeat(64 * 1024)}` }),
    ...INVALID_REQUEST,
  },
  {
    name: 'token of 1 MB in a form body (token in body allowed)',
    class: 'resource-exhaustion',
    build: () => ({
      path: '/multi',
      method: 'POST',
      body: { contentType: 'application/x-www-form-urlencoded', data: `access_token=${'A'.repeat(1024 * 1024)}` },
    }),
    ...INVALID_REQUEST,
  },

  // ------------------------------------------------------------------------- bearer-syntax
  {
    name: 'tab between scheme and token',
    class: 'bearer-syntax',
    build: (c) => ({ path: '/api', authorization: `Bearer\t${c.valid}` }),
    ...INVALID_REQUEST,
  },
  {
    name: 'space and tab between scheme and token',
    class: 'bearer-syntax',
    build: (c) => ({ path: '/api', authorization: `Bearer \t${c.valid}` }),
    ...INVALID_REQUEST,
  },
  {
    name: 'trailing comma after the token',
    class: 'bearer-syntax',
    build: (c) => bearer(`${c.valid},`),
    ...INVALID_REQUEST,
  },
  {
    name: 'trailing semicolon after the token',
    class: 'bearer-syntax',
    build: (c) => bearer(`${c.valid};`),
    ...INVALID_REQUEST,
  },
  {
    name: 'two schemes: Bearer then Basic',
    class: 'bearer-syntax',
    build: (c) => bearer(`${c.valid}, Basic dXNlcjpwYXNz`),
    ...INVALID_REQUEST,
  },
  {
    name: 'two schemes: Basic then Bearer (no bearer credentials)',
    class: 'bearer-syntax',
    build: (c) => ({ path: '/api', authorization: `Basic dXNlcjpwYXNz, Bearer ${c.valid}` }),
    ...NO_CREDENTIALS,
  },
  {
    name: 'several spaces inside the token (several spaces before it are fine: see the controls)',
    class: 'bearer-syntax',
    build: (c) => {
      const [h, p, s] = splitJws(c.valid);
      return bearer(`${h}.${p}   .${s}`);
    },
    ...INVALID_REQUEST,
  },
  {
    name: 'two tokens separated by a space',
    class: 'bearer-syntax',
    build: (c) => bearer(`${c.valid} ${c.valid}`),
    ...INVALID_REQUEST,
  },
  {
    name: 'two Bearer credentials in one header',
    class: 'bearer-syntax',
    build: (c) => bearer(`${c.valid}, Bearer ${c.valid}`),
    ...INVALID_REQUEST,
  },
  { name: 'token in double quotes', class: 'bearer-syntax', build: (c) => bearer(`"${c.valid}"`), ...INVALID_REQUEST },
  {
    name: 'scheme only',
    class: 'bearer-syntax',
    build: () => ({ path: '/api', authorization: 'Bearer' }),
    ...INVALID_REQUEST,
  },
  {
    name: 'scheme and spaces only',
    class: 'bearer-syntax',
    build: () => ({ path: '/api', authorization: 'Bearer     ' }),
    ...INVALID_REQUEST,
  },
  {
    name: 'scheme with a colon ("Bearer:<token>")',
    class: 'bearer-syntax',
    build: (c) => ({ path: '/api', authorization: `Bearer:${c.valid}` }),
    ...NO_CREDENTIALS,
  },
  {
    name: 'no space after the scheme ("Bearer<token>")',
    class: 'bearer-syntax',
    build: (c) => ({ path: '/api', authorization: `Bearer${c.valid}` }),
    ...NO_CREDENTIALS,
  },
  {
    name: 'scheme doubled ("BearerBearer <token>")',
    class: 'bearer-syntax',
    build: (c) => ({ path: '/api', authorization: `BearerBearer ${c.valid}` }),
    ...NO_CREDENTIALS,
  },
  {
    name: 'token without a scheme',
    class: 'bearer-syntax',
    build: (c) => ({ path: '/api', authorization: c.valid }),
    ...NO_CREDENTIALS,
  },
  {
    name: 'empty Authorization header',
    class: 'bearer-syntax',
    build: () => ({ path: '/api', authorization: '' }),
    ...NO_CREDENTIALS,
  },
  {
    // DPoP is accepted by default; a token that is not DPoP-bound cannot be sent with its scheme.
    name: 'DPoP scheme with a token that is not DPoP-bound',
    class: 'bearer-syntax',
    build: (c) => ({ path: '/api', authorization: `DPoP ${c.valid}` }),
    ...INVALID_TOKEN,
  },
  {
    name: 'fullwidth scheme "Ｂｅａｒｅｒ" (UTF-8 bytes)',
    class: 'bearer-syntax',
    build: (c) => ({ path: '/api', authorization: `\uff22\uff45\uff41\uff52\uff45\uff52 ${c.valid}` }),
    ...NO_CREDENTIALS,
  },
  {
    name: 'Cyrillic "е" in the scheme (UTF-8 bytes)',
    class: 'bearer-syntax',
    build: (c) => ({ path: '/api', authorization: `B\u0435arer ${c.valid}` }),
    ...NO_CREDENTIALS,
  },
  {
    name: 'UTF-8 BOM before the scheme',
    class: 'bearer-syntax',
    build: (c) =>
      raw(
        Buffer.concat([
          Buffer.from('Authorization: '),
          Buffer.from([0xef, 0xbb, 0xbf]),
          Buffer.from(`Bearer ${c.valid}`),
        ]),
      ),
    ...NO_CREDENTIALS,
  },
  {
    name: 'non-ASCII byte 0xE9 after the token (raw)',
    class: 'bearer-syntax',
    build: (c) => raw(Buffer.concat([Buffer.from(`Authorization: Bearer ${c.valid}`), Buffer.from([0xe9])])),
    ...INVALID_REQUEST,
  },
  {
    name: 'UTF-8 "é" inside the token (raw)',
    class: 'bearer-syntax',
    build: (c) => raw(Buffer.from(`Authorization: Bearer ${c.valid.slice(0, 20)}é${c.valid.slice(20)}`, 'utf8')),
    ...INVALID_REQUEST,
  },
  {
    name: 'no-break space (0xA0) between scheme and token (raw)',
    class: 'bearer-syntax',
    build: (c) => raw(Buffer.concat([Buffer.from('Authorization: Bearer'), Buffer.from([0xa0]), Buffer.from(c.valid)])),
    ...INVALID_REQUEST,
  },
  {
    name: 'repeated Authorization headers with the same valid token (raw)',
    class: 'bearer-syntax',
    build: (c) => raw(`Authorization: Bearer ${c.valid}`, `Authorization: Bearer ${c.valid}`),
    ...INVALID_REQUEST,
  },
  {
    name: 'repeated Authorization headers: valid token then junk (raw)',
    class: 'bearer-syntax',
    build: (c) => raw(`Authorization: Bearer ${c.valid}`, 'Authorization: Bearer junk'),
    ...INVALID_REQUEST,
  },
  {
    name: 'repeated Authorization headers: Basic then Bearer (raw)',
    class: 'bearer-syntax',
    build: (c) => raw('Authorization: Basic dXNlcjpwYXNz', `Authorization: Bearer ${c.valid}`),
    ...INVALID_REQUEST,
  },
  {
    name: 'repeated Authorization headers differing in name case (raw)',
    class: 'bearer-syntax',
    build: (c) => raw(`authorization: Bearer ${c.valid}`, `AUTHORIZATION: Bearer ${c.valid}`),
    ...INVALID_REQUEST,
  },
  {
    name: 'three Authorization headers, one empty (raw)',
    class: 'bearer-syntax',
    build: (c) => raw('Authorization:', `Authorization: Bearer ${c.valid}`, 'Authorization: Bearer x'),
    ...INVALID_REQUEST,
  },
  {
    name: 'token in the query string of a header-only API (ignored: no credentials)',
    class: 'bearer-syntax',
    build: (c) => ({ path: `/api?access_token=${c.valid}` }),
    ...NO_CREDENTIALS,
  },
  {
    name: 'token in the header and the query string',
    class: 'bearer-syntax',
    build: (c) => ({ path: `/multi?access_token=${c.valid}`, authorization: `Bearer ${c.valid}` }),
    ...INVALID_REQUEST,
  },
  {
    name: 'token in the header and a form body',
    class: 'bearer-syntax',
    build: (c) => ({
      path: '/multi',
      method: 'POST',
      authorization: `Bearer ${c.valid}`,
      body: { contentType: 'application/x-www-form-urlencoded', data: `access_token=${c.valid}` },
    }),
    ...INVALID_REQUEST,
  },
  {
    name: 'access_token given twice in the query string',
    class: 'bearer-syntax',
    build: (c) => ({ path: `/multi?access_token=${c.valid}&access_token=${c.valid}` }),
    ...INVALID_REQUEST,
  },
  {
    name: 'NUL byte inside the token (raw)',
    class: 'bearer-syntax',
    build: (c) => raw(`Authorization: Bearer ${c.valid}\u0000x`),
    ...HTTP_PARSER,
  },
  {
    name: 'bare CR inside the header value (raw)',
    class: 'bearer-syntax',
    build: (c) => raw(`Authorization: Bearer ${c.valid}\rX-Injected: 1`),
    ...HTTP_PARSER,
  },
  {
    name: 'obsolete line folding (raw)',
    class: 'bearer-syntax',
    build: (c) => raw('Authorization: Bearer', ` ${c.valid}`),
    ...HTTP_PARSER,
  },
  {
    name: 'DEL (0x7F) inside the token (raw)',
    class: 'bearer-syntax',
    build: (c) => raw(`Authorization: Bearer ${c.valid}\u007f`),
    ...HTTP_PARSER,
  },
  {
    name: 'space before the header colon (raw)',
    class: 'bearer-syntax',
    build: (c) => raw(`Authorization : Bearer ${c.valid}`),
    ...HTTP_PARSER,
  },
];

/** RFC 7797 signature: HS256 over `header.<raw payload>` with the `/hs` secret. */
function signatureOverRaw(ctx: CorpusContext, encodedHeader: string, rawPayload: string): string {
  return rawSignature('HS256', ctx.hsSecret, Buffer.from(`${encodedHeader}.${rawPayload}`, 'utf8')).toString(
    'base64url',
  );
}
