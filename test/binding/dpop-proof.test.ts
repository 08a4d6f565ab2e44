import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createNonceSource } from '../../src/binding/dpop-nonce.js';
import { PROOF_FAILURES, ProofFailure, verifyDPoPProof } from '../../src/binding/dpop-proof.js';
import { proofKeyCacheSize } from '../../src/binding/proof-key.js';
import { context, es256, expectRefused } from './proof-context.js';
import { makeKeyPair, makeProof, NOW, PROOF_ALGORITHMS, sha256, thumbprint } from './proofs.js';

describe('verifyDPoPProof accepts', () => {
  it.each(PROOF_ALGORITHMS)('a valid %s proof, returning jti, jkt, the replay key and ttl', (alg) => {
    const pair = makeKeyPair(alg);
    const result = verifyDPoPProof(makeProof(pair), context(pair));
    const jkt = thumbprint(pair.publicJwk);
    expect(result).toEqual({
      jti: 'e1j3V_bKic8-LAEB',
      jkt,
      replayKey: sha256(`${jkt}.e1j3V_bKic8-LAEB`),
      replayTtl: 70,
      nonceStatus: 'off',
    });
    expect(Object.isFrozen(result)).toBe(true);
  });

  it('Ed25519 as the fully specified name of EdDSA', () => {
    const pair = makeKeyPair('Ed25519');
    expect(verifyDPoPProof(makeProof(pair), context(pair, { algorithms: ['EdDSA'] })).jkt).toBe(
      thumbprint(pair.publicJwk),
    );
  });

  it('optional jwk members that agree: use sig, key_ops verify, ext, alg, kid', () => {
    const jwk = { ...es256.publicJwk, use: 'sig', key_ops: ['verify'], ext: true, alg: 'ES256', kid: 'k' };
    expect(() =>
      verifyDPoPProof(
        makeProof(es256, (p) => (p.header.jwk = jwk)),
        context(),
      ),
    ).not.toThrow();
    const ed = makeKeyPair('Ed25519');
    const named = makeProof(ed, (p) => (p.header.jwk = { ...ed.publicJwk, alg: 'Ed25519' }));
    expect(() => verifyDPoPProof(named, context(ed))).not.toThrow();
    const mixed = makeProof(ed, (p) => (p.header.jwk = { ...ed.publicJwk, alg: 'EdDSA' }));
    expectRefused(mixed, PROOF_FAILURES.key, context(ed));
  });

  it('a proof in a one-element array (a header Node did not join)', () => {
    expect(verifyDPoPProof([makeProof(es256)], context()).jti).toBe('e1j3V_bKic8-LAEB');
  });

  it('iat at both edges of the window, exp and nbf when current', () => {
    for (const iat of [NOW - 65, NOW + 5, NOW - 12.5]) {
      expect(() =>
        verifyDPoPProof(
          makeProof(es256, (p) => (p.claims.iat = iat)),
          context(),
        ),
      ).not.toThrow();
    }
    const proof = makeProof(es256, (p) => Object.assign(p.claims, { exp: NOW - 4, nbf: NOW + 5 }));
    expect(() => verifyDPoPProof(proof, context())).not.toThrow();
  });

  it('an htu that differs only in case, default port, percent-encoding, dot segments, query and fragment', () => {
    for (const htu of [
      'HTTPS://API.EXAMPLE.COM:443/orders?page=2#top',
      'https://api.example.com/%6Frders',
      'https://api.example.com/a/../orders',
    ]) {
      expect(() =>
        verifyDPoPProof(
          makeProof(es256, (p) => (p.claims.htu = htu)),
          context(),
        ),
      ).not.toThrow();
    }
  });

  it('an htu with an IDN host against the request URL in punycode, and the reverse', () => {
    const proof = makeProof(es256, (p) => (p.claims.htu = 'https://bücher.example/orders'));
    expect(() => verifyDPoPProof(proof, context(es256, { url: 'https://xn--bcher-kva.example/orders' }))).not.toThrow();
    const ascii = makeProof(es256, (p) => (p.claims.htu = 'https://xn--bcher-kva.example/orders'));
    expect(() => verifyDPoPProof(ascii, context(es256, { url: 'https://bücher.example/orders' }))).not.toThrow();
  });

  it('a proof without ath nor expected key at a token endpoint (accessToken and expectedJkt null)', () => {
    const proof = makeProof(es256, (p) => delete p.claims.ath);
    const result = verifyDPoPProof(proof, context(es256, { accessToken: null, expectedJkt: null }));
    expect(result.jkt).toBe(thumbprint(es256.publicJwk));
  });

  it('the nonce when fresh or due for renewal, and reports which', () => {
    const nonces = createNonceSource({ secret: 'n'.repeat(32), lifetime: 300 });
    const fresh = makeProof(es256, (p) => (p.claims.nonce = nonces.issue(NOW - 10)));
    expect(verifyDPoPProof(fresh, context(es256, { nonces })).nonceStatus).toBe('fresh');
    const old = makeProof(es256, (p) => (p.claims.nonce = nonces.issue(NOW - 200)));
    expect(verifyDPoPProof(old, context(es256, { nonces })).nonceStatus).toBe('renew');
  });

  it('imports each proof key once (the key cache does not grow with repeated proofs)', () => {
    const pair = makeKeyPair('ES384');
    verifyDPoPProof(makeProof(pair), context(pair));
    const size = proofKeyCacheSize();
    for (let i = 0; i < 20; i += 1)
      verifyDPoPProof(
        makeProof(pair, (p) => (p.claims.jti = `j${i}`)),
        context(pair),
      );
    expect(proofKeyCacheSize()).toBe(size);
  });
});

describe('ProofFailure', () => {
  it('uses only RFC 6750 error_description characters', () => {
    for (const description of Object.values(PROOF_FAILURES))
      expect(description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
  });

  it('is the only thing verifyDPoPProof throws, whatever the input, and never echoes it', () => {
    const proof = makeProof(es256);
    const mutated = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .tuple(fc.nat(proof.length - 1), fc.string({ maxLength: 3 }))
        .map(([at, text]) => proof.slice(0, at) + text + proof.slice(at + 1)),
    );
    fc.assert(
      fc.property(mutated, (input) => {
        try {
          verifyDPoPProof(input, context());
          return input === proof;
        } catch (error) {
          return error instanceof ProofFailure && (input.length < 8 || !error.message.includes(input));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
