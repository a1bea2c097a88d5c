/**
 * The reserve redisStore() keeps for established sessions (issue 20 §3).
 *
 * With `noeviction`, a full Redis refuses every write, so whatever fills it
 * takes every user's writes, logins and logouts with it. Above a share of
 * `maxmemory`, the scripts therefore let only a live session within its
 * allowance grow; new sessions (cookie-made or resolver-made), claims for an
 * id that holds no session, and sessions past their allowance are refused,
 * which the validator answers with 503 and Retry-After. The check is part of
 * the scripts, so it costs no round trip, and an allowed write of a session
 * within its allowance does not even ask Redis for its memory.
 *
 * Each session keeps its account in its meta hash (P{S}:s), in one field
 * `acct` (MessagePack, so that a write reads and writes it in one call):
 *   vb          bytes of its present values (key name + canonical JSON)
 *   aw, ar, ab  start of the current records window, records and their bytes made in it
 *   pr, pb      records and bytes of the window before
 *   wl          window length: the records' retention (a record is gone two windows after it was made)
 *   qw, qr, qp  the same for rotations; ql, their window: the idle lifetime (how long a tombstone lives)
 * So `ar + pr` bounds the session's live records and `vb + ab + pb` its bytes,
 * without visiting them. A rotation carries the account to the new id.
 */

/** Above `share` of maxmemory, an established session grows only within these. */
export interface SessionAllowance {
  /**
   * Idempotency records (one per write, claimed or committed) a session may
   * have made in its last one to two retention periods.
   * @default 256
   */
  records?: number;
  /**
   * Estimated bytes of a session: its values, plus its records of the last one
   * to two retention periods (their answers, fingerprints and names, and 200
   * bytes each for Redis's own overhead).
   * @default 524288 (512 KiB)
   */
  bytes?: number;
  /**
   * Rotations (logins, privilege changes) of one session and the sessions it
   * was rotated from, in its last one to two idle lifetimes: each leaves a
   * tombstone that lives that long.
   * @default 16
   */
  rotations?: number;
}

export interface ReserveSettings {
  readonly share: number;
  readonly records: number;
  readonly bytes: number;
  readonly rotations: number;
}

export const DEFAULT_ALLOWANCE = { records: 256, bytes: 512 * 1024, rotations: 16 } as const;

/** Checks the options; a TypeError names the option and the value it got. */
export function reserveSettings(share: unknown, allowance: SessionAllowance | undefined): ReserveSettings {
  if (typeof share !== 'number' || !(share > 0 && share <= 1)) {
    throw new TypeError(`redisStore(): newSessionMemoryShare must be a number above 0 and at most 1, got ${String(share)}`);
  }
  if (allowance !== undefined && (typeof allowance !== 'object' || allowance === null)) {
    throw new TypeError(`redisStore(): allowance must be an object ({ records, bytes, rotations }), got ${String(allowance)}`);
  }
  const given = allowance ?? {};
  for (const name of Object.keys(given)) {
    if (!(name in DEFAULT_ALLOWANCE)) throw new TypeError(`redisStore(): allowance.${name} is not an option (records, bytes, rotations)`);
  }
  const pick = (name: keyof typeof DEFAULT_ALLOWANCE): number => {
    const value = given[name] ?? DEFAULT_ALLOWANCE[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new TypeError(`redisStore(): allowance.${name} must be a whole number of at least 1, got ${String(value)}`);
    }
    return value;
  };
  return { share, records: pick('records'), bytes: pick('bytes'), rotations: pick('rotations') };
}

/**
 * Lua helpers for the scripts that grow a session (begin with a claim,
 * commit), included after redis-scripts.ts's helpers. They use the scripts'
 * KEYS (meta, versions, values, record, record index) and the validator's
 * `now`; share and allowance come in as script arguments.
 */
export const RESERVE_HELPERS: string = `
local RECORD_OVERHEAD = 200
local DEFAULT_WINDOW = 172800000
local DEFAULT_ROTATION_WINDOW = 1209600000

-- True when Redis uses at least share of its maxmemory (never without a maxmemory). An ACL that denies INFO
-- to the store's user turns the reserve off rather than refusing every new session.
local function above_share(share)
  if share >= 1 then return false end
  local info = redis.pcall('INFO', 'memory')
  if type(info) ~= 'string' then return false end
  local max = tonumber(string.match(info, 'maxmemory:(%d+)'))
  if not max or max == 0 then return false end
  return tonumber(string.match(info, 'used_memory:(%d+)')) >= share * max
end

-- How many whole windows of length len have passed since start (0, 1, or 2 for two or more).
local function windows_passed(start, len, now)
  if now >= start + 2 * len then return 2 end
  if now >= start + len then return 1 end
  return 0
end

-- The growth account (the meta hash's 'acct', MessagePack: live_epoch reads it, save_account writes it), rolled to now.
local ACCOUNT = { 'aw', 'ar', 'ab', 'pr', 'pb', 'wl', 'vb', 'qw', 'qr', 'qp', 'ql' }
local function account(packed, now)
  local acc = { aw = now, ar = 0, ab = 0, pr = 0, pb = 0, wl = DEFAULT_WINDOW, vb = 0, qw = now, qr = 0, qp = 0, ql = DEFAULT_ROTATION_WINDOW }
  if packed then
    local values = { cmsgpack.unpack(packed) }
    for i, name in ipairs(ACCOUNT) do acc[name] = values[i] or acc[name] end
  end
  local passed = windows_passed(acc.aw, acc.wl, now)
  if passed == 2 then acc.aw, acc.ar, acc.ab, acc.pr, acc.pb = now, 0, 0, 0, 0 end
  if passed == 1 then acc.aw, acc.ar, acc.ab, acc.pr, acc.pb = acc.aw + acc.wl, 0, 0, acc.ar, acc.ab end
  passed = windows_passed(acc.qw, acc.ql, now)
  if passed == 2 then acc.qw, acc.qr, acc.qp = now, 0, 0 end
  if passed == 1 then acc.qw, acc.qr, acc.qp = acc.qw + acc.ql, 0, acc.qr end
  return acc
end

-- An account for a session that starts now (perhaps over the remains of an expired one).
local function fresh_account(now)
  return { aw = now, ar = 0, ab = 0, pr = 0, pb = 0, wl = DEFAULT_WINDOW, vb = 0, qw = now, qr = 0, qp = 0, ql = DEFAULT_ROTATION_WINDOW }
end

-- Within the allowance after this growth? Rotations count only for a rotation: a session that logged in often may still write.
local function within(acc, limits, records, bytes, rotations)
  return acc.ar + acc.pr + records <= limits.records
    and acc.vb + acc.ab + acc.pb + bytes <= limits.bytes
    and (rotations == 0 or acc.qr + acc.qp + rotations <= limits.rotations)
end

-- Two names out of the index whose records are gone, when it holds more names than the session can have live
-- records: a long-lived session's index (KEYS[5]) stays near its live records (one SCARD otherwise).
local function prune_index(acc)
  if acc and redis.call('SCARD', KEYS[5]) <= acc.ar + acc.pr then return end
  local base = base_of(KEYS[1])
  for _, name in ipairs(redis.call('SRANDMEMBER', KEYS[5], 2)) do
    if redis.call('EXISTS', base .. ':r:' .. name) == 0 then redis.call('SREM', KEYS[5], name) end
  end
end

-- The commit's growth (COMMIT's KEYS and ARGV): a new session, a rotation, bigger values, a record. A live session
-- within its allowance may grow (Redis's memory is not even read); the rest only below the share. Returns the
-- account with the change counted, or nil: refused.
local function commit_growth(epoch, packed_account, now, limits, first_change, rotate)
  local acc = epoch and account(packed_account, now) or fresh_account(now)
  local value_bytes, records, record_bytes = 0, 0, 0
  for i = first_change, #ARGV, 3 do
    local key = ARGV[i]
    local old = epoch and redis.call('HSTRLEN', KEYS[3], key) or 0
    if old > 0 then value_bytes = value_bytes - #key - old end
    if ARGV[i + 1] ~= 'd' then value_bytes = value_bytes + #key + #ARGV[i + 2] end
  end
  if ARGV[7] == '1' then
    record_bytes = #ARGV[9]
    acc.wl = math.max(acc.wl, tonumber(ARGV[13]))
    -- The record counts once, here (begin only checks its claim): the first commit of its key in this request.
    if redis.call('HGET', KEYS[4], 'state') == 'pending' then
      records, record_bytes = 1, record_bytes + RECORD_OVERHEAD + #ARGV[8] + 2 * #record_name(KEYS[4])
    end
  end
  local rotations = rotate and 1 or 0
  local grows = not epoch or rotate or value_bytes > 0 or record_bytes > 0
  local allowed = epoch and within(acc, limits, records, math.max(value_bytes, 0) + record_bytes, rotations)
  if grows and not allowed and above_share(limits.share) then return nil end
  acc.vb, acc.ar, acc.ab, acc.qr = math.max(acc.vb + value_bytes, 0), acc.ar + records, acc.ab + record_bytes, acc.qr + rotations
  if rotate then
    acc.ql = tonumber(ARGV[6])
    -- Not every key kept (keepKeys false, or a list): the new session holds only the kept keys' values, as this
    -- commit leaves them (the rotating request's own changes are among the kept keys).
    if ARGV[17] ~= '1' then
      local changed = {}
      for i = first_change, #ARGV, 3 do
        if ARGV[i + 1] == 'd' then changed[ARGV[i]] = false else changed[ARGV[i]] = ARGV[i + 2] end
      end
      acc.vb = 0
      for _, key in ipairs(cjson.decode(ARGV[17])) do
        local value = changed[key]
        if value == nil and epoch then value = redis.call('HGET', KEYS[3], key) end
        if value then acc.vb = acc.vb + #key + #value end
      end
    end
  end
  return acc
end

local function save_account(meta, acc)
  redis.call('HSET', meta, 'acct', cmsgpack.pack(acc.aw, acc.ar, acc.ab, acc.pr, acc.pb, acc.wl, acc.vb, acc.qw, acc.qr, acc.qp, acc.ql))
end
`;
