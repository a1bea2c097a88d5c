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
 * commit). They use KEYS[1] (the session's meta hash) and the validator's
 * `now`; share and allowance come in as script arguments.
 */
export const RESERVE_HELPERS = `
local RECORD_OVERHEAD = 200
local DEFAULT_WINDOW = 172800000
local DEFAULT_ROTATION_WINDOW = 1209600000

-- True when Redis uses at least share of its maxmemory (never without a maxmemory).
local function above_share(share)
  if share >= 1 then return false end
  local info = redis.call('INFO', 'memory')
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

-- The growth account in meta (see redis-reserve.ts), rolled to now: one field, MessagePack, so one HGET and one HSET.
local ACCOUNT = { 'aw', 'ar', 'ab', 'pr', 'pb', 'wl', 'vb', 'qw', 'qr', 'qp', 'ql' }
local function account(meta, now)
  local packed = redis.call('HGET', meta, 'acct')
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

local function within(acc, limits, records, bytes, rotations)
  return acc.ar + acc.pr + records <= limits.records and acc.vb + acc.ab + acc.pb + bytes <= limits.bytes and acc.qr + acc.qp + rotations <= limits.rotations
end

local function save_account(meta, acc)
  redis.call('HSET', meta, 'acct', cmsgpack.pack(acc.aw, acc.ar, acc.ab, acc.pr, acc.pb, acc.wl, acc.vb, acc.qw, acc.qr, acc.qp, acc.ql))
end
`;
