/**
 * Runs the example app exactly as `npm run example` does, in a child process, and checks
 * its exit code and transcript.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function runExample(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // No NODE_OPTIONS: Jest's --experimental-vm-modules must not leak into the example.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ['example-app/run.mjs'], { cwd: root, env, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run example', () => {
  it('walks through the scenario and exits 0', async () => {
    const { code, stdout, stderr } = await runExample();
    if (code !== 0) console.error(stdout, stderr);
    expect(code).toBe(0);

    const outcomes = [...stdout.matchAll(/^ {3}([✓✗]) expected (\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(outcomes).toEqual([
      '✓ 200', // token request
      '✓ 200', // allowed call
      '✓ 403', // missing scope
      '✓ 401', // no token
      '✓ discovered', // the 401's resource_metadata leads to the authorization server (RFC 9728)
      '✓ 401', // forged token
      '✓ refused', // intruder's token request
      '✓ cached', // second call, no new token request
      '✓ 201', // billing-service creates an order
      '✓ 403', // requireClient
      '✓ 200', // DPoP-bound token with its proof on the DPoP-only route
      '✓ 401', // the same token as Bearer, on the DPoP-only route and on a bearer route
      '✓ 401', // a replayed proof
    ]);
    expect(stdout).toContain('All steps behaved as expected.');

    // The 403 shows its challenge, the forged token is refused as invalid_token.
    expect(stdout).toContain(
      'WWW-Authenticate: Bearer realm="api", error="insufficient_scope", error_description="missing required scope", scope="create:orders"',
    );
    expect(stdout).toContain('error="invalid_token"');
    expect(stdout).toMatch(/← 403 access_denied/);
    expect(stdout).toMatch(/token requests served by the issuer: (\d+) before this call, \1 after/);

    // DPoP: the bound token passes with its proof; without it, or with a used proof, it does not.
    expect(stdout).toMatch(/← 200 \{"caller":"orders-worker","boundTo":"dpop"/);
    expect(stdout).toContain('error_description="DPoP-bound token required", algs="ES256 ');
    expect(stdout).toContain(
      'WWW-Authenticate: DPoP realm="api", error="invalid_token", error_description="DPoP-bound token sent as a bearer token"',
    );
    expect(stdout).toContain("(the worker's own request with these headers was answered 200)");
    expect(stdout).toContain('← 401 {"error":"invalid_dpop_proof","error_description":"DPoP proof replayed"}');

    // A client discovers the authorization server from the 401 alone.
    expect(stdout).toMatch(
      /WWW-Authenticate: Bearer realm="api", resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource"/,
    );
    expect(stdout).toMatch(/"authorization_servers":\["http:\/\/127\.0\.0\.1:\d+\/"\]/);

    // The curl rendering of the token request masks the secret.
    expect(stdout).toContain('-d client_secret=********');
    expect(stdout).not.toMatch(/client_secret=(?!\*{8})/);
    // Tokens are credentials: the transcript never prints one.
    expect(stdout).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
  }, 60_000);
});
