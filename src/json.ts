/**
 * The one "is this a JSON object" check: documents from the network (metadata, key sets,
 * token and introspection responses), configuration entries and decoded claims.
 *
 * @module
 */

/** True for a plain object as `JSON.parse` makes for `{…}`: not null, not an array, no exotic prototype. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.prototype.toString.call(value) !== '[object Object]') {
    return false;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}
