/**
 * Deep freezing of decoded JSON values that are shared between requests.
 *
 * @module
 */

/** Freezes a JSON-like value and everything in it; iterative, so a deeply nested claim cannot exhaust the stack. */
export function deepFreeze<T extends object>(root: T): T {
  const pending: object[] = [root];
  for (let value = pending.pop(); value !== undefined; value = pending.pop()) {
    if (Object.isFrozen(value)) continue;
    Object.freeze(value);
    for (const child of Object.values(value)) {
      if (child !== null && typeof child === 'object') pending.push(child as object);
    }
  }
  return root;
}
