/**
 * Lua scripts that keep the Redis copy of a revocation list consistent when several
 * instances write at once. Records are JSON objects `{ id, at, expiresAt, entry }` in one hash.
 *
 * @module
 */

/**
 * Writes a record unless Redis holds a newer or equal version of the same id that has not
 * expired, and publishes it to the other instances.
 * KEYS[1] hash; ARGV: id, record JSON, version (`at`), channel, now (epoch seconds).
 * Returns 1 when written, 0 when Redis kept its newer version.
 */
export const PUT_RECORD = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local ok, held = pcall(cjson.decode, current)
  if ok and type(held) == 'table' then
    local at, expiresAt = tonumber(held.at), tonumber(held.expiresAt)
    if at and expiresAt and at >= tonumber(ARGV[3]) and expiresAt > tonumber(ARGV[5]) then
      return 0
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return 1
`;

/**
 * Returns every field and value of the hash (flat), after deleting the records that have
 * expired. A value it cannot read is left alone (it may come from a newer version).
 * KEYS[1] hash; ARGV: now (epoch seconds).
 */
export const LOAD_RECORDS = `
local all = redis.call('HGETALL', KEYS[1])
local kept = {}
local now = tonumber(ARGV[1])
for i = 1, #all, 2 do
  local ok, record = pcall(cjson.decode, all[i + 1])
  local expiresAt = ok and type(record) == 'table' and tonumber(record.expiresAt)
  if expiresAt and expiresAt <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    kept[#kept + 1] = all[i]
    kept[#kept + 1] = all[i + 1]
  end
end
return kept
`;
