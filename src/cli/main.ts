#!/usr/bin/env node
/**
 * `npx express-m2m <command>`: inspect a token, get one, or revoke tokens fleet-wide. Every
 * failure ends with one line on standard error, never a stack trace, and exit code 1 (failed
 * or refused) or 2 (usage or configuration).
 *
 * @module
 */
import { runCommand } from './commands.js';
import { EXIT } from './io.js';

const code = await runCommand({
  argv: process.argv.slice(2),
  env: process.env,
  stdin: process.stdin,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  now: Date.now,
}).catch(() => EXIT.failed);
process.exitCode = code;
