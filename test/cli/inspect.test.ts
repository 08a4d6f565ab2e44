/**
 * `express-m2m inspect`, run as a child process against a test issuer on 127.0.0.1: the
 * verdict is the verifier's (status, WWW-Authenticate, reason), every check is shown, and the
 * token's signature never appears in the output.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js';
import { buildCli, runCli, signatureOf, type CliResult } from './run-cli.js';

const AUDIENCE = 'https://api.example.com';
let issuer: TestIssuer;
let options: string[];

beforeAll(async () => {
  buildCli();
  issuer = await createTestIssuer();
  options = ['--issuer-base-url', issuer.issuerBaseURL, '--audience', AUDIENCE];
}, 200_000);

afterAll(async () => {
  await issuer?.close();
});

/** The check line of `name`, e.g. `✗ audience  expected …`. */
function checkLine(result: CliResult, name: string): string {
  const line = result.stdout.split('\n').find((text) => new RegExp(`^  [✓✗·] ${name}\\b`).test(text));
  if (line === undefined) throw new Error(`no ${name} line in:\n${result.stdout}`);
  return line.trim();
}

function expectNoSignature(result: CliResult, token: string): void {
  expect(result.stdout).not.toContain(signatureOf(token));
  expect(result.stderr).not.toContain(signatureOf(token));
  expect(result.stdout).not.toContain(token);
}

describe('inspect', () => {
  it('accepts a valid token: exit 0, every check ✓, the 200 line', async () => {
    const token = await issuer.mint({}, { audience: AUDIENCE, scope: 'read:orders', expiresIn: 3599 });
    const result = await runCli(['inspect', token, ...options]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const name of ['format', 'issuer', 'signature', 'audience', 'expiry', 'm2m', 'client-id']) {
      expect(checkLine(result, name)).toMatch(/^✓/);
    }
    expect(result.stdout).not.toContain('✗');
    expect(checkLine(result, 'expiry')).toMatch(/\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, in 59 min\)$/);
    expect(result.stdout).toContain(
      'requireM2M would answer: 200 OK (accepted: client "test-client", scopes "read:orders")',
    );
    expect(result.stdout).toMatch(/^ {2}gty +"client-credentials"$/m);
    expectNoSignature(result, token);
  });

  it('refuses an expired token: exit 1, the expiry ✗ line, 401 and its WWW-Authenticate', async () => {
    const token = await issuer.mint({}, { audience: AUDIENCE, expiresIn: -3 * 3600 - 60 });
    const result = await runCli(['inspect', token, ...options]);
    expect(result.code).toBe(1);
    expect(checkLine(result, 'expiry')).toMatch(
      /^✗ expiry +expected later than now − 5 s, actual \d+ \(.* UTC, 3 h ago\)$/,
    );
    expect(checkLine(result, 'signature')).toMatch(/^✓/);
    expect(result.stdout).toContain('requireM2M would answer: 401 Unauthorized');
    expect(result.stdout).toContain(
      'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="token expired"',
    );
    expect(result.stdout).toContain('reason: expired');
    expectNoSignature(result, token);
  });

  it('shows every failing check at once: wrong audience and expired', async () => {
    const token = await issuer.mint({}, { audience: 'https://other.example.com', expiresIn: -120 });
    const result = await runCli(['inspect', token, ...options]);
    expect(result.code).toBe(1);
    expect(checkLine(result, 'audience')).toBe(
      '✗ audience    expected "https://api.example.com", actual "https://other.example.com"',
    );
    expect(checkLine(result, 'expiry')).toMatch(/^✗ expiry .*2 min ago\)$/);
    // The verifier checks the audience first: that is what requireM2M answers.
    expect(result.stdout).toContain('error_description="unexpected audience"');
    expect(result.stdout).toContain('reason: unexpected_audience');
  });

  it('refuses a token signed with a foreign key: the signature ✗ line, claims flagged unverified', async () => {
    const token = await issuer.mint({}, { audience: AUDIENCE, foreignKey: true, kid: issuer.currentKid() });
    const result = await runCli(['inspect', token, ...options]);
    expect(result.code).toBe(1);
    expect(checkLine(result, 'signature')).toMatch(
      /^✗ signature +expected alg in RS256, .*, actual alg "RS256", kid "/,
    );
    expect(result.stdout).toContain('(the claims above are unverified: the signature was not accepted)');
    expect(result.stdout).toContain('error_description="signature verification failed"');
    expect(result.stdout).toContain('reason: invalid_signature');
  });

  it('refuses a token that was not issued to a client (not M2M)', async () => {
    const token = await issuer.mint({ gty: 'password', sub: 'auth0|user-42' }, { audience: AUDIENCE });
    const result = await runCli(['inspect', token, ...options]);
    expect(result.code).toBe(1);
    expect(checkLine(result, 'm2m')).toBe(
      '✗ m2m         expected client-credentials grant (gty "client-credentials", or sub equal to client_id/azp/cid), actual gty "password", sub "auth0|user-42"',
    );
    expect(result.stdout).toContain('error_description="token was not issued to a client (client-credentials grant)"');
    expect(result.stdout).toContain('reason: not_m2m');
  });

  it('prints one JSON object with --json, reading the token from standard input', async () => {
    const token = await issuer.mint({}, { audience: 'https://other.example.com' });
    const result = await runCli(['inspect', '-', '--json', ...options], { input: `Bearer ${token}\n` });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(report)).toEqual(['header', 'claims', 'checks', 'result']);
    expect(report.header).toMatchObject({ alg: 'RS256', kid: issuer.currentKid() });
    expect(report.claims).toMatchObject({ aud: 'https://other.example.com', azp: 'test-client' });
    expect(report.checks).toContainEqual({
      name: 'audience',
      ok: false,
      expected: '"https://api.example.com"',
      actual: '"https://other.example.com"',
    });
    expect(report.result).toEqual({
      accepted: false,
      status: 401,
      code: 'invalid_token',
      reason: 'unexpected_audience',
      description: 'unexpected audience',
      details: { claim: 'aud', expected: [AUDIENCE], actual: 'https://other.example.com' },
      wwwAuthenticate: 'Bearer realm="api", error="invalid_token", error_description="unexpected audience"',
      headers: {
        'WWW-Authenticate': 'Bearer realm="api", error="invalid_token", error_description="unexpected audience"',
      },
    });
    expectNoSignature(result, token);
  });

  it('reads the configuration from the environment', async () => {
    const token = await issuer.mint({}, { audience: AUDIENCE });
    const env = { ISSUER_BASE_URL: issuer.issuerBaseURL, AUDIENCE };
    const result = await runCli(['inspect', token, '--json'], { env });
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { result: unknown }).result).toEqual({
      accepted: true,
      status: 200,
      clientId: 'test-client',
      scopes: [],
      issuer: issuer.issuer,
    });
  });

  it('verifies an HS256 token with the secret named by --secret-env, never printing the secret', async () => {
    const secret = 'a-shared-secret-of-at-least-32-bytes!!';
    const hsIssuer = await createTestIssuer({ secret });
    try {
      const token = await hsIssuer.mint({}, { audience: AUDIENCE, alg: 'HS256' });
      const args = [
        'inspect',
        token,
        '--issuer',
        hsIssuer.issuer,
        '--audience',
        AUDIENCE,
        '--secret-env',
        'API_SECRET',
      ];
      const accepted = await runCli(args, { env: { API_SECRET: secret } });
      expect(accepted.code).toBe(0);
      const refused = await runCli(args, { env: { API_SECRET: 'another-shared-secret-of-32-bytes-or-more' } });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('reason: invalid_signature');
      for (const result of [accepted, refused]) {
        expect(result.stdout + result.stderr).not.toContain(secret);
        expectNoSignature(result, token);
      }
    } finally {
      await hsIssuer.close();
    }
  });

  it('without an issuer, decodes and shows the token, says it was not verified, and exits 2', async () => {
    const token = await issuer.mint({}, { audience: AUDIENCE });
    const result = await runCli(['inspect', token]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(`  iss  "${issuer.issuer}"`);
    expect(result.stdout).toContain(
      'Not verified: no issuer configured (give --issuer-base-url, or --issuer with --jwks-uri or --secret-env)',
    );
    expect(result.stdout).not.toContain('requireM2M would answer');
    expectNoSignature(result, token);
  });

  it('answers 503 with the cause when the issuer cannot be reached', async () => {
    const gone = await createTestIssuer();
    const token = await gone.mint({}, { audience: AUDIENCE });
    await gone.close();
    const result = await runCli(['inspect', token, '--issuer-base-url', gone.issuerBaseURL, '--audience', AUDIENCE]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('requireM2M would answer: 503 Service Unavailable');
    expect(result.stdout).toContain('Retry-After: 30');
    expect(checkLine(result, 'issuer')).toMatch(/^· issuer +not checked/);
    expect(result.stdout).toMatch(
      new RegExp(`^cause: discovery failed for ${gone.issuerBaseURL}: .*ECONNREFUSED$`, 'm'),
    );
  });

  it('does not check the signature of a token from an issuer it does not trust', async () => {
    const other = await createTestIssuer();
    try {
      const token = await other.mint({}, { audience: AUDIENCE });
      const result = await runCli(['inspect', token, ...options]);
      expect(result.code).toBe(1);
      expect(checkLine(result, 'issuer')).toBe(
        `✗ issuer      expected ["${issuer.issuerBaseURL}"], actual "${other.issuer}"`,
      );
      expect(checkLine(result, 'signature')).toMatch(/^· signature +not checked/);
      expect(result.stdout).toContain('reason: unexpected_issuer');
    } finally {
      await other.close();
    }
  });

  it('gives a refusal no check covers a row of its own: a DPoP-bound token sent as a bearer token', async () => {
    const token = await issuer.mint(
      { cnf: { jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' } },
      { audience: AUDIENCE },
    );
    const result = await runCli(['inspect', token, ...options]);
    expect(result.code).toBe(1);
    expect(checkLine(result, 'binding_mismatch')).toBe('✗ binding_mismatch  DPoP-bound token sent as a bearer token');
    expect(checkLine(result, 'signature')).toMatch(/^✓/);
    expect(result.stdout).toMatch(/^WWW-Authenticate: DPoP realm="api", error="invalid_token", .*algs="ES256 /m);
  });

  it('stops at a token without iss: issuer ✗, signature not checked', async () => {
    const token = await issuer.mint({ iss: undefined }, { audience: AUDIENCE });
    const result = await runCli(['inspect', token, ...options]);
    expect(result.code).toBe(1);
    expect(checkLine(result, 'issuer')).toBe(`✗ issuer      expected ["${issuer.issuerBaseURL}"], actual (absent)`);
    expect(checkLine(result, 'signature')).toMatch(/^· signature +not checked/);
    expect(result.stdout).toContain('reason: missing_claim');
  });

  it('finds a malformed exp after the signature: signature ✓, expiry ✗', async () => {
    const token = await issuer.mint({ exp: 'tomorrow' }, { audience: AUDIENCE });
    const result = await runCli(['inspect', token, ...options]);
    expect(result.code).toBe(1);
    expect(checkLine(result, 'signature')).toMatch(/^✓/);
    expect(checkLine(result, 'expiry')).toBe('✗ expiry      expected later than now − 5 s, actual "tomorrow"');
    expect(result.stdout).toContain('reason: malformed_token');
  });

  it('checks typ with --strict: at+jwt passes, JWT is refused before the signature is checked', async () => {
    const plain = await issuer.mint({}, { audience: AUDIENCE });
    const refused = await runCli(['inspect', plain, '--strict', ...options]);
    expect(refused.code).toBe(1);
    expect(checkLine(refused, 'typ')).toBe('✗ typ         expected "at+jwt", actual "JWT"');
    expect(checkLine(refused, 'signature')).toMatch(/^· signature +not checked/);
    expect(refused.stdout).toContain('reason: invalid_typ');

    const profiled = await createTestIssuer({ profile: 'rfc9068' });
    try {
      const token = await profiled.mint({}, { audience: AUDIENCE });
      const args = ['inspect', token, '--strict', '--issuer-base-url', profiled.issuerBaseURL, '--audience', AUDIENCE];
      const accepted = await runCli(args);
      expect(accepted.code).toBe(0);
      expect(checkLine(accepted, 'typ')).toBe('✓ typ         "at+jwt"');
    } finally {
      await profiled.close();
    }
  });

  it('escapes control characters taken from the token', async () => {
    const token = await issuer.mint({ note: 'a\u001b[31mred\u202e' }, { audience: AUDIENCE });
    const result = await runCli(['inspect', token, ...options]);
    expect(result.stdout).toContain('  note  "a\\u001b[31mred\\u202e"');
    expect(result.stdout).not.toContain('\u001b');
  });
});
