/**
 * Validation of configured endpoint URLs (issuer, JWKS, token endpoint).
 *
 * @module
 */

/**
 * Why `text` cannot be used as an endpoint, or `undefined` when it can: it must be an absolute
 * http(s) URL without credentials (which would travel in every request and show in errors).
 */
export function httpUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  return undefined;
}
