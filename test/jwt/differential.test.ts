/**
 * Differential test: the node:crypto JWT path (src/jwt) must reach the same accept/reject
 * decision as `jose.jwtVerify`, the reference, for every supported algorithm, for validly
 * signed tokens with odd headers and claims, and for thousands of mutated tokens; and its
 * synchronous and thread-pool signature paths must agree with each other on every one of them.
 */
import { describe, expect, it } from '@jest/globals';
import {
  createSecretKey,
  generateKeyPairSync,
  sign as cryptoSign,
  createHash,
  createHmac,
  createPublicKey,
  constants,
  type KeyObject,
} from 'node:crypto';
import { jwtVerify, type JWTVerifyOptions } from 'jose';
import type { ClaimsSetOptions } from '../../src/jwt/claims-set.js';
import { HEADER_SHAPE_LIMITS } from '../../src/jwt/compact.js';
import { assertKeyFitsAlgorithm } from '../../src/jwt/signature.js';
import { parseJwt, verifyParsedJwt, verifyParsedJwtOffThread } from '../../src/jwt/verify.js';

/** The verifier's inputs: an `alg` allow-list and the claims-set checks. */
type JwtVerifyOptions = ClaimsSetOptions & { algorithms: readonly string[] };

const ISSUER = 'https://issuer.example/';
const AUDIENCE = 'https://api.example.com';
const RUNS_PER_ALG = Number(process.env.DIFFERENTIAL_RUNS ?? 400);

interface KeyMaterial {
  alg: string;
  signingKey: KeyObject;
  verifyKey: KeyObject;
}

function keysFor(alg: string): KeyMaterial {
  if (alg.startsWith('HS')) {
    const secret = createSecretKey(Buffer.from('a-shared-secret-that-is-long-enough-for-hs512-tokens-0123456789'));
    return { alg, signingKey: secret, verifyKey: secret };
  }
  const pair =
    alg.startsWith('RS') || alg.startsWith('PS')
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg] as string });
  return { alg, signingKey: pair.privateKey, verifyKey: pair.publicKey };
}

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs exactly the given header and payload strings (so odd headers can be produced). */
function signRaw(material: KeyMaterial, alg: string, encodedHeader: string, encodedPayload: string): string {
  const input = Buffer.from(`${encodedHeader}.${encodedPayload}`);
  const bits = alg === 'EdDSA' ? 0 : Number(alg.slice(2));
  let signature: Buffer;
  if (alg.startsWith('HS')) signature = createHmac(`sha${bits}`, material.signingKey).update(input).digest();
  else if (alg.startsWith('RS')) signature = cryptoSign(`sha${bits}`, input, material.signingKey);
  else if (alg.startsWith('PS')) {
    signature = cryptoSign(`sha${bits}`, input, {
      key: material.signingKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: bits / 8,
    });
  } else if (alg.startsWith('ES'))
    signature = cryptoSign(`sha${bits}`, input, { key: material.signingKey, dsaEncoding: 'ieee-p1363' });
  else signature = cryptoSign(null, input, material.signingKey);
  return `${encodedHeader}.${encodedPayload}.${signature.toString('base64url')}`;
}

function baseClaims(now: number): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'svc@clients',
    azp: 'svc',
    gty: 'client-credentials',
    iat: now - 10,
    exp: now + 3600,
  };
}

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(token: string, random: () => number): string {
  const parts = token.split('.');
  const choice = Math.floor(random() * 7);
  const index = Math.floor(random() * parts.length);
  const part = parts[index] as string;
  switch (choice) {
    case 0: {
      // Flip one bit of the decoded bytes and re-encode: still valid base64url.
      const bytes = Buffer.from(part, 'base64url');
      if (bytes.length === 0) return token;
      const at = Math.floor(random() * bytes.length);
      bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(random() * 8));
      parts[index] = bytes.toString('base64url');
      return parts.join('.');
    }
    case 1: {
      // Replace one character with any printable ASCII (may break base64url).
      const at = Math.floor(random() * Math.max(part.length, 1));
      parts[index] = part.slice(0, at) + String.fromCharCode(33 + Math.floor(random() * 94)) + part.slice(at + 1);
      return parts.join('.');
    }
    case 2:
      return token.slice(0, Math.floor(random() * token.length));
    case 3: {
      const other = Math.floor(random() * parts.length);
      [parts[index], parts[other]] = [parts[other] as string, part];
      return parts.join('.');
    }
    case 4:
      return random() < 0.5 ? `${token}.` : `${token}=`;
    case 5:
      parts[index] = `${part}${['=', '==', ' ', '+', '/', '-', '_'][Math.floor(random() * 7)]}`;
      return parts.join('.');
    default:
      parts[index] = part.slice(0, Math.max(0, part.length - 1 - Math.floor(random() * 3)));
      return parts.join('.');
  }
}

/** Our decision, from the synchronous path and from the thread-pool path, which must agree. */
async function ourDecision(
  token: string,
  material: KeyMaterial,
  options: JwtVerifyOptions,
  now: number,
): Promise<boolean> {
  let synchronous: boolean;
  try {
    verifyParsedJwt(parseJwt(token, options.algorithms, options.typ), material.verifyKey, options, now);
    synchronous = true;
  } catch {
    synchronous = false;
  }
  let offThread: boolean;
  try {
    // Without `typ` here: the claims-set check must refuse a wrong `typ` on its own, as jose does.
    await verifyParsedJwtOffThread(parseJwt(token, options.algorithms), material.verifyKey, options, now);
    offThread = true;
  } catch {
    offThread = false;
  }
  if (offThread !== synchronous) {
    throw new Error(`thread-pool path ${offThread}, synchronous path ${synchronous} on ${JSON.stringify(token)}`);
  }
  return synchronous;
}

async function decisions(
  token: string,
  material: KeyMaterial,
  options: JwtVerifyOptions,
  now: number,
): Promise<[boolean, boolean]> {
  const ours = await ourDecision(token, material, options, now);
  const joseOptions: JWTVerifyOptions = {
    algorithms: [...options.algorithms],
    issuer: options.issuer,
    audience: [...options.audience],
    clockTolerance: options.clockTolerance,
    requiredClaims: [...options.requiredClaims],
    currentDate: new Date(now * 1000),
    ...(options.maxTokenAge !== undefined && { maxTokenAge: options.maxTokenAge }),
    ...(options.typ !== undefined && { typ: options.typ }),
  };
  let reference: boolean;
  try {
    await jwtVerify(token, material.verifyKey, joseOptions);
    reference = true;
  } catch {
    reference = false;
  }
  return [ours, reference];
}

const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'HS256',
  'HS384',
  'HS512',
];

describe.each(ALGORITHMS)('node:crypto JWT path agrees with jose.jwtVerify: %s', (alg) => {
  const material = keysFor(alg);
  const now = Math.floor(Date.now() / 1000);
  const options: JwtVerifyOptions = {
    algorithms: [alg],
    issuer: ISSUER,
    audience: [AUDIENCE],
    clockTolerance: 5,
    requiredClaims: ['exp'],
  };
  const valid = signRaw(material, alg, b64({ alg, typ: 'JWT', kid: 'k1' }), b64(baseClaims(now)));

  it('accepts a valid token, as jose does', async () => {
    expect(await decisions(valid, material, options, now)).toEqual([true, true]);
  });

  const variants: Array<[string, Record<string, unknown>, Record<string, unknown>, Partial<JwtVerifyOptions>?]> = [
    ['expired', {}, { exp: now - 60 }],
    ['expired within tolerance', {}, { exp: now - 3 }],
    ['exp exactly now minus tolerance', {}, { exp: now - 5 }],
    ['exp as a string', {}, { exp: String(now + 60) }],
    ['exp as a float', {}, { exp: now + 60.5 }],
    ['exp missing', {}, { exp: undefined }],
    ['exp huge', {}, { exp: 1e300 }],
    ['nbf in the future', {}, { nbf: now + 60 }],
    ['nbf within tolerance', {}, { nbf: now + 4 }],
    ['nbf as a string', {}, { nbf: 'soon' }],
    ['iat as a string', {}, { iat: 'x' }],
    ['iat too old with maxTokenAge', {}, { iat: now - 120 }, { maxTokenAge: 60 }],
    ['iat missing with maxTokenAge', {}, { iat: undefined }, { maxTokenAge: 60 }],
    ['iat in the future with maxTokenAge', {}, { iat: now + 60 }, { maxTokenAge: 60 }],
    ['iss different', {}, { iss: 'https://evil/' }],
    ['iss without trailing slash', {}, { iss: ISSUER.slice(0, -1) }],
    ['iss as an array', {}, { iss: [ISSUER] }],
    ['iss missing', {}, { iss: undefined }],
    ['aud array containing ours', {}, { aud: ['x', AUDIENCE] }],
    ['aud array without ours', {}, { aud: ['x'] }],
    ['aud as an object', {}, { aud: { a: AUDIENCE } }],
    ['aud empty', {}, { aud: '' }],
    ['typ at+jwt required and present', { typ: 'at+jwt' }, {}, { typ: 'at+jwt' }],
    ['typ application/at+jwt required as at+jwt', { typ: 'application/AT+JWT' }, {}, { typ: 'at+jwt' }],
    ['typ JWT when at+jwt required', {}, {}, { typ: 'at+jwt' }],
    ['typ missing when required', { typ: undefined }, {}, { typ: 'at+jwt' }],
    ['jti required and missing', {}, {}, { requiredClaims: ['exp', 'jti'] }],
    ['crit b64 true', { crit: ['b64'], b64: true }, {}],
    ['crit b64 false', { crit: ['b64'], b64: false }, {}],
    ['crit unknown', { crit: ['exp'], exp: 1 }, {}],
    ['crit empty', { crit: [] }, {}],
    ['crit not an array', { crit: 'b64', b64: true }, {}],
    ['b64 false without crit', { b64: false }, {}],
    ['crit b64 without b64', { crit: ['b64'] }, {}],
    ['kid missing', { kid: undefined }, {}],
    ['extra jku header', { jku: 'https://evil/jwks' }, {}],
  ];

  it('decides like jose on validly signed tokens with odd headers and claims', async () => {
    const disagreements: string[] = [];
    for (const [name, headerChanges, claimChanges, optionChanges] of variants) {
      const header = { alg, typ: 'JWT', kid: 'k1', ...headerChanges };
      const token = signRaw(material, alg, b64(header), b64({ ...baseClaims(now), ...claimChanges }));
      const [ours, reference] = await decisions(token, material, { ...options, ...optionChanges }, now);
      if (ours !== reference) disagreements.push(`${name}: ours ${ours}, jose ${reference}`);
    }
    expect(disagreements).toEqual([]);
  });

  it('decides like jose on raw odd payloads and headers', async () => {
    const oddPayloads = [
      '[]',
      'null',
      '"string"',
      '42',
      '{"exp":1',
      '\uFEFF{}',
      'not json',
      JSON.stringify(baseClaims(now)).replace('{', '{"exp":1,'),
    ];
    const oddHeaders = [
      '[]',
      '{}',
      `{"alg":"${alg}","alg":"none"}`,
      `{"alg":"none","alg":"${alg}"}`,
      `\uFEFF{"alg":"${alg}"}`,
      `{"alg":"${alg}"} `,
    ];
    for (const payload of oddPayloads) {
      const token = signRaw(material, alg, b64({ alg }), Buffer.from(payload).toString('base64url'));
      const [ours, reference] = await decisions(token, material, options, now);
      expect({ payload, ours }).toEqual({ payload, ours: reference });
    }
    for (const header of oddHeaders) {
      const token = signRaw(material, alg, Buffer.from(header).toString('base64url'), b64(baseClaims(now)));
      const [ours, reference] = await decisions(token, material, options, now);
      expect({ header, ours }).toEqual({ header, ours: reference });
    }
    const invalidUtf8 = signRaw(material, alg, b64({ alg }), Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url'));
    const [ours, reference] = await decisions(invalidUtf8, material, options, now);
    expect(ours).toBe(reference);
  });

  it(`decides like jose on ${RUNS_PER_ALG} mutations of a valid token`, async () => {
    const random = prng(alg.split('').reduce((sum, char) => sum * 31 + char.charCodeAt(0), 7));
    let accepted = 0;
    for (let run = 0; run < RUNS_PER_ALG; run++) {
      let token = valid;
      const rounds = 1 + Math.floor(random() * 3);
      for (let round = 0; round < rounds; round++) token = mutate(token, random);
      const [ours, reference] = await decisions(token, material, options, now);
      if (ours !== reference)
        throw new Error(`disagreement on ${JSON.stringify(token)}: ours ${ours}, jose ${reference}`);
      if (ours) accepted++;
    }
    // Most mutations must be refused; the few accepted ones are encodings jose also accepts.
    expect(accepted).toBeLessThan(RUNS_PER_ALG / 4);
  });
});

describe('algorithm and key binding', () => {
  const now = Math.floor(Date.now() / 1000);
  const rsa = keysFor('RS256');
  const ec = keysFor('ES256');
  const p384 = keysFor('ES384');
  const ed = keysFor('EdDSA');
  const hs = keysFor('HS256');
  const options = (alg: string): JwtVerifyOptions => ({
    algorithms: [alg],
    issuer: ISSUER,
    audience: [AUDIENCE],
    clockTolerance: 5,
    requiredClaims: ['exp'],
  });

  const materials: Record<string, KeyMaterial> = { rsa, ec, p384, ed, hs };
  it.each([
    ['ES256 token checked with an RSA key', 'ec', 'rsa', 'ES256'],
    ['RS256 token checked with an EC key', 'rsa', 'ec', 'RS256'],
    ['ES256 token checked with a P-384 key', 'ec', 'p384', 'ES256'],
    ['ES384 token checked with a P-256 key', 'p384', 'ec', 'ES384'],
    ['EdDSA token checked with an EC key', 'ed', 'ec', 'EdDSA'],
    ['HS256 token checked with an RSA public key', 'hs', 'rsa', 'HS256'],
    ['RS256 token checked with a secret', 'rsa', 'hs', 'RS256'],
  ])('refuses a %s, as jose does', async (_name, signer, verifier, alg) => {
    const token = signRaw(materials[signer] as KeyMaterial, alg, b64({ alg }), b64(baseClaims(now)));
    const [ours, reference] = await decisions(
      token,
      { ...(materials[verifier] as KeyMaterial), alg },
      options(alg),
      now,
    );
    expect([ours, reference]).toEqual([false, false]);
  });

  it('refuses RSA keys under 2048 bits, as jose does', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weak = { alg: 'RS256', signingKey: pair.privateKey, verifyKey: pair.publicKey };
    const token = signRaw(weak, 'RS256', b64({ alg: 'RS256' }), b64(baseClaims(now)));
    expect(await decisions(token, weak, options('RS256'), now)).toEqual([false, false]);
  });

  it('refuses PS256 signed with another salt length', async () => {
    const input = Buffer.from(`${b64({ alg: 'PS256' })}.${b64(baseClaims(now))}`);
    const signature = cryptoSign('sha256', input, {
      key: rsa.signingKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 20,
    });
    const token = `${input.toString()}.${signature.toString('base64url')}`;
    expect(await decisions(token, rsa, options('PS256'), now)).toEqual([false, false]);
  });

  it('refuses ES256 signatures in DER encoding', async () => {
    const input = Buffer.from(`${b64({ alg: 'ES256' })}.${b64(baseClaims(now))}`);
    const signature = cryptoSign('sha256', input, { key: ec.signingKey, dsaEncoding: 'der' });
    const token = `${input.toString()}.${signature.toString('base64url')}`;
    expect(await decisions(token, ec, options('ES256'), now)).toEqual([false, false]);
  });
});

/** Orders of the NIST curves' base points (SEC 2): `s` and `n − s` are both valid ECDSA signatures. */
const CURVE_ORDERS: Record<string, bigint> = {
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  ES384: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  ES512:
    0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

/** The other valid spelling of an ECDSA token: its signature's `s` replaced by `n − s`. */
function ecdsaTwin(token: string, alg: string): string {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const half = signature.length / 2;
  const s = BigInt(`0x${signature.subarray(half).toString('hex')}`);
  const twinS = (CURVE_ORDERS[alg] as bigint) - s;
  const twin = Buffer.concat([
    signature.subarray(0, half),
    Buffer.from(twinS.toString(16).padStart(half * 2, '0'), 'hex'),
  ]);
  return `${token.slice(0, dot)}.${twin.toString('base64url')}`;
}

describe.each(['ES256', 'ES384', 'ES512'])('ECDSA twins (%s): a token has two valid spellings', (alg) => {
  const material = keysFor(alg);
  const now = Math.floor(Date.now() / 1000);
  const options: JwtVerifyOptions = {
    algorithms: [alg],
    issuer: ISSUER,
    audience: [AUDIENCE],
    clockTolerance: 5,
    requiredClaims: ['exp'],
  };

  it('accepts both the token and its (r, n − s) twin, exactly as jose does', async () => {
    for (let run = 0; run < 8; run++) {
      const token = signRaw(material, alg, b64({ alg, kid: 'k1' }), b64({ ...baseClaims(now), jti: `t${run}` }));
      const twin = ecdsaTwin(token, alg);
      expect(twin).not.toBe(token);
      expect(await decisions(token, material, options, now)).toEqual([true, true]);
      expect(await decisions(twin, material, options, now)).toEqual([true, true]);
      // Same header and claims: only the signature's spelling differs.
      expect(twin.slice(0, twin.lastIndexOf('.'))).toBe(token.slice(0, token.lastIndexOf('.')));
    }
  });

  it('refuses a twin built against the wrong curve order, as jose does', async () => {
    const token = signRaw(material, alg, b64({ alg }), b64(baseClaims(now)));
    const wrong = alg === 'ES256' ? 'ES384' : 'ES256';
    const dot = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    const half = signature.length / 2;
    const s = BigInt(`0x${signature.subarray(half).toString('hex')}`);
    const bad = ((CURVE_ORDERS[wrong] as bigint) - s) & ((1n << BigInt(half * 8)) - 1n);
    const mangled = Buffer.concat([
      signature.subarray(0, half),
      Buffer.from(bad.toString(16).padStart(half * 2, '0'), 'hex'),
    ]);
    expect(await decisions(`${token.slice(0, dot)}.${mangled.toString('base64url')}`, material, options, now)).toEqual([
      false,
      false,
    ]);
  });
});

/** The DigestInfo prefix of EMSA-PKCS1-v1_5 for SHA-256 (RFC 8017 §9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * An RS256 "signature" forged without any private key for an RSA key whose public exponent is
 * 1: since s^1 mod n = s, the PKCS#1 v1.5 encoded message itself verifies.
 */
function forgeForExponentOne(signingInput: string, modulusBytes: number): Buffer {
  const digest = createHash('sha256').update(signingInput).digest();
  const padding = Buffer.alloc(modulusBytes - 3 - SHA256_DIGEST_INFO.length - digest.length, 0xff);
  return Buffer.concat([Buffer.from([0x00, 0x01]), padding, Buffer.from([0x00]), SHA256_DIGEST_INFO, digest]);
}

describe('intended differences from jose (the package is stricter)', () => {
  const now = Math.floor(Date.now() / 1000);
  const options: JwtVerifyOptions = {
    algorithms: ['RS256'],
    issuer: ISSUER,
    audience: [AUDIENCE],
    clockTolerance: 5,
    requiredClaims: ['exp'],
  };

  it('refuses a token forged for an RSA key with e = 1, which jose accepts', async () => {
    const real = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const weak = createPublicKey({ key: { kty: 'RSA', n: real.n as string, e: 'AQ' }, format: 'jwk' });
    const input = `${b64({ alg: 'RS256' })}.${b64(baseClaims(now))}`;
    const token = `${input}.${forgeForExponentOne(input, 256).toString('base64url')}`;
    const material = { alg: 'RS256', signingKey: weak, verifyKey: weak };
    expect(await decisions(token, material, options, now)).toEqual([false, true]);
  });

  it.each([
    ['e = 2 (even)', 'Ag'],
    ['e = 1', 'AQ'],
    ['e = 65536 (even)', 'AQAA'],
  ])('refuses an RSA key with %s for every RSA algorithm', (_name, e) => {
    const real = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const key = createPublicKey({ key: { kty: 'RSA', n: real.n as string, e }, format: 'jwk' });
    for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'])
      expect(() => assertKeyFitsAlgorithm(alg, key)).toThrow(/odd RSA public exponent/);
  });

  it('accepts RSA keys with e = 3 and e = 65537, as jose does', async () => {
    for (const publicExponent of [3, 65537]) {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent });
      const material = { alg: 'RS256', signingKey: pair.privateKey, verifyKey: pair.publicKey };
      const token = signRaw(material, 'RS256', b64({ alg: 'RS256' }), b64(baseClaims(now)));
      expect(await decisions(token, material, options, now)).toEqual([true, true]);
    }
  });

  it(`refuses a validly signed token whose header nests deeper than ${HEADER_SHAPE_LIMITS.depth} levels, which jose accepts`, async () => {
    const material = keysFor('RS256');
    const nested = (depth: number) => `{"alg":"RS256","x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    const deep = signRaw(material, 'RS256', b64(nested(HEADER_SHAPE_LIMITS.depth + 1)), b64(baseClaims(now)));
    expect(await decisions(deep, material, options, now)).toEqual([false, true]);
    const deepest = signRaw(material, 'RS256', b64(nested(HEADER_SHAPE_LIMITS.depth)), b64(baseClaims(now)));
    expect(await decisions(deepest, material, options, now)).toEqual([true, true]);
  });

  it(`refuses a validly signed token whose header holds more than ${HEADER_SHAPE_LIMITS.entries} entries, which jose accepts`, async () => {
    const material = keysFor('RS256');
    // {"alg":…,"x":[0,…]}: the array opening and each comma count, so n values make n + 1 entries.
    const wide = (values: number) => `{"alg":"RS256","x":[${Array(values).fill(0).join(',')}]}`;
    const tooWide = signRaw(material, 'RS256', b64(wide(HEADER_SHAPE_LIMITS.entries - 1)), b64(baseClaims(now)));
    expect(await decisions(tooWide, material, options, now)).toEqual([false, true]);
    const widest = signRaw(material, 'RS256', b64(wide(HEADER_SHAPE_LIMITS.entries - 2)), b64(baseClaims(now)));
    expect(await decisions(widest, material, options, now)).toEqual([true, true]);
    // Commas, brackets and braces inside strings are text, not entries.
    const text = `{"alg":"RS256","x":"${',[{'.repeat(200)}"}`;
    expect(
      await decisions(signRaw(material, 'RS256', b64(text), b64(baseClaims(now))), material, options, now),
    ).toEqual([true, true]);
  });
});
