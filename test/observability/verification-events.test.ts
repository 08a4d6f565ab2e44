import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createVerifier } from '../../src/index.js';
import { createDPoPKey, createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { observeVerifications } from './recipes/verifications.js';

const AUDIENCE = 'https://api.example.com';
const URL_ = 'https://api.example.com/orders';
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await createTestIssuer();
});
afterAll(() => issuer.close());

describe('observeVerifications', () => {
  it('finishes once per verification, after its outcome is known, even when a cached token waits on the replay store', async () => {
    const key = await createDPoPKey();
    const seen: string[] = [];
    let recorded = 0;
    const verifier = createVerifier({
      issuerBaseURL: issuer.issuerBaseURL,
      audience: AUDIENCE,
      dpop: {
        // An asynchronous store, as Redis is: the third proof is reported as a replay.
        replayStore: {
          add: async () => {
            await new Promise((resolve) => setImmediate(resolve));
            return ++recorded < 3;
          },
        },
      },
    });
    const token = await issuer.mint({ cnf: { jkt: key.jkt } });
    const stop = observeVerifications({
      start: () => seen.push('start'),
      finish: (context) => seen.push(`finish:${context.reason ?? 'accepted'}:${String(context.cached)}`),
    });
    try {
      for (let i = 0; i < 3; i++) {
        const proof = await key.proof('GET', URL_, { accessToken: token });
        await verifier.verify(token, { method: 'GET', url: URL_, scheme: 'DPoP', dpopProof: proof }).then(
          () => seen.push('resolved'),
          (error: { reason: string }) => seen.push(`rejected:${error.reason}`),
        );
      }
      await verifier.verify('not-a-jwt').catch(() => seen.push('rejected'));
    } finally {
      stop();
    }
    expect(seen).toEqual([
      'start',
      'finish:accepted:false',
      'resolved',
      'start',
      'finish:accepted:true',
      'resolved',
      'start',
      'finish:dpop_replay:true',
      'rejected:dpop_replay',
      'start',
      'finish:malformed_token:false',
      'rejected',
    ]);
  });
});
