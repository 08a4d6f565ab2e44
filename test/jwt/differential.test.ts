/**
 * Differential test: the node:crypto JWT path (src/jwt) must reach the same accept/reject
 * decision as `jose.jwtVerify`, the reference, for every supported algorithm, for validly
 * signed tokens with odd headers and claims, and for thousands of mutated tokens; and its
 * synchronous and thread-pool signature paths must agree with each other on every one of them.
 */
import { describe, expect, it } from '@jest/globals';
import { constants, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS } from '../../src/algorithms.js';
import {
  AUDIENCE,
  ISSUER,
  RUNS_PER_ALG,
  b64,
  baseClaims,
  decisions,
  keysFor,
  mutate,
  prng,
  signRaw,
  type JwtVerifyOptions,
  type KeyMaterial,
} from './differential-support.js';

const ALGORITHMS = [...ASYMMETRIC_ALGORITHMS, ...SYMMETRIC_ALGORITHMS];

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
