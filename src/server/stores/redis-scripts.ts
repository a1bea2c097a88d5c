/**
 * The Lua scripts behind redisStore(). Each store call is one script, so each
 * is atomic and one round trip. Every key a script touches is passed in KEYS
 * and shares the session's hash tag, so the scripts also run on Redis Cluster.
 *
 * Keys of one session (P = prefix, S = session tag):
 *   P{S}:s      hash  epoch, exp (logical expiry, ms since the epoch)
 *   P{S}:v      hash  key -> version (a deleted key keeps its version: the delete marker)
 *   P{S}:d      hash  key -> value (canonical JSON); absent when the key is absent
 *   P{S}:r:<k>  hash  idempotency record: fp, state, lease, exp, answer; token (a pending claim's attempt)
 *
 * Expiry is decided by comparing the stored `exp` with the caller's `now`,
 * never by Redis's clock, so that tests can move time; Redis TTLs (PEXPIRE,
 * relative, at least the logical remaining time) only collect garbage.
 *
 * The `#!lua` shebang (Redis >= 7) makes Redis check, before the script runs,
 * that it may write: a replica answers READONLY, a full memory OOM, a failed
 * save MISCONF, and nothing of the script has run. Without it those errors
 * would surface at the first write, possibly after another write.
 */

// Lua 5.1 prints large numbers in %.14g; %d keeps millisecond timestamps exact.
const helpers = `
local function int(n) return string.format('%d', n) end

local function live_epoch(now)
  local meta = redis.call('HMGET', KEYS[1], 'epoch', 'exp')
  if meta[1] and tonumber(meta[2]) > now then return meta[1], tonumber(meta[2]) end
  return false, 0
end

local function expire_session(ttl)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end

-- Appends version and value (false when absent) of each key to out.
local function read_entries(out, first, last, step)
  for i = first, last, step do
    local key = ARGV[i]
    out[#out + 1] = tonumber(redis.call('HGET', KEYS[2], key) or '0')
    out[#out + 1] = redis.call('HGET', KEYS[3], key)
  end
end
`;

/**
 * begin, read-only variant (no claim, no touch): flagged no-writes, so that a
 * read-only replica serves it.
 * KEYS: meta, versions, values. ARGV: now, key...
 * Returns {epoch|false, 'none', 0, version1, value1, ...}.
 */
export const BEGIN_READ = `#!lua flags=no-writes
${helpers}
local now = tonumber(ARGV[1])
local epoch = live_epoch(now)
local out = {epoch, 'none', 0}
if epoch then read_entries(out, 2, #ARGV, 1) end
return out
`;

/**
 * begin with a claim and/or a touch.
 * KEYS: meta, versions, values, record. ARGV: now, claim ('1'|'0'),
 * fingerprint, leaseUntil, leaseMs, touch ('1'|'0'), touchExp, token, key...
 * Returns {epoch|false, claimStatus, claimArg, version1, value1, ...}.
 */
export const BEGIN_WRITE = `#!lua
${helpers}
local now = tonumber(ARGV[1])

local function claim(fp, lease_until, lease_ms, token)
  local r = redis.call('HMGET', KEYS[4], 'fp', 'state', 'lease', 'answer', 'exp', 'token')
  -- A pending claim with this attempt's own token is its own: a begin retried after its outcome was unknown.
  local own = r[2] == 'pending' and r[6] == token
  if r[1] and tonumber(r[5]) > now and not own then
    if r[1] ~= fp then return 'mismatch', 0 end
    if r[2] == 'done' then return 'replay', r[4] end
    local lease = tonumber(r[3])
    if lease > now then return 'in-flight', lease - now end
    -- A partial record whose request died: its answer stands, so that the committed part is never applied twice.
    if r[2] == 'partial' then return 'replay', r[4] end
    -- A pending claim whose lease ran out: that attempt died; this one takes over.
  end
  redis.call('DEL', KEYS[4])
  redis.call('HSET', KEYS[4], 'fp', fp, 'state', 'pending', 'lease', lease_until, 'exp', lease_until, 'token', token)
  redis.call('PEXPIRE', KEYS[4], lease_ms)
  return 'claimed', 0
end

local epoch, exp = live_epoch(now)
local status, arg = 'none', 0
if ARGV[2] == '1' then status, arg = claim(ARGV[3], ARGV[4], ARGV[5], ARGV[8]) end
if epoch and ARGV[6] == '1' then
  local touched = math.max(exp, tonumber(ARGV[7]))
  redis.call('HSET', KEYS[1], 'exp', int(touched))
  expire_session(int(touched - now))
end
local out = {epoch, status, arg}
if epoch then read_entries(out, 9, #ARGV, 1) end
return out
`;

/**
 * commit: one compare-and-swap of the whole change, with the record.
 * KEYS: meta, versions, values, record.
 * ARGV: now, mode, epoch, destroy, exp, idleTtlMs, hasRecord, fingerprint,
 * answer, state, leaseUntil, recordExp, retentionMs, token, nExpect,
 * then nExpect pairs (key, version), then triples (key, 's'|'d', value).
 * Returns {'committed', key1, version1, ...} | {'stale', key1, version1, value1, ...} | {'gone'}.
 */
export const COMMIT = `#!lua
${helpers}
local now = tonumber(ARGV[1])
local epoch = live_epoch(now)
local n_expect = tonumber(ARGV[15])
local first_change = 16 + 2 * n_expect

local function fail(result)
  -- The claim goes back, so that the same Idempotency-Key may return with a rebased body; only this attempt's claim.
  if ARGV[7] == '1' then
    local r = redis.call('HMGET', KEYS[4], 'state', 'token')
    if r[1] == 'pending' and r[2] == ARGV[14] then redis.call('DEL', KEYS[4]) end
  end
  return result
end

local function stale()
  local out = {'stale'}
  if epoch then
    for i = 16, first_change - 1, 2 do
      out[#out + 1] = ARGV[i]
      read_entries(out, i, i, 1)
    end
  end
  return fail(out)
end

if ARGV[2] == 'existing' then
  if not epoch or epoch ~= ARGV[3] then return fail({'gone'}) end
elseif epoch then
  return stale()
end
for i = 16, first_change - 1, 2 do
  local current = 0
  if epoch then current = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0') end
  if current ~= tonumber(ARGV[i + 1]) then return stale() end
end

local out = {'committed'}
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
else
  if not epoch then
    -- Created (perhaps over the remains of an expired session): start empty.
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
    redis.call('HSET', KEYS[1], 'epoch', ARGV[3])
  end
  redis.call('HSET', KEYS[1], 'exp', ARGV[5])
  for i = first_change, #ARGV, 3 do
    local key = ARGV[i]
    local version = redis.call('HINCRBY', KEYS[2], key, 1)
    if ARGV[i + 1] == 'd' then redis.call('HDEL', KEYS[3], key) else redis.call('HSET', KEYS[3], key, ARGV[i + 2]) end
    out[#out + 1] = key
    out[#out + 1] = version
  end
  expire_session(ARGV[6])
end
if ARGV[7] == '1' then
  redis.call('DEL', KEYS[4])
  redis.call('HSET', KEYS[4], 'fp', ARGV[8], 'answer', ARGV[9], 'state', ARGV[10], 'lease', ARGV[11], 'exp', ARGV[12])
  redis.call('PEXPIRE', KEYS[4], ARGV[13])
end
return out
`;

/** release: deletes the record only while it is a pending claim with this token. KEYS: record. ARGV: token. */
export const RELEASE = `#!lua
local r = redis.call('HMGET', KEYS[1], 'state', 'token')
if r[1] == 'pending' and r[2] == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

/** touch: extends a live session of that epoch. KEYS: meta, versions, values. ARGV: now, epoch, exp. */
export const TOUCH = `#!lua
${helpers}
local now = tonumber(ARGV[1])
local epoch, exp = live_epoch(now)
if epoch and epoch == ARGV[2] then
  local touched = math.max(exp, tonumber(ARGV[3]))
  redis.call('HSET', KEYS[1], 'exp', int(touched))
  expire_session(int(touched - now))
end
return 0
`;
