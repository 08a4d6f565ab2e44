// The soak's command line: one option table for every mode and role (the API processes are
// forked through the same entry, so they parse the same table), and the checks of each mode.
import { parseArgs } from 'node:util';
import { CLIENTS } from './constants.mjs';

const SINGLE_DEFAULT_DURATION = 60;
const FLEET_DEFAULT_DURATION = 20;

/** Printed (with exit code 2) when the single-process options are invalid. */
export const SINGLE_USAGE =
  'usage: node scripts/soak.mjs [--duration s] [--connections n] [--max-heap-growth-mb n] [--no-build]';

/** Printed (with exit code 2) when the `--fleet` options are invalid. */
export const FLEET_USAGE =
  'usage: node scripts/soak.mjs --fleet [--duration s (>= 3)] [--connections n] [--client node-redis|ioredis] ' +
  '[--max-requests n] [--max-heap-growth-mb n] [--no-build]';

/**
 * Parses the soak's arguments (strictly: an unknown option throws).
 *
 * @example
 * ```js
 * const args = parseSoakArgs(['--fleet', '--duration', '10']); // args.role === 'main'
 * ```
 * @param argv the arguments after the script name (default: this process's)
 * @returns the raw option values, defaults applied
 */
export function parseSoakArgs(argv = process.argv.slice(2)) {
  return parseArgs({
    args: argv,
    options: {
      role: { type: 'string', default: 'main' },
      duration: { type: 'string' },
      connections: { type: 'string', default: '16' },
      'max-heap-growth-mb': { type: 'string', default: '32' },
      'no-build': { type: 'boolean', default: false },
      fleet: { type: 'boolean', default: false },
      client: { type: 'string', default: 'node-redis' },
      'max-requests': { type: 'string' },
    },
  }).values;
}

/**
 * The single-process soak's settings, or `undefined` when one is invalid (print SINGLE_USAGE).
 *
 * @param args the values from parseSoakArgs
 * @returns `duration` (s), `connections`, `maxHeapGrowth` (bytes), `build` (rebuild dist/ if stale)
 */
export function singleOptions(args) {
  const duration = Number(args.duration ?? SINGLE_DEFAULT_DURATION);
  const connections = Number(args.connections);
  const maxHeapGrowth = Number(args['max-heap-growth-mb']) * 1024 * 1024;
  if (!(duration > 0) || !(connections > 0) || !(maxHeapGrowth > 0)) return undefined;
  return { duration, connections, maxHeapGrowth, build: !args['no-build'] };
}

/**
 * The fleet soak's settings, or `undefined` when one is invalid (print FLEET_USAGE). The
 * duration must leave room for the revocation and the Redis restart (at least 3 s).
 *
 * @param args the values from parseSoakArgs
 * @returns `duration` (s), `workers` (from --connections), `maxRequests` (default 5,000 per
 *   second of duration), `maxHeapGrowth` (bytes), `client` (a Redis client library), `build`
 */
export function fleetOptions(args) {
  const duration = Number(args.duration ?? FLEET_DEFAULT_DURATION);
  const workers = Number(args.connections);
  const maxRequests = Number(args['max-requests'] ?? duration * 5000);
  const maxHeapGrowth = Number(args['max-heap-growth-mb']) * 1024 * 1024;
  const client = args.client;
  if (!(duration >= 3) || !(workers > 0) || !(maxRequests > 0) || !(maxHeapGrowth > 0) || !CLIENTS.includes(client)) {
    return undefined;
  }
  return { duration, workers, maxRequests, maxHeapGrowth, client, build: !args['no-build'] };
}
