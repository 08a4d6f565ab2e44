/**
 * `express-m2m token`, run as a child process against a test issuer on 127.0.0.1: the token
 * alone on standard output, `--json`, and the client secret absent from everything printed,
 * on success and on failure.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { freePort } from '../helpers/redis.js';
import { buildCli, runCli, type CliResult } from './run-cli.js';

const AUDIENCE = 'https://api.example.com';
const SECRET = 'billing-secret-4f9c2a7e1d';
let issuer: TestIssuer;

beforeAll(async () => {
  buildCli();
  issuer = await createTestIssuer({
    clients: [{ clientId: 'billing', clientSecret: SECRET, grants: { [AUDIENCE]: ['read:orders', 'write:orders'] } }],
  });
}, 200_000);

afterAll(async () => {
  await issuer?.close();
});

function expectNoSecret(result: CliResult): void {
  expect(result.stdout).not.toContain(SECRET);
  expect(result.stderr).not.toContain(SECRET);
}

const credentials = { CLIENT_ID: 'billing', CLIENT_SECRET: SECRET };

describe('token', () => {
  it('prints the token alone on standard output', async () => {
    const result = await runCli(['token', '--issuer-base-url', issuer.issuerBaseURL, '--audience', AUDIENCE], {
      env: credentials,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(decodeJwt(result.stdout.trim())).toMatchObject({ aud: AUDIENCE, azp: 'billing', iss: issuer.issuer });
    expect(issuer.requestCounts.token).toBeGreaterThan(0);
    expectNoSecret(result);
  });

  it('prints token_type, expires_in and scope with --json (token endpoint and scope from the environment)', async () => {
    const env = { ...credentials, TOKEN_ENDPOINT: issuer.tokenEndpoint, AUDIENCE };
    const result = await runCli(['token', '--scope', 'read:orders', '--json'], { env });
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['access_token', 'token_type', 'expires_in', 'scope']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 86_400, scope: 'read:orders' });
    expect(decodeJwt(body.access_token as string)).toMatchObject({ scope: 'read:orders' });
    expectNoSecret(result);
  });

  it('gets a DPoP-bound token with --dpop', async () => {
    const args = ['token', '--token-endpoint', issuer.tokenEndpoint, '--audience', AUDIENCE, '--dpop', '--json'];
    const result = await runCli(args, { env: credentials });
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as { token_type: string; access_token: string };
    expect(body.token_type).toBe('DPoP');
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: expect.any(String) });
  });

  it('reports a refused client in one line, without the secret, and exits 1', async () => {
    const wrong = `${SECRET}-but-wrong`;
    const result = await runCli(['token', '--token-endpoint', issuer.tokenEndpoint, '--audience', AUDIENCE], {
      env: { CLIENT_ID: 'billing', CLIENT_SECRET: wrong },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^express-m2m: token request failed: invalid_client \(HTTP 401\)[^\n]*\n$/);
    expect(result.stderr).not.toContain(wrong);
    expectNoSecret(result);
  });

  it('reports an unreachable token endpoint in one line and exits 1', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}/oauth/token`;
    const result = await runCli(['token', '--token-endpoint', endpoint], { env: credentials, timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^express-m2m: token request failed: network_error[^\n]*\n$/);
    expectNoSecret(result);
  });

  it.each([
    [['token', '--token-endpoint', 'not a url'], credentials, /^express-m2m: createTokenClient: .*tokenEndpoint/],
    [['token', '--token-endpoint', 'http://127.0.0.1:9/token'], { CLIENT_ID: 'billing' }, /no client secret/],
    [['token', '--token-endpoint', 'http://127.0.0.1:9/token'], { CLIENT_SECRET: SECRET }, /no client id/],
    [['token'], credentials, /no authorization server: give --issuer-base-url or --token-endpoint/],
    [['token', '--client-secret', SECRET], credentials, /unknown option --client-secret/],
  ])('%j is a usage error (exit 2, one line)', async (args, env, message) => {
    const result = await runCli(args, { env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain(SECRET);
  });
});
