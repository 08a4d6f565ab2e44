// What both soak modes test against, in one place: the API processes and the drivers that judge
// their answers must agree on these.

/** The audience every soak token is minted for and every API instance requires. */
export const AUDIENCE = 'https://api.example.com';

/** The scope the `/orders` route requires. */
export const SCOPE = 'read:orders';

/**
 * The single-mode API's JWKS settings: short enough that a 10 s outage is actually felt (with
 * the 600 s default cache age it would go unnoticed).
 */
export const API_JWKS = { cacheMaxAge: 2, cooldown: 1, timeout: 1 };

/** Fleet mode: the origin every instance is addressed as (a load balancer's). */
export const FLEET_ORIGIN = 'https://api.example.com';

/** Fleet mode: the Redis client libraries an instance can use. */
export const CLIENTS = ['node-redis', 'ioredis'];

/** Fleet mode: how long after the revoke call no instance may accept the revoked client's token. */
export const PROPAGATION_S = 0.5;

/** Fleet mode: how long after Redis is back a DPoP request may still get 503 (reconnect, resubscribe, merge). */
export const RECOVERY_S = 2;
