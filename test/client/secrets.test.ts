import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { exportJWK } from 'jose';
import { createTokenClient, type TokenClient, type TokenClientOptions } from '../../src/client/index.js';
import { form, json, startServer, type SeenRequest } from './helpers.js';

const SECRET = 'S3cr3t:with spaces+and/üñí©ødé';

/** Everything a secret could leak through. */
function renderings(value: unknown): string[] {
  const error = value as Error;
  return [
    String(value),
    error instanceof Error ? `${error.message}\n${error.stack}` : '',
    JSON.stringify(value) ?? '',
    JSON.stringify({ ...(value as object) }),
    inspect(value, { depth: Infinity, showHidden: true }),
    inspect(value, { depth: Infinity, customInspect: false }),
  ];
}

function expectClean(value: unknown, secrets: string[]): void {
  for (const text of renderings(value)) {
    for (const secret of secrets) expect(text).not.toContain(secret);
  }
}

/** A server that echoes whatever credentials it received, in every way it can. */
function echoServer(status: number) {
  return startServer((req: SeenRequest, res) => {
    const params = form(req.body);
    const basic = (req.headers.authorization ?? '').replace(/^Basic /, '');
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const echo = [params.client_secret, params.client_assertion, basic, decoded, req.body].filter(Boolean).join(' | ');
    json(res, status, { error: 'invalid_client', error_description: `bad credentials: ${echo}`, echo });
  });
}

async function failWith(client: TokenClient): Promise<unknown> {
  return client.getToken().then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
}

describe('secret hygiene', () => {
  for (const method of ['client_secret_post', 'client_secret_basic'] as const) {
    it(`${method}: an echoed secret appears nowhere in the error or the client`, async () => {
      const server = await echoServer(401);
      try {
        const client = createTokenClient({
          tokenEndpoint: server.url,
          clientId: 'c',
          clientSecret: SECRET,
          tokenEndpointAuthMethod: method,
        });
        const error = await failWith(client);
        expect(error).toMatchObject({ error: 'invalid_client', status: 401 });
        expect((error as { error_description: string }).error_description).toBe(
          '[redacted: the server echoed a credential]',
        );
        const encoded = [
          SECRET,
          encodeURIComponent(SECRET),
          new URLSearchParams({ s: SECRET }).toString().slice(2),
          'S3cr3t',
        ];
        expectClean(error, encoded);
        expectClean(client, encoded);
      } finally {
        await server.close();
      }
    });
  }

  it('private_key_jwt: neither the key nor the assertion appears in the error or the client', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const jwk = await exportJWK(privateKey);
    const server = await echoServer(400);
    try {
      const pemBody = pem.split('\n')[1]!;
      for (const key of [pem, jwk]) {
        const client = createTokenClient({ tokenEndpoint: server.url, clientId: 'c', privateKey: key });
        const error = await failWith(client);
        const assertion = form(server.requests.at(-1)!.body).client_assertion!;
        // The signature part is the credential; the header alone is public.
        const secrets = [pemBody, jwk.d!, jwk.p!, jwk.q!, assertion, assertion.split('.')[2]!];
        expectClean(error, secrets);
        expectClean(client, secrets);
      }
    } finally {
      await server.close();
    }
  });

  it('an echoed secret in a 5xx body, in the error code, or after retries stays hidden', async () => {
    const server = await startServer((req, res, index) => {
      const secret = form(req.body).client_secret ?? '';
      if (index === 0) json(res, 503, { error: 'temporarily_unavailable', error_description: secret });
      else if (index === 1) res.writeHead(500, { 'content-type': 'text/plain' }).end(`crash dump: ${secret}`);
      else json(res, 400, { error: secret, error_description: `{"client_secret":"${secret}"}` });
    });
    try {
      const client = createTokenClient({ tokenEndpoint: server.url, clientId: 'c', clientSecret: SECRET });
      const error = await failWith(client);
      expect(server.requests).toHaveLength(3);
      expectClean(error, [SECRET, JSON.stringify(SECRET).slice(1, -1)]);
    } finally {
      await server.close();
    }
  });

  it('an unreachable endpoint: the network error and its cause carry no secret', async () => {
    const client = createTokenClient({
      tokenEndpoint: 'http://127.0.0.1:9/token',
      clientId: 'c',
      clientSecret: SECRET,
      retries: 0,
    });
    const error = await failWith(client);
    expect(error).toMatchObject({ error: 'network_error' });
    expectClean(error, [SECRET]);
  });

  it('the client renders only its public configuration', () => {
    const options: TokenClientOptions = {
      issuerBaseURL: 'https://tenant.example.com',
      clientId: 'c',
      clientSecret: SECRET,
      audience: 'https://api',
      scope: 'a b',
    };
    const client = createTokenClient(options);
    expect(JSON.parse(JSON.stringify(client))).toEqual({
      clientId: 'c',
      tokenEndpointAuthMethod: 'client_secret_post',
      issuerBaseURL: 'https://tenant.example.com',
      audience: 'https://api',
      scope: 'a b',
    });
    expect(inspect(client)).toMatch(/^TokenClient \{/);
    expectClean(client, [SECRET]);
    expect(Object.keys(client).sort()).toEqual(['clientId', 'tokenEndpointAuthMethod']);
  });
});
