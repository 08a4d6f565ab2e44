// The end-to-end example: an authorization server, an orders API and a worker, all on
// 127.0.0.1, walking through what M2M authorization allows and refuses.
//
//   npm run example              narrated scenario; exits 0 when every step behaves as expected
//   npm run example -- --serve   keeps the servers up and prints curl commands to try (Ctrl+C,
//                                SIGTERM or SIGHUP stops them, also through npm)
//
// The other modules import the compiled package from ../dist (Node 20 cannot import the
// TypeScript sources), so this script builds it first when dist/ is missing or stale, and
// loads them only afterwards, with dynamic import().
import { ensureDist } from '../scripts/ensure-dist.mjs';

const serve = process.argv.includes('--serve');

try {
  ensureDist({ log: () => console.log('Building express-m2m into dist/ (first run, or the sources changed)…') });
} catch {
  console.error('The build failed; see the compiler output above.');
  process.exit(1);
}

const { ORDERS_API, startAuthorizationServer } = await import('./authorization-server.mjs');
const { startOrdersApi } = await import('./orders-api.mjs');
const { createWorker, tokenRequestAsCurl } = await import('./worker.mjs');
const { TokenRequestError } = await import('../dist/index.js');

const { issuer, secrets } = await startAuthorizationServer();
let api;
try {
  api = await startOrdersApi({ issuerBaseURL: issuer.issuerBaseURL, audience: ORDERS_API });
} catch (error) {
  await issuer.close();
  throw error;
}
const shutdown = () => Promise.all([api.close(), issuer.close()]);

if (serve) {
  // Handlers first: a signal that arrives before they exist kills the process without closing anything.
  stopWhenAsked(shutdown);
  printServeInstructions();
} else {
  let failures;
  try {
    failures = await scenario();
  } catch (error) {
    console.error('\nThe example crashed:', error);
    failures = 1;
  } finally {
    await shutdown();
  }
  console.log(
    failures === 0 ? '\nAll steps behaved as expected.' : `\n${failures} step(s) did NOT behave as expected.`,
  );
  process.exitCode = failures === 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------

/**
 * Stops the servers on SIGINT, SIGTERM or SIGHUP, and when the process that started this one
 * goes away. The second matters under `npm run example -- --serve`: npm passes a signal only
 * to the shell it started, and the shell dies without passing it on, which would leave this
 * process listening as an orphan.
 */
function stopWhenAsked(stop) {
  let stopping = false;
  const stopOnce = (why) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nStopping (${why})…`);
    // Bounded: an open connection must not keep the servers up after they were told to stop.
    setTimeout(() => process.exit(0), 3000).unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => stopOnce(signal));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stopOnce('the parent process exited');
  }, 200).unref();
}

/** The narrated walk-through. Returns the number of steps whose outcome was not the expected one. */
async function scenario() {
  let failures = 0;
  let number = 0;
  const step = async (title, expected, run) => {
    console.log(`\n${++number}. ${title}`);
    const outcome = await run();
    const ok = outcome === expected;
    if (!ok) failures++;
    console.log(`   ${ok ? '✓' : '✗'} expected ${expected}${ok ? '' : `, got ${outcome}`}`);
  };

  console.log('express-m2m example: an authorization server, an orders API and a worker on 127.0.0.1\n');
  console.log(
    `  authorization server  ${issuer.issuerBaseURL}  (createTestIssuer; clients: orders-worker, billing-service, intruder)`,
  );
  console.log(`  orders API            ${api.url}  (Express + requireM2M, audience ${ORDERS_API})`);

  const workerConfig = {
    issuerBaseURL: issuer.issuerBaseURL,
    tokenEndpoint: issuer.tokenEndpoint,
    clientId: 'orders-worker',
    clientSecret: secrets['orders-worker'],
    audience: ORDERS_API,
    scope: 'read:orders',
  };
  const worker = createWorker(workerConfig);

  await step(
    'The worker requests an access token (client-credentials grant). The same request with curl:',
    200,
    async () => {
      console.log(indent(tokenRequestAsCurl(workerConfig), 5));
      const token = await worker.getToken();
      const claims = decodeClaims(token);
      console.log(
        `   ← 200 access_token ${abbreviate(token)} (sub ${claims.sub}, scope "${claims.scope}", expires in ${claims.exp - claims.iat} s)`,
      );
      return 200;
    },
  );

  await step('GET /orders with the token: the route wants read:orders (or admin:orders)', 200, () =>
    show('GET', '/orders', (url) => worker.fetch(url), 'worker.fetch adds Authorization: Bearer <token>'),
  );

  await step('POST /orders with the same token: the route wants create:orders, which orders-worker lacks', 403, () =>
    show('POST', '/orders', (url) => worker.fetch(url, jsonBody({ item: 'espresso cups' })), 'Bearer <token>'),
  );

  await step('GET /orders without any token', 401, () =>
    show('GET', '/orders', (url) => fetch(url), 'no Authorization header'),
  );

  await step(
    "A client that knows nothing about the API follows the 401's resource_metadata (RFC 9728)",
    'discovered',
    async () => {
      const challenge = (await fetch(`${api.url}/orders`)).headers.get('www-authenticate') ?? '';
      const location = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
      console.log(`   ← 401 WWW-Authenticate … resource_metadata="${location}"`);
      if (location === undefined) return 'no resource_metadata';
      const res = await fetch(location);
      const document = await res.json();
      console.log(`   → GET ${new URL(location).pathname}`);
      console.log(`   ← ${res.status} ${truncate(JSON.stringify(document), 200)}`);
      const servers = document.authorization_servers ?? [];
      console.log(`   the authorization server to ask for a token: ${servers[0]}`);
      return servers.includes(issuer.issuer) ? 'discovered' : 'not discovered';
    },
  );

  await step(
    'GET /orders with a forged token (right claims, signed with a key the issuer never published)',
    401,
    async () => {
      const forged = await issuer.mint(
        {},
        { audience: ORDERS_API, scope: 'read:orders', clientId: 'orders-worker', foreignKey: true },
      );
      return show(
        'GET',
        '/orders',
        (url) => fetch(url, { headers: { authorization: `Bearer ${forged}` } }),
        'Bearer <forged token>',
      );
    },
  );

  await step('intruder (a registered client, not authorized for this API) requests a token', 'refused', async () => {
    const intruder = createWorker({
      ...workerConfig,
      clientId: 'intruder',
      clientSecret: secrets.intruder,
      scope: undefined,
    });
    console.log(`   → POST ${issuer.tokenEndpoint} (client_id=intruder, audience=${ORDERS_API})`);
    try {
      await intruder.getToken();
      console.log('   ← 200 a token was issued');
      return 'issued';
    } catch (error) {
      if (!(error instanceof TokenRequestError)) throw error;
      console.log(`   ← ${error.status} ${error.error}: ${error.error_description}`);
      return 'refused';
    }
  });

  await step('GET /orders again: the worker reuses its cached token', 'cached', async () => {
    const tokenRequests = issuer.requestCounts.token;
    const status = await show('GET', '/orders', (url) => worker.fetch(url), 'Bearer <the same token>');
    const now = issuer.requestCounts.token;
    console.log(`   token requests served by the issuer: ${tokenRequests} before this call, ${now} after`);
    return status === 200 && now === tokenRequests
      ? 'cached'
      : `status ${status}, ${now - tokenRequests} new token request(s)`;
  });

  const billing = createWorker({
    ...workerConfig,
    clientId: 'billing-service',
    clientSecret: secrets['billing-service'],
    scope: 'read:orders create:orders',
  });
  await step('billing-service (granted create:orders) creates an order', 201, () =>
    show(
      'POST',
      '/orders',
      (url) => billing.fetch(url, jsonBody({ item: 'espresso cups' })),
      'Bearer <billing-service token>',
    ),
  );

  await step('orders-worker calls the refund route, which requireClient reserves for billing-service', 403, () =>
    show(
      'POST',
      '/orders/o-1001/refund',
      (url) => worker.fetch(url, { method: 'POST' }),
      'Bearer <orders-worker token>',
    ),
  );

  // Sender-constrained tokens (DPoP, RFC 9449): the token is bound to the worker's key pair.
  const dpopWorker = createWorker({ ...workerConfig, dpop: true });
  await step(
    'orders-worker again, now with createTokenClient({ dpop: true }): a DPoP-bound token for the DPoP-only export route',
    200,
    async () => {
      const claims = decodeClaims(await dpopWorker.getToken());
      console.log(
        `   ← token bound to the worker's key (cnf.jkt ${claims.cnf.jkt.slice(0, 8)}…); the private key never leaves the worker`,
      );
      return show(
        'GET',
        '/orders/export',
        (url) => dpopWorker.fetch(url),
        'Authorization: DPoP <token>, DPoP: <fresh proof signed with the worker key>',
      );
    },
  );

  await step('Someone who copied that token sends it as a plain bearer token', 401, async () => {
    const stolen = await dpopWorker.getToken();
    const asBearer = (url) => fetch(url, { headers: { authorization: `Bearer ${stolen}` } });
    const onExport = await show('GET', '/orders/export', asBearer, 'Bearer <stolen DPoP-bound token>');
    // Even a route that takes bearer tokens refuses the downgrade: a bound token needs its proof.
    const onOrders = await show('GET', '/orders', asBearer, 'Bearer <stolen DPoP-bound token>');
    return onExport === onOrders ? onExport : `${onExport} and ${onOrders}`;
  });

  await step('An eavesdropper replays a captured request: the same token and the same DPoP proof', 401, async () => {
    const url = `${api.url}/orders/export`;
    const captured = await dpopWorker.createProof('GET', url, { accessToken: await dpopWorker.getToken() });
    const original = await fetch(url, { headers: captured });
    await original.arrayBuffer();
    console.log(`   (the worker's own request with these headers was answered ${original.status})`);
    return show('GET', '/orders/export', () => fetch(url, { headers: captured }), 'the captured DPoP headers, again');
  });

  return failures;
}

/** Sends one request to the API and prints it and its answer briefly. Returns the status. */
async function show(method, path, send, note) {
  const url = `${api.url}${path}`;
  console.log(`   → ${method} ${path}  (${note})`);
  const res = await send(url);
  const body = await res.text();
  console.log(`   ← ${res.status} ${truncate(body, 110)}`);
  const challenge = res.headers.get('www-authenticate');
  if (challenge !== null) console.log(`     WWW-Authenticate: ${challenge}`);
  return res.status;
}

function printServeInstructions() {
  const curl = (clientId, scope) =>
    tokenRequestAsCurl(
      { tokenEndpoint: issuer.tokenEndpoint, clientId, clientSecret: secrets[clientId], audience: ORDERS_API, scope },
      { maskSecret: false },
    );
  const extract = `node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token'`;
  console.log(`express-m2m example servers are up (process ${process.pid}; Ctrl+C or kill ${process.pid} stops them):

  authorization server  ${issuer.issuerBaseURL}   discovery: ${issuer.issuerBaseURL}/.well-known/openid-configuration
  orders API            ${api.url}   audience: ${ORDERS_API}

Client secrets (fresh for this run):
${Object.entries(secrets)
  .map(([clientId, secret]) => `  ${clientId.padEnd(16)} ${secret}`)
  .join('\n')}

1. Get a token for orders-worker and keep it in $TOKEN:

TOKEN=$(${curl('orders-worker', 'read:orders')} | ${extract})

2. Call the API with it:

curl -i ${api.url}/orders -H "Authorization: Bearer $TOKEN"

3. A route that needs create:orders (403), and one without a token (401):

curl -i -X POST ${api.url}/orders -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"item":"tea"}'
curl -i ${api.url}/orders

4. billing-service may create orders:

BILLING=$(${curl('billing-service', 'read:orders create:orders')} | ${extract})
curl -i -X POST ${api.url}/orders -H "Authorization: Bearer $BILLING" -H 'content-type: application/json' -d '{"item":"tea"}'

5. intruder is refused by the authorization server:

${curl('intruder')}

6. GET /orders/export takes DPoP-bound tokens only (a bearer token gets 401 with a DPoP challenge):

curl -i ${api.url}/orders/export -H "Authorization: Bearer $TOKEN"
`);
}

function jsonBody(value) {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

/** The claims of a JWT, for display only (the API verifies; the caller just reads). */
function decodeClaims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

/** Shows that a token arrived without printing it: tokens are credentials, even in a demo. */
function abbreviate(token) {
  return `<${token.length} characters, header ${token.split('.')[0].slice(0, 8)}…>`;
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function indent(text, spaces) {
  return text
    .split('\n')
    .map((line) => ' '.repeat(spaces) + line)
    .join('\n');
}
