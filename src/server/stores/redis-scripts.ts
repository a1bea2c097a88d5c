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
 *   P{S}:ri     set   the <k> of every record claimed in the session (what a rotation moves)
 *
 * A session rotated away leaves a tombstone in P{S}:s instead of its epoch:
 * tomb (the new id), tepoch, tkey (the rotating request's Idempotency-Key),
 * tuntil (its replay window), exp. A rotation is one script: the new id
 * shares the old one's hash slot (redisStore's rotationId on a Cluster).
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

import { RESERVE_HELPERS } from './redis-reserve.js';

// Lua 5.1 prints large numbers in %.14g; %d keeps millisecond timestamps exact.
const helpers = `
local function int(n) return string.format('%d', n) end

-- Also the growth account (redis-reserve.ts), read in the same call: the scripts that grow a session need it.
local function live_epoch(now)
  local meta = redis.call('HMGET', KEYS[1], 'epoch', 'exp', 'acct')
  if meta[1] and tonumber(meta[2]) > now then return meta[1], tonumber(meta[2]), meta[3] end
  return false, 0, false
end

-- A live tombstone of KEYS[1]: {new id, new epoch, rotating key, replay until}, or false.
local function tombstone(now)
  local t = redis.call('HMGET', KEYS[1], 'tomb', 'tepoch', 'tkey', 'tuntil', 'exp')
  if t[1] and tonumber(t[5]) > now then return {t[1], t[2], t[3], t[4]} end
  return false
end

-- P{S} of a key P{S}:x, and the <k> of a record key P{S}:r:<k>.
local function base_of(meta) return string.sub(meta, 1, -3) end
local function record_name(record) return string.sub(record, #base_of(KEYS[1]) + 4) end

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
 * Returns {epoch|false, 'none', 0, 0, version1, value1, ...}, or {false, 'rotated', tombstone, 0}
 * (the same shape as BEGIN_WRITE's, whose fourth element is answeredFor).
 */
export const BEGIN_READ: string = `#!lua flags=no-writes
${helpers}
local now = tonumber(ARGV[1])
local epoch = live_epoch(now)
if not epoch then
  local t = tombstone(now)
  if t then return {false, 'rotated', t, 0} end
end
local out = {epoch, 'none', 0, 0}
if epoch then read_entries(out, 2, #ARGV, 1) end
return out
`;

/**
 * begin with a claim and/or a touch.
 * KEYS: meta, versions, values, record, record index; then the same five of
 * the claim's `alsoUnder` id (contract 2: a creating request's previous
 * window), or the first five again. ARGV: now, claim ('1'|'0'),
 * fingerprint, leaseUntil, leaseMs, touch ('1'|'0'), touchExp, token,
 * share, allowed records, allowed bytes, key...
 * Returns {epoch|false, claimStatus, claimArg, answeredFor, version1, value1, ...}, or
 * {false, 'rotated', tombstone, answeredFor} (nothing claimed or touched), or
 * {false, 'refused', 0, 0}: the claim would grow Redis past the reserve (nothing claimed or touched).
 * answeredFor: 1 when the answer is for the second id (the key or a tombstone is there and not under the first), else 0.
 */
export const BEGIN_WRITE: string = `#!lua
local now = tonumber(ARGV[1])

-- Whether the id of these keys holds what the claim stops at: a live tombstone, or a record of the key that
-- this attempt may not claim (as claim() below decides: not its own pending claim, nor one whose lease ran out).
local function holds(meta, record, fp, token)
  local t = redis.call('HMGET', meta, 'tomb', 'exp')
  if t[1] and tonumber(t[2]) > now then return true end
  local r = redis.call('HMGET', record, 'fp', 'state', 'lease', 'exp', 'token')
  if not r[1] or tonumber(r[4]) <= now then return false end
  if r[1] ~= fp then return true end
  return not (r[2] == 'pending' and (r[5] == token or tonumber(r[3]) <= now))
end

-- The rest of the script serves one id, through KEYS: the second only when it alone holds the key.
local second = ARGV[2] == '1' and KEYS[6] ~= KEYS[1]
  and not holds(KEYS[1], KEYS[4], ARGV[3], ARGV[8]) and holds(KEYS[6], KEYS[9], ARGV[3], ARGV[8])
local answered_for = second and 1 or 0
local KEYS = second and {KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]} or KEYS

${helpers}
${RESERVE_HELPERS}
local limits = { share = tonumber(ARGV[9]), records = tonumber(ARGV[10]), bytes = tonumber(ARGV[11]), rotations = math.huge }

local function claim(epoch, packed_account, fp, lease_until, lease_ms, token)
  local r = redis.call('HMGET', KEYS[4], 'fp', 'state', 'lease', 'answer', 'exp', 'token')
  -- A pending claim with this attempt's own token is its own: a begin retried after its outcome was unknown.
  local own = r[2] == 'pending' and r[6] == token
  if r[1] and tonumber(r[5]) > now and not own then
    if r[1] ~= fp then return 'mismatch', r[4] or false end
    if r[2] == 'done' then return 'replay', r[4] end
    local lease = tonumber(r[3])
    if lease > now then return 'in-flight', lease - now end
    -- A partial record whose request died: its answer stands, so that the committed part is never applied twice.
    if r[2] == 'partial' then return 'replay', r[4] end
    -- A pending claim whose lease ran out: that attempt died; this one takes over.
  end
  local acc = epoch and account(packed_account, now)
  if not own then
    -- A new record is growth: a live session within its allowance may (Redis's memory is not even read); the rest
    -- only below the share. The commit counts it; a claim given back leaves a name in the index that prune_index finds.
    local cost = RECORD_OVERHEAD + #fp + 2 * #record_name(KEYS[4])
    if not (acc and within(acc, limits, 1, cost, 0)) and above_share(limits.share) then return 'refused', 0 end
  end
  if acc then prune_index(acc) end
  redis.call('DEL', KEYS[4])
  redis.call('HSET', KEYS[4], 'fp', fp, 'state', 'pending', 'lease', lease_until, 'exp', lease_until, 'token', token)
  redis.call('PEXPIRE', KEYS[4], lease_ms)
  redis.call('SADD', KEYS[5], record_name(KEYS[4]))
  if redis.call('PTTL', KEYS[5]) < tonumber(lease_ms) then redis.call('PEXPIRE', KEYS[5], lease_ms) end
  return 'claimed', 0
end

local epoch, exp, packed_account = live_epoch(now)
if not epoch then
  local t = tombstone(now)
  if t then return {false, 'rotated', t, answered_for} end
end
local status, arg = 'none', 0
if ARGV[2] == '1' then status, arg = claim(epoch, packed_account, ARGV[3], ARGV[4], ARGV[5], ARGV[8]) end
if status == 'refused' then return {false, 'refused', 0, 0} end
if epoch and ARGV[6] == '1' then
  local touched = math.max(exp, tonumber(ARGV[7]))
  redis.call('HSET', KEYS[1], 'exp', int(touched))
  expire_session(int(touched - now))
end
local out = {epoch, status, arg, answered_for}
if epoch then read_entries(out, 12, #ARGV, 1) end
return out
`;

/**
 * commit: one compare-and-swap of the whole change, with the record.
 * KEYS: meta, versions, values, record, record index; then the new id's
 * meta, versions, values, record, record index (when rotating; else the old ones again).
 * ARGV: now, mode, epoch, destroy, exp, idleTtlMs, hasRecord, fingerprint,
 * answer, state, leaseUntil, recordExp, retentionMs, token, rotate ('1'|'0'),
 * newEpoch, keepKeys ('1', or a JSON list of the keys kept), replayUntil, newId, share, allowed records,
 * allowed bytes, allowed rotations, nExpect,
 * then nExpect pairs (key, version), then triples (key, 's'|'d', value).
 * Returns {'committed', key1, version1, ...} | {'stale', key1, version1, value1, ...} | {'gone'} | {'gone', 'rotated'} | {'occupied'}
 * | {'refused'} (the change would grow Redis past the reserve: nothing applied, the claim released).
 */
export const COMMIT: string = `#!lua
${helpers}
${RESERVE_HELPERS}
local now = tonumber(ARGV[1])
local epoch, _, packed_account = live_epoch(now)
local limits = { share = tonumber(ARGV[20]), records = tonumber(ARGV[21]), bytes = tonumber(ARGV[22]), rotations = tonumber(ARGV[23]) }
local n_expect = tonumber(ARGV[24])
local first_expect = 25
local first_change = first_expect + 2 * n_expect
local rotate = ARGV[15] == '1'

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
    for i = first_expect, first_change - 1, 2 do
      out[#out + 1] = ARGV[i]
      read_entries(out, i, i, 1)
    end
  end
  return fail(out)
end

-- A tombstone is never written to (nor created over): its id was rotated away.
if not epoch and tombstone(now) then return fail({'gone', 'rotated'}) end
if ARGV[2] == 'existing' then
  if not epoch or epoch ~= ARGV[3] then return fail({'gone'}) end
elseif epoch then
  return stale()
end
for i = first_expect, first_change - 1, 2 do
  local current = 0
  if epoch then current = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0') end
  if current ~= tonumber(ARGV[i + 1]) then return stale() end
end

-- An id the app gives may already be in use: never move a session over another (nor over its tombstone or records).
if rotate and ARGV[4] ~= '1' and (redis.call('EXISTS', KEYS[6]) == 1 or redis.call('EXISTS', KEYS[10]) == 1) then return fail({'occupied'}) end

-- The reserve (redis-reserve.ts): a logout only frees; any other change is checked, and counted into the account.
local acc
if ARGV[4] ~= '1' then
  acc = commit_growth(epoch, packed_account, now, limits, first_change, rotate)
  if not acc then return fail({'refused'}) end
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
  if not rotate then save_account(KEYS[1], acc) end
  expire_session(ARGV[6])
end
local record, index = KEYS[4], KEYS[5]
if rotate and ARGV[4] ~= '1' then
  -- The session moves whole to the new id (same hash slot), then the old id becomes a tombstone.
  for i = 6, 10 do redis.call('DEL', KEYS[i]) end
  if ARGV[17] == '1' then
    if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[7]) end
    if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[8]) end
  else
    -- Only the kept keys move (the rotating request's own changes among them), with their versions and values.
    for _, key in ipairs(cjson.decode(ARGV[17])) do
      local version = redis.call('HGET', KEYS[2], key)
      if version then redis.call('HSET', KEYS[7], key, version) end
      local value = redis.call('HGET', KEYS[3], key)
      if value then redis.call('HSET', KEYS[8], key, value) end
    end
    redis.call('DEL', KEYS[2], KEYS[3])
  end
  redis.call('HSET', KEYS[6], 'epoch', ARGV[16], 'exp', ARGV[5])
  save_account(KEYS[6], acc)
  local old_base, new_base = base_of(KEYS[1]), base_of(KEYS[6])
  for _, name in ipairs(redis.call('SMEMBERS', KEYS[5])) do
    local from = old_base .. ':r:' .. name
    if redis.call('EXISTS', from) == 1 then
      redis.call('RENAME', from, new_base .. ':r:' .. name)
      redis.call('SADD', KEYS[10], name)
    end
  end
  local index_ttl = redis.call('PTTL', KEYS[5])
  if index_ttl > 0 then redis.call('PEXPIRE', KEYS[10], index_ttl) end
  redis.call('DEL', KEYS[5])
  local tkey = ''
  if ARGV[7] == '1' then tkey = record_name(KEYS[4]) end
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'tomb', ARGV[19], 'tepoch', ARGV[16], 'tkey', tkey, 'tuntil', ARGV[18], 'exp', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  for i = 6, 8 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
  record, index = KEYS[9], KEYS[10]
end
if ARGV[7] == '1' then
  redis.call('DEL', KEYS[4], record)
  redis.call('HSET', record, 'fp', ARGV[8], 'answer', ARGV[9], 'state', ARGV[10], 'lease', ARGV[11], 'exp', ARGV[12])
  redis.call('PEXPIRE', record, ARGV[13])
  redis.call('SADD', index, record_name(KEYS[4]))
  if redis.call('PTTL', index) < tonumber(ARGV[13]) then redis.call('PEXPIRE', index, ARGV[13]) end
end
return out
`;

/** release: deletes the record only while it is a pending claim with this token. KEYS: record. ARGV: token. */
export const RELEASE: string = `#!lua
local r = redis.call('HMGET', KEYS[1], 'state', 'token')
if r[1] == 'pending' and r[2] == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

/** touch: extends a live session of that epoch. KEYS: meta, versions, values. ARGV: now, epoch, exp. */
export const TOUCH: string = `#!lua
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
