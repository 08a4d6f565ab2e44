/**
 * Reading the token `inspect` is given: an argument, or `-` for standard input (so it need not
 * appear in the shell history or the process list).
 *
 * @module
 */
import { MAX_TOKEN_LENGTH } from '../bearer.js';
import { usageError } from './io.js';

/** More than any token the verifier accepts, so an oversized token is still reported as such. */
const MAX_INPUT = 4 * MAX_TOKEN_LENGTH;
/** A pasted `Authorization` value: the scheme is dropped. */
const SCHEME = /^(?:authorization:\s*)?(?:bearer|dpop)\s+/i;

/** The token from `argument` (`-`: standard input), trimmed, without a pasted `Bearer ` prefix. */
export async function readToken(argument: string, stdin: NodeJS.ReadableStream): Promise<string> {
  const raw = argument === '-' ? await readAll(stdin) : argument;
  const token = raw.trim().replace(SCHEME, '').trim();
  if (token === '') throw usageError(argument === '-' ? 'no token on standard input' : 'the token is empty');
  return token;
}

async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_INPUT) throw usageError(`standard input is larger than ${MAX_INPUT} bytes: not a token`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
