/**
 * Child-process entry for one benchmark contender: an Express 5 app with `GET /orders`
 * requiring a valid token with scope `read:orders` (no auth at all for `no-auth`), answering
 * `{"ok":true}`. argv[2] is the contender id, argv[3] JSON `{ issuerBaseURL, issuer, jwksUri,
 * audience }`. It listens on 127.0.0.1 port 0 and sends `{ type: 'listening', port }` over IPC;
 * it exits on `{ type: 'shutdown' }` (so `--cpu-prof` can write its profile) or when the
 * parent goes away. `{ type: 'memory' }` is answered with `{ type: 'memory', memory }`: RSS,
 * heap after forced GCs (run it with --expose-gc) and peak RSS.
 *
 * Every contender gets the same minimal error handler (status, `WWW-Authenticate`, small
 * JSON); Express's default handler would print every error's stack to stderr, which would
 * measure console I/O instead of token verification. express-m2m uses its own
 * `m2mErrorHandler()` in front of it, as its users would.
 */
import { readFileSync } from 'node:fs';
import express from 'express';

const [contender, configJson] = process.argv.slice(2);
const { issuerBaseURL, issuer, jwksUri, audience } = JSON.parse(configJson ?? '{}');
const SCOPE = 'read:orders';
/** Issuers configured besides the real one by `express-m2m-50-issuers`. */
const OTHER_ISSUERS = 49;

process.on('disconnect', () => process.exit(0));

/** Current and peak resident set size from /proc (bytes), or undefined off Linux. */
function procMemory() {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    return { rss: kib('VmRSS'), peakRss: kib('VmHWM') };
  } catch {
    return { rss: process.memoryUsage.rss(), peakRss: undefined };
  }
}

/**
 * Memory as the parent asks for it after the timed rounds: RSS as it is, then heap and RSS
 * after two forced full GCs (the process runs with --expose-gc), and the peak RSS.
 */
function memoryReport() {
  const before = procMemory();
  global.gc?.();
  global.gc?.();
  const usage = process.memoryUsage();
  const after = procMemory();
  return {
    rss: before.rss,
    rssAfterGc: after.rss,
    peakRss: after.peakRss,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    gc: typeof global.gc === 'function',
  };
}

const ok = (_req, res) => {
  res.json({ ok: true });
};

/** Scope guard for the contenders that have none of their own. */
const scopeGuard = (readPayload) => (req, res, next) => {
  const scope = readPayload(req)?.scope;
  if (typeof scope === 'string' && scope.split(' ').includes(SCOPE)) return next();
  res.status(403).set('WWW-Authenticate', `Bearer realm="api", error="insufficient_scope", scope="${SCOPE}"`);
  res.json({ error: 'insufficient_scope' });
};

/** The token of `Authorization: Bearer <token>`, for the hand-written contenders; undefined without one. */
const bearerToken = (req) => {
  const header = req.headers.authorization;
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
};

/** The hand-written contenders' 401 without a token. */
const unauthorized = (res) => {
  res.status(401).set('WWW-Authenticate', 'Bearer realm="api"').json({ error: 'unauthorized' });
};

/** The hand-written contenders' 401 for a token that failed. */
const invalidToken = (res) => {
  res.status(401).set('WWW-Authenticate', 'Bearer realm="api", error="invalid_token"').json({ error: 'invalid_token' });
};

/** `GET /orders` behind `authenticate` and the scope check, for the contenders without a guard of their own. */
const guardedRoute = (app, authenticate) => {
  app.get(
    '/orders',
    authenticate,
    scopeGuard((req) => req.auth),
    ok,
  );
};

/** jose's remote key set and `jwtVerify` with the route's rules, as the hand-written contenders check a token. */
async function joseVerify() {
  const { createRemoteJWKSet, jwtVerify } = await import('jose');
  const keys = createRemoteJWKSet(new URL(jwksUri));
  const verifyOptions = { issuer, audience, algorithms: ['RS256'], requiredClaims: ['exp'] };
  return (token) => jwtVerify(token, keys, verifyOptions);
}

/** The common last-resort error handler (see the header comment). */
const errorHandler = (err, _req, res, _next) => {
  const status = Number(err?.status ?? err?.statusCode);
  const code = Number.isInteger(status) && status >= 400 && status < 600 ? status : 500;
  if (err?.headers && typeof err.headers === 'object') res.set(err.headers);
  res.status(code).json({ error: typeof err?.code === 'string' ? err.code : code >= 500 ? 'server_error' : 'error' });
};

async function build() {
  const app = express();
  switch (contender) {
    case 'no-auth': {
      app.get('/orders', ok);
      break;
    }
    case 'express-m2m':
    case 'express-m2m-sync': {
      const { requireM2M, requireScopes, m2mErrorHandler } = await import('../dist/index.js');
      const offloadSignatures = contender === 'express-m2m';
      app.get('/orders', requireM2M({ issuerBaseURL, audience, offloadSignatures }), requireScopes(SCOPE), ok);
      app.use(m2mErrorHandler());
      break;
    }
    case 'express-m2m-50-issuers': {
      // 49 other trusted issuers (discovery on the bench issuer under /tenant-N), then the real one:
      // the list a multi-tenant API would configure. Nothing is fetched for an issuer no token names.
      const { requireM2M, requireScopes, m2mErrorHandler } = await import('../dist/index.js');
      const issuers = Array.from({ length: OTHER_ISSUERS }, (_, i) => ({
        issuerBaseURL: `${issuerBaseURL}/tenant-${i + 1}`,
      }));
      issuers.push({ issuerBaseURL });
      app.get('/orders', requireM2M({ issuers, audience }), requireScopes(SCOPE), ok);
      app.use(m2mErrorHandler());
      break;
    }
    case 'express-oauth2-jwt-bearer': {
      // DPoP is on by default (dpop.enabled: true, not required): Bearer and DPoP requests both pass.
      const { auth, requiredScopes } = await import('express-oauth2-jwt-bearer');
      app.get('/orders', auth({ issuerBaseURL, audience, dpop: { enabled: true } }), requiredScopes(SCOPE), ok);
      break;
    }
    case 'fast-jwt': {
      // fast-jwt with its verified-token cache (sized like express-m2m's) and get-jwks for the keys,
      // the pairing fastify's JWT plugins use: discovery, then the JWK turned into a PEM per key lookup.
      const { createVerifier } = await import('fast-jwt');
      const { default: buildGetJwks } = await import('get-jwks');
      const getJwks = buildGetJwks({ providerDiscovery: true, issuersWhitelist: [issuer] });
      const verifyToken = createVerifier({
        key: async ({ header, payload }) =>
          getJwks.getPublicKey({ kid: header.kid, alg: header.alg, domain: payload.iss }),
        algorithms: ['RS256'],
        allowedIss: issuer,
        allowedAud: audience,
        requiredClaims: ['exp'],
        cache: 10_000,
      });
      const authenticate = (req, res, next) => {
        const token = bearerToken(req);
        if (token === undefined) return unauthorized(res);
        Promise.resolve()
          .then(() => verifyToken(token))
          .then(
            (payload) => {
              req.auth = payload;
              next();
            },
            () => invalidToken(res),
          );
      };
      guardedRoute(app, authenticate);
      break;
    }
    case 'express-jwt': {
      const { expressjwt } = await import('express-jwt');
      const { default: jwksRsa } = await import('jwks-rsa');
      const authenticate = expressjwt({
        secret: jwksRsa.expressJwtSecret({ cache: true, rateLimit: true, jwksUri }),
        algorithms: ['RS256'],
        issuer,
        audience,
      });
      guardedRoute(app, authenticate);
      break;
    }
    case 'jose': {
      // The practical limit of a jose-based design: remote JWKS + jwtVerify + a scope check.
      const jwtVerify = await joseVerify();
      const authenticate = (req, res, next) => {
        const token = bearerToken(req);
        if (token === undefined) return unauthorized(res);
        jwtVerify(token).then(
          ({ payload }) => {
            req.auth = payload;
            next();
          },
          () => invalidToken(res),
        );
      };
      guardedRoute(app, authenticate);
      break;
    }
    case 'minimal-cache': {
      // The floor for a reused token: the least a middleware can do and still check one. The
      // jose middleware above behind a Map from token to verified payload (unbounded: this
      // contender only runs with one token), `exp` checked on every request, `req.auth` set,
      // and the same scope check. No binding, revocation or size checks, no error details.
      const jwtVerify = await joseVerify();
      const verified = new Map();
      const authenticate = (req, res, next) => {
        const token = bearerToken(req);
        if (token === undefined) return unauthorized(res);
        const known = verified.get(token);
        if (known !== undefined && known.exp * 1000 > Date.now()) {
          req.auth = known;
          return next();
        }
        jwtVerify(token).then(
          ({ payload }) => {
            verified.set(token, payload);
            req.auth = payload;
            next();
          },
          () => invalidToken(res),
        );
      };
      guardedRoute(app, authenticate);
      break;
    }
    default:
      throw new Error(`unknown contender ${contender}`);
  }
  app.use(errorHandler);
  return app;
}

try {
  const app = await build();
  const server = app.listen(0, '127.0.0.1', () => {
    process.send({ type: 'listening', port: server.address().port, pid: process.pid });
  });
  server.keepAliveTimeout = 60_000;
  process.on('message', (message) => {
    if (message?.type === 'memory') {
      process.send({ type: 'memory', memory: memoryReport() });
    } else if (message?.type === 'shutdown') {
      server.closeAllConnections?.();
      server.close();
      process.exit(0);
    }
  });
} catch (error) {
  process.send?.({ type: 'error', message: String(error?.stack ?? error) });
  process.exit(1);
}
