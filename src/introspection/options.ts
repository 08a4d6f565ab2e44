/**
 * Reading an issuer's `introspection` option (RFC 7662): the endpoint, how the API
 * authenticates there (the token client's client authentication, so there is one
 * implementation of it), the mode and the answer cache's lifetime.
 *
 * @module
 */
import { createClientAuthentication, type ClientAuthentication } from '../client/client-auth.js';
import type { OptionProblems } from '../options/readers.js';
import type { IntrospectionOptions } from '../options/types.js';

/** Introspection settings after defaults and validation. */
export interface ResolvedIntrospection {
  /** The configured endpoint; `undefined` means the discovered `introspection_endpoint`. */
  endpoint: string | undefined;
  clientId: string;
  /** Holds the credential privately; never logged. */
  authentication: ClientAuthentication;
  mode: 'opaque' | 'always';
  /** Seconds an active answer is reused. */
  cacheMaxAge: number;
}

const introspectionOptionKeys = [
  'endpoint',
  'clientId',
  'clientSecret',
  'privateKey',
  'tokenEndpointAuthMethod',
  'mode',
  'cacheMaxAge',
];
const DEFAULT_CACHE_MAX_AGE = 60;
const MAX_CACHE_MAX_AGE = 3_600;

/**
 * Reads `introspection` (under `name`, e.g. `issuers[1].introspection`).
 *
 * @param discovered - true when the issuer's metadata is discovered, so the endpoint may come from it.
 * @returns the settings, or `undefined` when absent or a problem was recorded.
 */
export function readIntrospection(
  problems: OptionProblems,
  value: unknown,
  name: string,
  discovered: boolean,
): ResolvedIntrospection | undefined {
  const config = problems.object(value, name);
  if (config === undefined) return undefined;
  const before = problems.ok;
  problems.unknownKeys(config, introspectionOptionKeys, `${name}.`);
  const options = config as unknown as IntrospectionOptions;
  const endpoint = problems.url(options.endpoint, `${name}.endpoint`);
  if (options.endpoint === undefined && !discovered) {
    problems.add(
      `\`${name}.endpoint\` is required when the issuer's metadata is not discovered (no \`issuerBaseURL\`)`,
    );
  }
  const clientId = problems.string(options.clientId, `${name}.clientId`);
  if (clientId === undefined) problems.add(`\`${name}.clientId\` is required`);
  const mode = problems.oneOf(options.mode, `${name}.mode`, ['opaque', 'always'], 'opaque');
  const cacheMaxAge = problems.seconds(options.cacheMaxAge, `${name}.cacheMaxAge`, {
    fallback: DEFAULT_CACHE_MAX_AGE,
    max: MAX_CACHE_MAX_AGE,
  });
  let authentication: ClientAuthentication | undefined;
  try {
    authentication = createClientAuthentication(
      {
        clientId: clientId ?? '',
        clientSecret: options.clientSecret,
        privateKey: options.privateKey,
        tokenEndpointAuthMethod: options.tokenEndpointAuthMethod,
      },
      name,
    );
  } catch (error) {
    // The message names the option, never its value; it is re-worded under this option's name.
    problems.add(`\`${name}\`: ${(error as Error).message.replace(/^express-m2m: [^:]*: /, '')}`);
  }
  if (authentication === undefined || clientId === undefined || problems.ok !== before) return undefined;
  return { endpoint, clientId, authentication, mode, cacheMaxAge };
}
