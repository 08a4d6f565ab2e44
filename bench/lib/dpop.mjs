/**
 * DPoP for the benchmark: one ES256 proof key, the token bound to it (`cnf.jkt`), and proofs
 * signed with node:crypto over a pre-encoded header — tens of thousands per second, so a fresh
 * proof for every request can be made before each timed run instead of inside it. The proofs
 * are the ones `createDPoPKey()` of express-m2m/testing makes (`typ` dpop+jwt, the public
 * `jwk` in the header, `jti`, `htm`, `htu`, `iat`, `ath`); every contender's pre-check must
 * accept one before anything is measured.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An ES256 proof key: its public JWK and RFC 7638 SHA-256 thumbprint (`jkt`). */
export function createProofKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { crv, kty, x, y } = publicKey.export({ format: 'jwk' });
  const jwk = { kty, crv, x, y };
  // RFC 7638: the required members in lexicographic order, no whitespace.
  const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
  return { privateKey, jwk, jkt };
}

/**
 * Makes proofs for `GET htu` carrying `accessToken`'s hash. Each call returns a proof with a
 * new `jti` (unique across processes: a random prefix and a counter) and `iat` = `now`.
 */
export function proofMinter(key, accessToken, htu) {
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk });
  const ath = createHash('sha256').update(accessToken, 'ascii').digest('base64url');
  const prefix = randomBytes(6).toString('base64url');
  let n = 0;
  return (now = Math.floor(Date.now() / 1000)) => {
    const input = `${header}.${b64({ jti: `${prefix}-${n++}`, htm: 'GET', htu, iat: now, ath })}`;
    const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  };
}

/**
 * A supply of one-use proofs for one contender: `refill(count)` mints a batch (before a timed
 * run, with the current `iat`); `next()` hands them out in order and, should a run outlast its
 * batch, mints on demand (counted in `mintedOnDemand`, shown in the report: that minting then
 * competed with the app for the CPU).
 */
export function proofSupply(mint) {
  let batch = [];
  let index = 0;
  const supply = {
    mintedOnDemand: 0,
    refill(count) {
      const now = Math.floor(Date.now() / 1000);
      batch = Array.from({ length: count }, () => mint(now));
      index = 0;
    },
    next() {
      if (index < batch.length) return batch[index++];
      supply.mintedOnDemand++;
      return mint();
    },
    /** Proofs handed out since the last refill. */
    get used() {
      return index;
    },
  };
  return supply;
}
