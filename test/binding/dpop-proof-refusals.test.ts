import { describe, expect, it } from '@jest/globals';
import { createNonceSource } from '../../src/binding/dpop-nonce.js';
import { MAX_PROOF_LENGTH, PROOF_FAILURES, verifyDPoPProof } from '../../src/binding/dpop-proof.js';
import { context, es256, expectRefused } from './proof-context.js';
import { b64url, makeKeyPair, makeProof, NOW, PROOF_ALGORITHMS, sha256, signJws, TOKEN } from './proofs.js';

describe('verifyDPoPProof refuses', () => {
  it('a missing proof, several proofs and joined headers', () => {
    const proof = makeProof(es256);
    expectRefused(undefined, PROOF_FAILURES.missing);
    expectRefused('', PROOF_FAILURES.missing);
    expectRefused([], PROOF_FAILURES.missing);
    expectRefused([proof, proof], PROOF_FAILURES.several);
    expectRefused(`${proof}, ${proof}`, PROOF_FAILURES.several);
  });

  it('a proof over 8 KB before parsing it, and accepts one just under', () => {
    const padded = (size: number) => makeProof(es256, (p) => (p.header.pad = 'x'.repeat(size)));
    // 5,000 characters of padding fit; grow them one at a time to the largest proof that does.
    let size = 5000;
    expect(padded(size).length).toBeLessThan(MAX_PROOF_LENGTH);
    while (padded(size + 1).length <= MAX_PROOF_LENGTH) size += 1;
    expect(verifyDPoPProof(padded(size), context()).jti).toBe('e1j3V_bKic8-LAEB');
    expect(padded(size + 1).length).toBeGreaterThan(MAX_PROOF_LENGTH);
    expectRefused(padded(size + 1), PROOF_FAILURES.tooLarge);
    // Junk that parsing would call malformed, and a joined header, are refused for their size alone.
    expectRefused('!'.repeat(MAX_PROOF_LENGTH + 1), PROOF_FAILURES.tooLarge);
    expectRefused(`${padded(size)}, ${padded(size)}`, PROOF_FAILURES.tooLarge);
  });

  it.each([
    ['two parts', (proof: string) => proof.split('.').slice(0, 2).join('.')],
    ['four parts', (proof: string) => `${proof}.x`],
    ['a padded signature', (proof: string) => `${proof}==`],
    ['whitespace', (proof: string) => proof.replace('.', '. ')],
    ['a header that is not JSON', (proof: string) => `${b64url('{typ:dpop+jwt')}${proof.slice(proof.indexOf('.'))}`],
    ['a header that is a JSON array', (proof: string) => `${b64url('[1]')}${proof.slice(proof.indexOf('.'))}`],
  ])('a malformed proof: %s', (_name, mangle) => {
    expectRefused(mangle(makeProof(es256)), PROOF_FAILURES.malformed);
  });

  it('signed claims that are not a JSON object, and a crit header', () => {
    const input = `${b64url({ typ: 'dpop+jwt', alg: 'ES256', jwk: es256.publicJwk })}.${b64url('not json')}`;
    expectRefused(
      `${input}.${signJws('ES256', es256.privateKey, input).toString('base64url')}`,
      PROOF_FAILURES.malformed,
    );
    expectRefused(
      makeProof(es256, (p) => (p.header.crit = ['b64'])),
      PROOF_FAILURES.malformed,
    );
  });

  it.each([undefined, 'JWT', 'at+jwt', 'application/dpop+jwt', 'DPOP+JWT', 1])('typ %p', (typ) => {
    expectRefused(
      makeProof(es256, (p) => (p.header.typ = typ)),
      PROOF_FAILURES.type,
    );
  });

  it.each(['none', 'NONE', 'HS256', 'HS512', 'ES256K', 'RS1', '', undefined, 42])('alg %p', (alg) => {
    const algorithms = [...PROOF_ALGORITHMS, 'none', 'HS256', 'HS512'];
    expectRefused(
      makeProof(es256, (p) => (p.header.alg = alg)),
      PROOF_FAILURES.algorithm,
      context(es256, { algorithms }),
    );
  });

  it('an alg outside the allowed list', () => {
    expectRefused(makeProof(es256), PROOF_FAILURES.algorithm, context(es256, { algorithms: ['EdDSA', 'PS256'] }));
  });

  it('alg none with an empty signature', () => {
    const input = `${b64url({ typ: 'dpop+jwt', alg: 'none', jwk: es256.publicJwk })}.${b64url({ htm: 'GET' })}`;
    expectRefused(`${input}.`, PROOF_FAILURES.algorithm);
  });

  it.each(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'])('a jwk with the private member %s', (member) => {
    const rsa = makeKeyPair('RS256');
    const privateJwk = rsa.privateKey.export({ format: 'jwk' });
    const jwk = { ...rsa.publicJwk, [member]: privateJwk[member] ?? 'AQAB' };
    expectRefused(
      makeProof(rsa, (p) => (p.header.jwk = jwk)),
      PROOF_FAILURES.key,
      context(rsa),
    );
  });

  it('a jwk that is the private key itself', () => {
    const jwk = es256.privateKey.export({ format: 'jwk' });
    expectRefused(
      makeProof(es256, (p) => (p.header.jwk = jwk)),
      PROOF_FAILURES.key,
    );
  });

  it.each([
    ['missing', undefined],
    ['a string', 'jwk'],
    ['an array', []],
    ['a symmetric key', { kty: 'oct', k: 'c2VjcmV0' }],
    ['an RSA key for ES256', makeKeyPair('RS256').publicJwk],
    ['an Ed25519 key for ES256', makeKeyPair('EdDSA').publicJwk],
    ['a P-384 key for ES256', makeKeyPair('ES384').publicJwk],
    ['a key for encryption', { ...es256.publicJwk, use: 'enc' }],
    ['key_ops without verify', { ...es256.publicJwk, key_ops: ['sign'] }],
    ['key_ops with sign as well', { ...es256.publicJwk, key_ops: ['verify', 'sign'] }],
    ['key_ops that is not an array', { ...es256.publicJwk, key_ops: 'verify' }],
    ['ext that is not a boolean', { ...es256.publicJwk, ext: 'true' }],
    ['an alg member for another algorithm', { ...es256.publicJwk, alg: 'ES384' }],
    ['a short coordinate', { ...es256.publicJwk, x: (es256.publicJwk.x as string).slice(2) }],
    ['a coordinate with stray bits', { ...es256.publicJwk, x: `${(es256.publicJwk.x as string).slice(0, -1)}B` }],
    ['a point off the curve', { ...es256.publicJwk, y: es256.publicJwk.x }],
    ['a numeric coordinate', { ...es256.publicJwk, x: 1 }],
  ])('a jwk that is %s', (_name, jwk) => {
    expectRefused(
      makeProof(es256, (p) => (p.header.jwk = jwk)),
      PROOF_FAILURES.key,
    );
  });

  it('an RSA key shorter than 2048 bits', () => {
    const weak = makeKeyPair('RS256', 1024);
    expectRefused(makeProof(weak), PROOF_FAILURES.key, context(weak));
  });

  it('an EC key for an RS algorithm and an RSA key for PS with a mismatched alg header', () => {
    expectRefused(
      makeProof(es256, (p) => (p.header.alg = 'RS256')),
      PROOF_FAILURES.key,
    );
    const rsa = makeKeyPair('PS256');
    expectRefused(
      makeProof(rsa, (p) => (p.header.alg = 'ES256')),
      PROOF_FAILURES.key,
      context(rsa),
    );
  });

  it('a bad signature: flipped bits, another key, a signature from RS256 on a PS256 proof', () => {
    const proof = makeProof(es256);
    const signature = Buffer.from(proof.split('.')[2] as string, 'base64url');
    signature[5] = (signature[5] as number) ^ 1;
    expectRefused(
      `${proof.slice(0, proof.lastIndexOf('.') + 1)}${signature.toString('base64url')}`,
      PROOF_FAILURES.signature,
    );
    const other = makeKeyPair('ES256');
    const forged = makeProof({ ...other, publicJwk: es256.publicJwk });
    expectRefused(forged, PROOF_FAILURES.signature);
    const rsa = makeKeyPair('RS256');
    const pssHeader = makeProof({ ...rsa, alg: 'RS256' }, (p) => (p.header.alg = 'PS256'));
    expectRefused(pssHeader, PROOF_FAILURES.signature, context(rsa));
  });

  it.each([undefined, 'get', 'POST', ' GET', ['GET']])('htm %p for a GET', (htm) => {
    expectRefused(
      makeProof(es256, (p) => (p.claims.htm = htm)),
      PROOF_FAILURES.method,
    );
  });

  it.each([
    undefined,
    'https://api.example.com/orders/',
    'https://api.example.com/other',
    'http://api.example.com/orders',
    'https://api.example.com:8443/orders',
    'https://evil.example/orders',
    'https://user@api.example.com/orders',
    'https://@api.example.com/orders',
    '/orders',
    'https://api.example.com/orders/..',
    ['https://api.example.com/orders'],
  ])('htu %p', (htu) => {
    expectRefused(
      makeProof(es256, (p) => (p.claims.htu = htu)),
      PROOF_FAILURES.url,
    );
  });

  it('any proof when the request URL itself is unusable', () => {
    const proof = makeProof(es256, (p) => (p.claims.htu = 'not a url'));
    expectRefused(proof, PROOF_FAILURES.url, context(es256, { url: 'not a url' }));
  });

  it.each([
    ['too old', NOW - 66],
    ['in the future', NOW + 6],
    ['a string', String(NOW)],
    ['missing', undefined],
    ['null', null],
  ])('iat %s', (_name, iat) => {
    expectRefused(
      makeProof(es256, (p) => (p.claims.iat = iat)),
      PROOF_FAILURES.issuedAt,
    );
  });

  it('exp past or not a number, nbf in the future', () => {
    expectRefused(
      makeProof(es256, (p) => (p.claims.exp = NOW - 5)),
      PROOF_FAILURES.expired,
    );
    expectRefused(
      makeProof(es256, (p) => (p.claims.exp = String(NOW + 60))),
      PROOF_FAILURES.expired,
    );
    expectRefused(
      makeProof(es256, (p) => (p.claims.nbf = NOW + 6)),
      PROOF_FAILURES.notBefore,
    );
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['5,000 characters', 'j'.repeat(5_000)],
    ['257 characters', 'j'.repeat(257)],
    ['a number', 7],
  ])('jti %s', (_name, jti) => {
    expectRefused(
      makeProof(es256, (p) => (p.claims.jti = jti)),
      PROOF_FAILURES.jti,
    );
  });

  it('a 10,000-character jti, for the size of the proof before looking at it', () => {
    expectRefused(
      makeProof(es256, (p) => (p.claims.jti = 'j'.repeat(10_000))),
      PROOF_FAILURES.tooLarge,
    );
  });

  it('accepts a jti of 256 characters', () => {
    expect(
      verifyDPoPProof(
        makeProof(es256, (p) => (p.claims.jti = 'j'.repeat(256))),
        context(),
      ).jti,
    ).toHaveLength(256);
  });

  it.each([
    ['missing', undefined],
    ['of another token', sha256(`${TOKEN}x`)],
    ['the token itself', TOKEN],
    ['hex', 'ab'.repeat(32)],
  ])('ath %s', (_name, ath) => {
    expectRefused(
      makeProof(es256, (p) => (p.claims.ath = ath)),
      PROOF_FAILURES.tokenHash,
    );
  });

  it('a key that is not the one the token is bound to, with reason binding_mismatch', () => {
    const other = makeKeyPair('ES256');
    expectRefused(makeProof(other), PROOF_FAILURES.keyMismatch, context(es256), 'binding_mismatch');
  });

  it('a missing or invalid nonce with use_dpop_nonce', () => {
    const nonces = createNonceSource({ secret: 'n'.repeat(32), lifetime: 300 });
    const ctx = context(es256, { nonces });
    expectRefused(makeProof(es256), PROOF_FAILURES.nonceMissing, ctx, 'use_dpop_nonce');
    for (const nonce of [
      'junk',
      nonces.issue(NOW - 300),
      createNonceSource({ secret: 'm'.repeat(32) }).issue(NOW),
      1,
    ]) {
      expectRefused(
        makeProof(es256, (p) => (p.claims.nonce = nonce)),
        PROOF_FAILURES.nonceInvalid,
        ctx,
        'use_dpop_nonce',
      );
    }
  });

  it('in the documented order: signature before claims, binding before nonce', () => {
    const nonces = createNonceSource({ secret: 'n'.repeat(32) });
    const other = makeKeyPair('ES256');
    expectRefused(makeProof(other), PROOF_FAILURES.keyMismatch, context(es256, { nonces }), 'binding_mismatch');
    const badEverything = makeProof(es256, (p) => Object.assign(p.claims, { htm: 'PUT', iat: 0 }));
    const broken = `${badEverything.slice(0, -4)}AAAA`;
    expectRefused(broken, PROOF_FAILURES.signature);
    expectRefused(
      makeProof(es256, (p) => Object.assign(p.claims, { htm: 'PUT', iat: 0 })),
      PROOF_FAILURES.method,
    );
  });
});
