/**
 * `express-m2m revoke` and `revocations`, run as child processes against a real redis-server:
 * what the CLI writes is applied by every API instance's createRedisRevocationList (here one
 * in the test process, behind a real verifier), and every failure is one line.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisRevocationList, type RedisRevocationList } from '../../src/redis.js';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { createVerifier } from '../../src/verifier.js';
import { isM2MError } from '../../src/errors.js';
import { connectClient, freePort, startRedis, waitFor, type RedisServer, type TestClient } from '../helpers/redis.js';
import { buildCli, runCli } from './run-cli.js';

const AUDIENCE = 'https://api.example.com';
let server: RedisServer;
let issuer: TestIssuer;
let redis: TestClient;
let list: RedisRevocationList;

beforeAll(async () => {
  buildCli();
  server = await startRedis();
  issuer = await createTestIssuer();
  redis = await connectClient('node-redis', server.port);
  list = createRedisRevocationList(redis.client);
  await list.ready();
}, 200_000);

afterEach(async () => {
  for (const entry of list.list()) await list.remove(entry);
});

afterAll(async () => {
  await list?.close();
  await redis?.close();
  await issuer?.close();
  await server?.stop();
});

/** The refusal reason of `token` by a verifier that uses the Redis list, or 'accepted'. */
async function verdict(token: string): Promise<string> {
  const verifier = createVerifier({ issuerBaseURL: issuer.issuerBaseURL, audience: AUDIENCE, revocations: list });
  try {
    await verifier.verify(token);
    return 'accepted';
  } catch (error) {
    if (isM2MError(error)) return error.reason;
    throw error;
  }
}

describe('revoke', () => {
  it('revokes a client fleet-wide: an API instance refuses its tokens at once, and a new token passes', async () => {
    const old = await issuer.mint({}, { audience: AUDIENCE, clientId: 'billing' });
    expect(await verdict(old)).toBe('accepted');
    const issuedBefore = Math.floor(Date.now() / 1000) + 1;
    const result = await runCli([
      'revoke',
      'client',
      'billing',
      '--redis',
      server.url,
      '--issued-before',
      String(issuedBefore),
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^revoked client "billing" \(tokens issued before .* UTC\), until .* \(in 29 d\) in redis:\/\/127\.0\.0\.1:\d+\n$/,
    );
    await waitFor(() => list.list().length === 1, 'the revocation to reach the API instance');
    expect(await verdict(old)).toBe('revoked');
    const renewed = await issuer.mint({ iat: issuedBefore }, { audience: AUDIENCE, clientId: 'billing' });
    expect(await verdict(renewed)).toBe('accepted');
  });

  it('revokes one token (with --expires-at) and one key, prints the entry with --json', async () => {
    const token = await issuer.mint({ jti: 'leaked-1' }, { audience: AUDIENCE });
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const byJti = await runCli([
      'revoke',
      'token',
      'leaked-1',
      '--redis',
      server.url,
      '--expires-at',
      String(expiresAt),
      '--json',
    ]);
    expect(byJti.code).toBe(0);
    expect(JSON.parse(byJti.stdout)).toEqual({
      type: 'token',
      jti: 'leaked-1',
      expiresAt,
      revokedAt: expect.any(Number),
    });
    await waitFor(() => list.list().length === 1, 'the token revocation');
    expect(await verdict(token)).toBe('revoked');

    const kid = issuer.currentKid() as string;
    const other = await issuer.mint({}, { audience: AUDIENCE });
    // A random kid may begin with '-': after `--` it is an id, not an option.
    const byKid = await runCli(['revoke', 'key', '--redis', server.url, '--', kid]);
    expect(byKid.code).toBe(0);
    await waitFor(() => list.list().length === 2, 'the key revocation');
    expect(await verdict(other)).toBe('revoked');
  });

  it('lists the entries (table and --json) and removes one for every instance', async () => {
    for (const args of [
      ['client', 'billing', '--issuer', issuer.issuer],
      ['token', 'jti-7'],
      ['key', 'kid-3'],
    ]) {
      expect((await runCli(['revoke', ...args, '--redis', server.url])).code).toBe(0);
    }
    const table = await runCli(['revocations', 'list', '--redis', server.url]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TYPE +SUBJECT +ISSUER +TOKENS +REVOKED +EXPIRES$/);
    expect(lines.slice(1).map((line) => line.split(/ {2,}/).slice(0, 3))).toEqual(
      expect.arrayContaining([
        ['client', '"billing"', `"${issuer.issuer}"`],
        ['token', '"jti-7"', '*'],
        ['key', '"kid-3"', '*'],
      ]),
    );
    const json = await runCli(['revocations', 'list', '--redis', server.url, '--json']);
    expect((JSON.parse(json.stdout) as { type: string }[]).map((entry) => entry.type).sort()).toEqual([
      'client',
      'key',
      'token',
    ]);

    const removed = await runCli(['revocations', 'remove', 'token', 'jti-7', '--redis', server.url]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe('removed the token revocation\n');
    await waitFor(() => list.list().length === 2, 'the removal to reach the API instance');
    const again = await runCli(['revocations', 'remove', 'token', 'jti-7', '--redis', server.url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('express-m2m: no token revocation for that id\n');
    const empty = await runCli(['revocations', 'list', '--redis', server.url, '--prefix', 'other:']);
    expect(empty.stdout).toMatch(/^no revocations in redis:\/\/127\.0\.0\.1:\d+\n$/);
  });

  it('reports a Redis that is down in one line, without the password, and exits 1', async () => {
    const port = await freePort();
    const result = await runCli(['revoke', 'client', 'billing', '--redis', `redis://:hunter2@127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `express-m2m: cannot connect to Redis at redis://:***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  it.each([
    [['revoke', 'client', 'billing'], 'express-m2m: no Redis: give --redis <url> or set REDIS_URL'],
    [
      ['revoke', 'client', 'billing', '--redis', 'not a url'],
      'express-m2m: --redis must be a URL such as redis://127.0.0.1:6379',
    ],
    [
      ['revoke', 'client', 'billing', '--redis', 'http://127.0.0.1'],
      'express-m2m: --redis must be a redis:// or rediss:// URL',
    ],
    [
      ['revoke', 'user', 'x', '--redis', 'redis://127.0.0.1'],
      'express-m2m: unknown revocation type: client, token or key (see: express-m2m revoke --help)',
    ],
    [
      ['revoke', 'client', '--redis', 'redis://127.0.0.1'],
      'express-m2m: missing <clientId> (see: express-m2m revoke --help)',
    ],
    [
      ['revoke', 'token', 'j', '--issued-before', '5', '--redis', 'redis://127.0.0.1'],
      'express-m2m: --issued-before applies to revoke client only',
    ],
    [
      ['revoke', 'token', 'j', '--expires-at', '1.5e12', '--redis', 'redis://127.0.0.1'],
      'express-m2m: --expires-at must be epoch seconds (a whole number)',
    ],
    [
      ['revocations', 'purge', '--redis', 'redis://127.0.0.1'],
      'express-m2m: unknown action: list or remove (see: express-m2m revocations --help)',
    ],
  ])('%j exits 2 with one line', async (args, line) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${line}\n`);
  });

  it("refuses an expiry in the past with the list's own message (exit 2)", async () => {
    const result = await runCli(['revoke', 'token', 'j', '--expires-at', '1000', '--redis', server.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('express-m2m: expiresAt must be a future time in epoch seconds (not milliseconds)\n');
  });
});
