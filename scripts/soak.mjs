#!/usr/bin/env node
/**
 * Soak test: sustained load on an Express API protected by express-m2m, through the faults a
 * deployment meets (the modules under scripts/soak/ say what each mode does and checks).
 *
 *   node scripts/soak.mjs [--duration 60] [--connections 16] [--max-heap-growth-mb 32] [--no-build]
 *
 * soaks one API process with autocannon through a key rotation and a JWKS outage
 * (scripts/soak/single.mjs); `--duration 5` is the CI variant.
 *
 *   node scripts/soak.mjs --fleet [--duration 20] [--connections 16] [--client node-redis|ioredis]
 *                         [--max-requests n] [--max-heap-growth-mb 32] [--no-build]
 *
 * soaks a fleet: two API processes sharing one redis-server for the DPoP replay store and the
 * revocation list, DPoP traffic with a fresh proof per request, a revocation and a Redis restart
 * in the middle (scripts/soak/fleet.mjs).
 *
 * Exit code 0 when the run passed, 1 on any violation, 2 on invalid options. `dist/` is rebuilt
 * first when missing or older than `src/` (use --no-build to skip). The API processes are forked
 * through this file with `--role api` or `--role fleet-api`.
 */
import { ensureDist } from './ensure-dist.mjs';
import { FLEET_USAGE, SINGLE_USAGE, fleetOptions, parseSoakArgs, singleOptions } from './soak/options.mjs';

const args = parseSoakArgs();

if (args.role === 'api') await (await import('./soak/single-api.mjs')).runSingleApi();
else if (args.role === 'fleet-api') await (await import('./soak/fleet-api.mjs')).runFleetApi();
else process.exitCode = await runDriver();

/** Checks the options of the chosen mode, brings dist/ up to date and runs the mode's driver. */
async function runDriver() {
  const options = args.fleet ? fleetOptions(args) : singleOptions(args);
  if (options === undefined) {
    console.error(args.fleet ? FLEET_USAGE : SINGLE_USAGE);
    return 2;
  }
  if (options.build) ensureDist({ log: (line) => console.log(`[soak] ${line}`) });
  if (args.fleet) return (await import('./soak/fleet.mjs')).runFleet(options);
  return (await import('./soak/single.mjs')).runSingle(options);
}
