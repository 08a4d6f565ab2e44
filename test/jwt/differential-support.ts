/**
 * Shared by the differential tests: keys for every algorithm, raw JWS signing (so odd headers
 * can be produced), token mutations, and the decision of the node:crypto JWT path (its
 * synchronous and thread-pool paths, which must agree) next to `jose.jwtVerify`'s.
 */
import {
  constants,
  createHmac,
  createSecretKey,
  generateKeyPairSync,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto';
import { jwtVerify, type JWTVerifyOptions } from 'jose';
import type { ClaimsSetOptions } from '../../src/jwt/claims-set.js';
import { checkSignedJwt, decodePayload, parseJwt } from '../../src/jwt/verify.js';

/** The verifier's inputs: an `alg` allow-list and the claims-set checks. */
export type JwtVerifyOptions = ClaimsSetOptions & { algorithms: readonly string[] };

export const ISSUER = 'https://issuer.example/';
export const AUDIENCE = 'https://api.example.com';
export const RUNS_PER_ALG = Number(process.env.DIFFERENTIAL_RUNS ?? 400);

/** The key that signs and the key that verifies (the same secret for HS*). */
export interface KeyMaterial {
  alg: string;
  signingKey: KeyObject;
  verifyKey: KeyObject;
}

/** Fresh keys for `alg`: RSA 2048, the algorithm's curve, Ed25519, or a shared secret. */
export function keysFor(alg: string): KeyMaterial {
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

/** base64url of a string (UTF-8) or of a JSON value. */
export const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs exactly the given header and payload strings (so odd headers can be produced). */
export function signRaw(material: KeyMaterial, alg: string, encodedHeader: string, encodedPayload: string): string {
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

/** The claims of a valid client-credentials token at `now`. */
export function baseClaims(now: number): Record<string, unknown> {
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
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random mutation of a token: bit flips, character edits, truncation, part swaps, padding. */
export function mutate(token: string, random: () => number): string {
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
    const parsed = parseJwt(token, options.algorithms, options.typ);
    checkSignedJwt(parsed, decodePayload(parsed), material.verifyKey, options, now, false);
    synchronous = true;
  } catch {
    synchronous = false;
  }
  let offThread: boolean;
  try {
    // Without `typ` here: the claims-set check must refuse a wrong `typ` on its own, as jose does.
    const parsed = parseJwt(token, options.algorithms);
    await checkSignedJwt(parsed, decodePayload(parsed), material.verifyKey, options, now, true);
    offThread = true;
  } catch {
    offThread = false;
  }
  if (offThread !== synchronous) {
    throw new Error(`thread-pool path ${offThread}, synchronous path ${synchronous} on ${JSON.stringify(token)}`);
  }
  return synchronous;
}

/** `[ours, jose's]` accept decisions on `token`. */
export async function decisions(
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
