/**
 * Differential test: `verifyDPoPProof` must reach the same decision (accept, reject, or reject
 * for a key that is not the token's) as an independent reference built from jose primitives —
 * `jwtVerify` with `EmbeddedJWK` for the JWS, `calculateJwkThumbprint` for the binding — and
 * the proof rules written out plainly below, on mutated proofs of every algorithm.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import {
  ProofFailure,
  verifyDPoPProof,
  verifyDPoPProofOffThread,
  type DPoPProofContext,
} from '../../src/binding/dpop-proof.js';
import { makeKeyPair, NOW, PROOF_ALGORITHMS, signJws, thumbprint, TOKEN, URL, type ProofKeyPair } from './proofs.js';

const RUNS = Number(process.env.DIFFERENTIAL_RUNS ?? 1500);
const ALGS = [...PROOF_ALGORITHMS, 'Ed25519'] as const;
const MAX_AGE = 60;
const TOLERANCE = 5;

const pairs = new Map(ALGS.map((alg) => [alg, makeKeyPair(alg)]));
/** A second key per algorithm (RSA of another size, so it differs from the shared 2048-bit one). */
const others = new Map(ALGS.map((alg) => [alg, makeKeyPair(alg, 3072)]));
const weakRsa = makeKeyPair('RS256', 1024);

type Decision = 'accept' | 'reject' | 'binding_mismatch';
type Parts = { header: Record<string, unknown>; claims: Record<string, unknown> };
interface Case {
  pair: ProofKeyPair;
  parts: Parts;
  signWith: ProofKeyPair;
  signature: string;
  context: DPoPProofContext;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');
const enc = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Each mutation kind and its variants; a case applies zero to three of them. */
const MUTATIONS: Record<string, Array<(c: Case) => void>> = {
  typ: [
    (c) => delete c.parts.header.typ,
    (c) => (c.parts.header.typ = 'JWT'),
    (c) => (c.parts.header.typ = 'application/dpop+jwt'),
    (c) => (c.parts.header.typ = 'DPOP+JWT'),
  ],
  alg: [
    (c) => (c.parts.header.alg = 'none'),
    (c) => (c.parts.header.alg = 'HS256'),
    (c) => delete c.parts.header.alg,
    (c) => (c.parts.header.alg = c.pair.alg === 'ES256' ? 'ES384' : 'ES256'),
    (c) => (c.parts.header.alg = c.pair.alg.startsWith('RS') ? `PS${c.pair.alg.slice(2)}` : 'RS256'),
  ],
  jwk: [
    (c) => delete c.parts.header.jwk,
    (c) => (c.parts.header.jwk = others.get(c.pair.alg as 'ES256')?.publicJwk),
    (c) => (c.parts.header.jwk = (c.pair.alg.startsWith('ES') ? pairs.get('EdDSA') : pairs.get('ES256'))?.publicJwk),
    (c) => (c.parts.header.jwk = c.pair.privateKey.export({ format: 'jwk' })),
    (c) => (c.parts.header.jwk = { ...c.pair.publicJwk, use: 'enc' }),
    (c) => (c.parts.header.jwk = { ...c.pair.publicJwk, use: 'sig' }),
    (c) => (c.parts.header.jwk = { ...c.pair.publicJwk, key_ops: ['verify'] }),
    (c) => (c.parts.header.jwk = { ...c.pair.publicJwk, key_ops: ['sign'] }),
    (c) => (c.parts.header.jwk = { ...c.pair.publicJwk, alg: c.pair.alg }),
    (c) => (c.parts.header.jwk = { ...c.pair.publicJwk, alg: 'ES512' }),
    (c) => (c.parts.header.jwk = { ...c.pair.publicJwk, ext: 'yes' }),
    (c) => (c.parts.header.jwk = { ...c.pair.publicJwk, kid: 'k1' }),
    (c) => (c.parts.header.jwk = { ...c.pair.publicJwk, x: String(c.pair.publicJwk.x ?? 'AQAB').slice(4) }),
    (c) => (c.parts.header.jwk = 'not an object'),
    (c) => Object.assign(c, { pair: weakRsa, signWith: weakRsa }, { parts: withKey(c.parts, weakRsa) }),
  ],
  crit: [(c) => (c.parts.header.crit = ['b64']), (c) => (c.parts.header.kid = 'unrelated')],
  htm: [(c) => (c.parts.claims.htm = 'POST'), (c) => (c.parts.claims.htm = 'get'), (c) => delete c.parts.claims.htm],
  htu: [
    (c) => (c.parts.claims.htu = `${URL}/other`),
    (c) => (c.parts.claims.htu = `${URL}?page=2#top`),
    (c) => (c.parts.claims.htu = URL.replace('api.example.com', 'API.EXAMPLE.COM:443')),
    (c) => (c.parts.claims.htu = URL.replace('https://', 'https://user@')),
    (c) => (c.parts.claims.htu = URL.replace('https', 'http')),
    (c) => (c.parts.claims.htu = 42),
    (c) => delete c.parts.claims.htu,
  ],
  iat: [
    (c) => (c.parts.claims.iat = NOW - MAX_AGE - TOLERANCE),
    (c) => (c.parts.claims.iat = NOW - MAX_AGE - TOLERANCE - 1),
    (c) => (c.parts.claims.iat = NOW + TOLERANCE),
    (c) => (c.parts.claims.iat = NOW + TOLERANCE + 1),
    (c) => (c.parts.claims.iat = String(NOW)),
    (c) => delete c.parts.claims.iat,
  ],
  exp: [
    (c) => (c.parts.claims.exp = NOW + 60),
    (c) => (c.parts.claims.exp = NOW - TOLERANCE),
    (c) => (c.parts.claims.exp = NOW - TOLERANCE + 1),
    (c) => (c.parts.claims.exp = 'soon'),
    (c) => (c.parts.claims.nbf = NOW + TOLERANCE + 1),
    (c) => (c.parts.claims.nbf = NOW),
  ],
  jti: [
    (c) => delete c.parts.claims.jti,
    (c) => (c.parts.claims.jti = ''),
    (c) => (c.parts.claims.jti = 'j'.repeat(256)),
    (c) => (c.parts.claims.jti = 'j'.repeat(257)),
    (c) => (c.parts.claims.jti = 12),
  ],
  ath: [(c) => delete c.parts.claims.ath, (c) => (c.parts.claims.ath = sha256(`${TOKEN}.`))],
  signature: [
    (c) => (c.signature = 'flip'),
    (c) => (c.signature = 'truncate'),
    (c) => (c.signature = 'empty'),
    (c) => (c.signature = 'pad'),
    (c) => (c.signWith = others.get(c.pair.alg as 'ES256') as ProofKeyPair),
  ],
  context: [
    (c) => (c.context.algorithms = ALGS.filter((alg) => alg !== c.pair.alg && alg !== 'Ed25519')),
    (c) => (c.context.algorithms = ['ES256', 'EdDSA']),
    (c) => (c.context.expectedJkt = thumbprint((others.get('ES256') as ProofKeyPair).publicJwk)),
    (c) => (c.context.method = 'DELETE'),
    (c) => (c.context.now = NOW + 61),
    (c) => (c.context.now = NOW - 6),
  ],
};

function withKey(parts: Parts, pair: ProofKeyPair): Parts {
  return { header: { ...parts.header, alg: pair.alg, jwk: pair.publicJwk }, claims: parts.claims };
}

function buildCase(alg: string, mutations: Array<[string, number]>): { proof: string; context: DPoPProofContext } {
  const pair = pairs.get(alg as 'ES256') as ProofKeyPair;
  const c: Case = {
    pair,
    signWith: pair,
    signature: 'keep',
    parts: {
      header: { typ: 'dpop+jwt', alg, jwk: pair.publicJwk },
      claims: { htm: 'GET', htu: URL, iat: NOW - 3, jti: 'id-1', ath: sha256(TOKEN) },
    },
    context: {
      method: 'GET',
      url: URL,
      accessToken: TOKEN,
      expectedJkt: thumbprint(pair.publicJwk),
      algorithms: PROOF_ALGORITHMS,
      maxAge: MAX_AGE,
      clockTolerance: TOLERANCE,
      now: NOW,
    },
  };
  for (const [kind, index] of mutations) {
    const variants = MUTATIONS[kind] as Array<(c: Case) => void>;
    (variants[index % variants.length] as (c: Case) => void)(c);
  }
  const input = `${enc(c.parts.header)}.${enc(c.parts.claims)}`;
  let signature = signJws(c.signWith.alg, c.signWith.privateKey, input).toString('base64url');
  if (c.signature === 'flip') signature = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
  if (c.signature === 'truncate') signature = signature.slice(0, -4);
  if (c.signature === 'empty') signature = '';
  if (c.signature === 'pad') signature = `${signature}==`;
  return { proof: `${input}.${signature}`, context: c.context };
}

/** The rules, written plainly, around jose's JWS verification and thumbprint. */
async function reference(proof: string, context: DPoPProofContext): Promise<Decision> {
  if (proof.length > 8192) return 'reject';
  const parts = proof.split('.');
  const canonical = (part: string) =>
    /^[A-Za-z0-9_-]+$/.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part;
  if (parts.length !== 3 || !parts.every(canonical)) return 'reject';
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'reject';
  }
  if ('crit' in header || header.typ !== 'dpop+jwt') return 'reject';
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null) return 'reject';
  // Public key only; key_ops exactly ["verify"]; EC coordinates at full length.
  if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'].some((member) => member in jwk)) return 'reject';
  if (jwk.key_ops !== undefined && JSON.stringify(jwk.key_ops) !== '["verify"]') return 'reject';
  const size = { 'P-256': 32, 'P-384': 48, 'P-521': 66, Ed25519: 32 }[jwk.crv as string];
  if (size !== undefined && Buffer.from(String(jwk.x), 'base64url').length !== size) return 'reject';
  const asymmetric = context.algorithms.filter((alg) => !alg.startsWith('HS') && alg !== 'none');
  const algorithms = asymmetric.includes('EdDSA') ? [...asymmetric, 'Ed25519'] : asymmetric;
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
      algorithms,
      typ: 'dpop+jwt',
      currentDate: new Date(context.now * 1000),
      clockTolerance: context.clockTolerance,
    }));
  } catch {
    return 'reject';
  }
  if (payload.htm !== context.method) return 'reject';
  if (typeof payload.htu !== 'string' || payload.htu.includes('@')) return 'reject';
  const plain = (url: URL) => `${url.protocol}//${url.host}${url.pathname}`;
  if (plain(new globalThis.URL(payload.htu)) !== plain(new globalThis.URL(context.url))) return 'reject';
  const { iat, jti } = payload;
  if (typeof iat !== 'number') return 'reject';
  if (iat < context.now - context.maxAge - context.clockTolerance || iat > context.now + context.clockTolerance)
    return 'reject';
  if (typeof jti !== 'string' || jti.length < 1 || jti.length > 256) return 'reject';
  if (payload.ath !== sha256(context.accessToken as string)) return 'reject';
  if ((await calculateJwkThumbprint(jwk as JWK, 'sha256')) !== context.expectedJkt) return 'binding_mismatch';
  return 'accept';
}

/** The decision and, for a refusal, the failure's description. */
async function outcome(run: () => unknown): Promise<{ decision: Decision; description?: string }> {
  try {
    await run();
    return { decision: 'accept' };
  } catch (error) {
    if (!(error instanceof ProofFailure)) throw error;
    const decision = error.reason === 'binding_mismatch' ? 'binding_mismatch' : 'reject';
    return { decision, description: error.description };
  }
}

/** Our decision, which the thread-pool variant must reach too, for the same reason. */
async function decide(proof: string, context: DPoPProofContext): Promise<Decision> {
  const onLoop = await outcome(() => verifyDPoPProof(proof, context));
  const offThread = await outcome(() => verifyDPoPProofOffThread(proof, context));
  expect(offThread).toEqual(onLoop);
  return onLoop.decision;
}

describe('verifyDPoPProof and verifyDPoPProofOffThread against a jose-based reference', () => {
  it(`reaches the same decision on ${RUNS} mutated proofs of every algorithm`, async () => {
    const seen: Record<Decision, number> = { accept: 0, reject: 0, binding_mismatch: 0 };
    const mutation = fc.tuple(fc.constantFrom(...Object.keys(MUTATIONS)), fc.nat(20));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ALGS), fc.array(mutation, { maxLength: 3 }), async (alg, mutations) => {
        const { proof, context } = buildCase(alg, mutations);
        const expected = await reference(proof, context);
        seen[expected] += 1;
        expect(await decide(proof, context)).toBe(expected);
      }),
      { numRuns: RUNS },
    );
    if (process.env.DIFFERENTIAL_LOG) console.log(seen);
    // The comparison is only meaningful if every kind of decision was exercised.
    expect(seen.accept).toBeGreaterThan(RUNS / 10);
    expect(seen.reject).toBeGreaterThan(RUNS / 3);
    expect(seen.binding_mismatch).toBeGreaterThan(0);
  });
});
