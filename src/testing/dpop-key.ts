import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, SignJWT, type JWK } from 'jose';
import { isAsymmetricAlgorithm, type AsymmetricAlgorithm } from '../algorithms.js';
import { generatePair, toPublicJwk } from './keys.js';

/** Options of {@link DPoPKey.proof}. */
export interface DPoPProofOptions {
  /** Adds `ath`: base64url(SHA-256(accessToken)), as a proof sent to an API must carry. */
  accessToken?: string;
  /** The server's `DPoP-Nonce`, when it demands one. */
  nonce?: string;
  /** Epoch seconds (default now); set one in the past or future to test the `iat` window. */
  iat?: number;
  /** Default: a random UUID; reuse one to test replay detection. */
  jti?: string;
}

/** A DPoP key pair (RFC 9449) that makes proofs; the private key never leaves it. */
export interface DPoPKey {
  /** RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of tokens bound to it. */
  readonly jkt: string;
  /** The public JWK carried in every proof's header. */
  readonly publicJwk: JWK;
  /** The proofs' JWS algorithm. */
  readonly alg: AsymmetricAlgorithm;
  /**
   * A compact DPoP proof for `method` and `url` (`htu` is `url` without query and fragment).
   * Proofs are built as asked, so odd methods or URLs make proofs a verifier must refuse.
   */
  proof(method: string, url: string, options?: DPoPProofOptions): Promise<string>;
}

function htuOf(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.search = '';
    parsed.hash = '';
    return parsed.href;
  } catch {
    return url;
  }
}

/**
 * Creates a DPoP key pair for hand-made proofs, to test a DPoP API or the test issuer's token
 * endpoint.
 *
 * @example
 * ```ts
 * const key = await createDPoPKey();
 * const token = await issuer.mint({ cnf: { jkt: key.jkt } });
 * await request(app).get('/orders')
 *   .set('Authorization', `DPoP ${token}`)
 *   .set('DPoP', await key.proof('GET', `${origin}/orders`, { accessToken: token }))
 *   .expect(200);
 * ```
 */
export async function createDPoPKey(alg: AsymmetricAlgorithm = 'ES256'): Promise<DPoPKey> {
  // The DPoP algorithm names of RFC 9449 servers: no `Ed25519` alias here, `EdDSA` it is.
  if (!isAsymmetricAlgorithm(alg)) throw new TypeError('createDPoPKey: alg must be an asymmetric JWS algorithm');
  const { publicKey, privateKey } = await generatePair(alg);
  const publicJwk = toPublicJwk(publicKey.export({ format: 'jwk' }) as JWK);
  const jkt = await calculateJwkThumbprint(publicJwk, 'sha256');
  return {
    jkt,
    publicJwk: { ...publicJwk },
    alg,
    proof(method, url, options = {}) {
      const claims: Record<string, unknown> = {
        jti: options.jti ?? randomUUID(),
        htm: method,
        htu: htuOf(url),
        iat: options.iat ?? Math.floor(Date.now() / 1000),
      };
      if (options.accessToken !== undefined) {
        claims.ath = createHash('sha256').update(options.accessToken, 'ascii').digest('base64url');
      }
      if (options.nonce !== undefined) claims.nonce = options.nonce;
      return new SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg, jwk: { ...publicJwk } }).sign(privateKey);
    },
  };
}
