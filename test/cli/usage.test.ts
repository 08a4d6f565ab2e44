/**
 * Usage errors and help of the CLI, run as a child process: exit 2 with one line on standard
 * error (never a stack), help on standard output.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { buildCli, runCli } from './run-cli.js';

beforeAll(() => {
  buildCli();
}, 200_000);

describe('usage errors', () => {
  it.each([
    [['inspect'], 'express-m2m: missing <token> (or - for standard input) (see: express-m2m inspect --help)'],
    [['inspect', 'x', '--bogus'], 'express-m2m: unknown option --bogus (see: express-m2m inspect --help)'],
    [['inspect', 'x', '--audience'], 'express-m2m: option --audience needs a value (see: express-m2m inspect --help)'],
    [['inspect', 'x', '--json=yes'], 'express-m2m: option --json takes no value (see: express-m2m inspect --help)'],
    [['frobnicate'], 'express-m2m: unknown command "frobnicate" (see: express-m2m --help)'],
    [['inspect', '-'], 'express-m2m: no token on standard input'],
  ])('%j exits 2 with one line', async (args, line) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${line}\n`);
  });

  it('prints the help of the CLI and of each command', async () => {
    const main = await runCli(['--help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toContain('Usage: express-m2m <command> [options]');
    const bare = await runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('Usage: express-m2m <command> [options]');
    const topic = await runCli(['help', 'revoke']);
    expect(topic.stdout).toContain('Usage: express-m2m revoke client <clientId>');
    for (const command of ['inspect', 'token', 'revoke', 'revocations']) {
      const help = await runCli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: express-m2m ${command}`);
    }
  });
});
