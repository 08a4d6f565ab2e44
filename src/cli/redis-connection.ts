/**
 * The Redis side of `revoke` and `revocations`: connects with node-redis (`redis`, an optional
 * peer dependency, imported only here and only when such a command runs) and opens the
 * fleet's revocation list. Every failure is one line; the URL is shown without its password.
 *
 * @module
 */
import { createRedisRevocationList, type RedisRevocationList } from '../stores/redis/revocation-list.js';
import { envOption, stringOption, type OptionTable, type ParsedArgs } from './args.js';
import { CliError, EXIT, oneLine, usageError } from './io.js';

/** Options every Redis command takes. */
export const REDIS_OPTIONS: OptionTable = {
  redis: { type: 'string' },
  prefix: { type: 'string' },
  channel: { type: 'string' },
};

/** Help lines of {@link REDIS_OPTIONS}. */
export const REDIS_HELP = `  --redis <url>             the fleet's Redis (redis://[user:password@]host:port[/db])  [REDIS_URL]
  --prefix <prefix>         key prefix of the list (default express-m2m:revocations:)
  --channel <name>          pub/sub channel of changes (default <prefix>changes)`;

/** Seconds to wait for the connection and for each command. */
const TIMEOUT_SECONDS = 5;

/** An open revocation list and the way to close it and its connection. */
export interface OpenList {
  list: RedisRevocationList;
  /** Where the list lives, for messages (no password). */
  where: string;
  close(): Promise<void>;
}

interface NodeRedisClient {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  connect(): Promise<unknown>;
  destroy(): void;
}

/** The URL with any password replaced, for messages. */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== '') copy.password = '***';
  return copy.href;
}

/**
 * Connects to the Redis named by `--redis` (else `REDIS_URL`) and loads the revocation list.
 *
 * @throws a usage error (exit 2) for a missing or bad URL or a missing `redis` package; an error
 *   (exit 1) when Redis cannot be reached.
 */
export async function openRevocationList(values: ParsedArgs['values'], env: NodeJS.ProcessEnv): Promise<OpenList> {
  const raw = stringOption(values, 'redis') ?? envOption(env, 'REDIS_URL');
  if (raw === undefined) throw usageError('no Redis: give --redis <url> or set REDIS_URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError('--redis must be a URL such as redis://127.0.0.1:6379');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw usageError('--redis must be a redis:// or rediss:// URL');
  }
  const where = redactUrl(url);
  const { createClient } = await importRedis();
  const client = createClient({
    url: url.href,
    socket: { connectTimeout: TIMEOUT_SECONDS * 1000, reconnectStrategy: false },
  }) as NodeRedisClient;
  // Without a listener, node-redis turns a connection error into an uncaught exception.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    destroy(client);
    throw new CliError(`cannot connect to Redis at ${where}: ${describeRedisError(error)}`);
  }
  const prefix = stringOption(values, 'prefix');
  const channel = stringOption(values, 'channel');
  let list: RedisRevocationList;
  try {
    list = createRedisRevocationList(client, {
      ...(prefix !== undefined && { prefix }),
      ...(channel !== undefined && { channel }),
      timeout: TIMEOUT_SECONDS,
    });
    await list.ready();
  } catch (error) {
    destroy(client);
    throw new CliError(`cannot load the revocation list from ${where}: ${describeRedisError(error)}`);
  }
  return {
    list,
    where,
    async close() {
      await list.close();
      destroy(client);
    },
  };
}

/** Closes the connection; node-redis throws when it is closed already (a failed connect). */
function destroy(client: NodeRedisClient): void {
  try {
    client.destroy();
  } catch {
    // Already closed: nothing to release.
  }
}

async function importRedis(): Promise<{ createClient: (options: object) => unknown }> {
  try {
    // A variable specifier: the compiler must not resolve (or type) an optional peer dependency.
    const name = 'redis';
    return (await import(name)) as { createClient: (options: object) => unknown };
  } catch {
    throw new CliError('the "redis" package is not installed: npm install redis', EXIT.usage);
  }
}

/** node-redis reports refused connections as an AggregateError with an empty message. */
function describeRedisError(error: unknown): string {
  if (error instanceof AggregateError && error.message === '' && error.errors.length > 0) {
    return oneLine(error.errors[0]);
  }
  const line = oneLine(error);
  const code = (error as { code?: unknown })?.code;
  return line !== '' ? line : typeof code === 'string' ? code : 'unknown error';
}
