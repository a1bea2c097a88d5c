import { Redis, type Cluster } from 'ioredis';
import {
  StoreUnavailableError,
  type BeginInput,
  type BeginResult,
  type ClaimOutcome,
  type CommitInput,
  type CommitResult,
  type ReleaseInput,
  type SessionStore,
  type StoredEntry,
  type TouchInput,
} from '../store.js';
import { reserveSettings, type SessionAllowance } from './redis-reserve.js';
import { hashSlot, inSlotOf, sameSlotId } from './redis-slots.js';
import { BEGIN_READ, BEGIN_WRITE, COMMIT, RELEASE, TOUCH } from './redis-scripts.js';

export interface RedisStoreOptions {
  /**
   * An ioredis client (`Redis` or `Cluster`) the app owns, or a `redis://`
   * URL for a client the store opens and `close()` closes. A client of your
   * own keeps your settings (give it `maxRetriesPerRequest: 1` and
   * `autoResendUnfulfilledCommands: false`, as the store does for a URL, so
   * that a call fails at once, and is never run again behind its back, when
   * the connection drops).
   * @example redisStore({ client: new Redis(process.env.REDIS_URL) })
   */
  client?: Redis | Cluster;
  /** A `redis://` or `rediss://` URL; used when `client` is not given. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /**
   * Prepended to every key, so that several apps (or test runs) share one
   * Redis. Must not contain `{` or `}`: the session id after it is the hash tag.
   * @default 'session-lanes:'
   */
  prefix?: string;
  /**
   * The reserve: while Redis uses at least this share of its `maxmemory`,
   * only a live session within its `allowance` may grow; new sessions
   * (cookie-made or under a `sessionId()` resolver) and sessions past their
   * allowance are refused (503), so that no flood takes the rest from
   * established sessions' writes, logins and logouts (with `noeviction`, a
   * full Redis refuses every write). Checked inside the scripts, with
   * `INFO memory` only for growth outside an allowance; without a
   * `maxmemory`, nothing is refused. 1 turns it off.
   * @default 0.9
   */
  newSessionMemoryShare?: number;
  /**
   * What one established session may hold while Redis is above the share.
   * @default { records: 256, bytes: 524288, rotations: 16 }
   * @example redisStore({ url, allowance: { records: 1_000 } })
   */
  allowance?: SessionAllowance;
}

export type { SessionAllowance } from './redis-reserve.js';

/** The few ioredis calls the store makes: the commands defineCommand() adds. */
interface ScriptedClient {
  sessionLanesBeginRead(...args: (string | number)[]): Promise<unknown[]>;
  sessionLanesBeginWrite(...args: (string | number)[]): Promise<unknown[]>;
  sessionLanesCommit(...args: (string | number)[]): Promise<unknown[]>;
  sessionLanesRelease(...args: (string | number)[]): Promise<unknown>;
  sessionLanesTouch(...args: (string | number)[]): Promise<unknown>;
}

/**
 * Fail fast: a request waiting on a dead Redis should become a 503, not hang.
 * And never resend a script after a reconnection: it may have run already,
 * and a resent claim would find itself in flight. The caller gets the error;
 * the client's resend with the same Idempotency-Key is what is safe.
 */
const OWN_CLIENT_OPTIONS = { maxRetriesPerRequest: 1, connectTimeout: 5_000, autoResendUnfulfilledCommands: false } as const;

/**
 * A session store on Redis (>= 7.0), for any number of app servers. Each call
 * is one Lua script, run by SHA (ioredis loads it on first use and after a
 * NOSCRIPT), so each is atomic and one round trip. Everything of a session,
 * its idempotency records included, shares the hash tag `{sessionId}`, so
 * the store works on Redis Cluster too. Any Redis failure (down, READONLY,
 * OOM, MISCONF) is thrown as a StoreUnavailableError with the Redis error as
 * its `cause`; a script either runs whole or not at all.
 */
export function redisStore(options: RedisStoreOptions = {}): SessionStore {
  const prefix = options.prefix ?? 'session-lanes:';
  const reserve = reserveSettings(options.newSessionMemoryShare ?? 0.9, options.allowance);
  if (/[{}]/.test(prefix)) throw new TypeError(`redisStore(): prefix must not contain "{" or "}", got ${JSON.stringify(prefix)}`);
  const owned = options.client === undefined;
  const client = options.client ?? new Redis(options.url ?? 'redis://127.0.0.1:6379', OWN_CLIENT_OPTIONS);
  if (owned) client.on('error', () => {}); // Calls report failures themselves; an unhandled 'error' event would crash the process.

  // A call in flight when the connection drops fails at once, and is never resent by this store (see OWN_CLIENT_OPTIONS).
  const inFlight = new Set<(error: Error) => void>();
  const onClose = () => {
    for (const reject of inFlight) reject(new Error('redisStore: the connection closed during the call; it may or may not have been applied'));
    inFlight.clear();
  };
  client.on('close', onClose);

  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    let rejectOnClose!: (error: Error) => void;
    const closed = new Promise<never>((_, reject) => (rejectOnClose = reject));
    inFlight.add(rejectOnClose);
    try {
      return await Promise.race([run(), closed]);
    } catch (error) {
      throw new StoreUnavailableError(`redisStore: ${operation} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    } finally {
      inFlight.delete(rejectOnClose);
    }
  }

  client.defineCommand('sessionLanesBeginRead', { lua: BEGIN_READ, numberOfKeys: 3, readOnly: true });
  client.defineCommand('sessionLanesBeginWrite', { lua: BEGIN_WRITE, numberOfKeys: 10 });
  client.defineCommand('sessionLanesCommit', { lua: COMMIT, numberOfKeys: 10 });
  client.defineCommand('sessionLanesRelease', { lua: RELEASE, numberOfKeys: 1 });
  client.defineCommand('sessionLanesTouch', { lua: TOUCH, numberOfKeys: 3 });
  const scripts = client as unknown as ScriptedClient;

  const keysOf = (sessionId: string) => {
    const base = `${prefix}{${hashTag(sessionId)}}`;
    return { meta: `${base}:s`, versions: `${base}:v`, values: `${base}:d`, record: (key: string) => `${base}:r:${key}`, index: `${base}:ri` };
  };
  // On a Cluster a script may only touch one hash slot: a rotated session's new id is drawn in its old id's slot.
  const cluster = (client as { isCluster?: boolean }).isCluster === true;

  return {
    shared: true,
    // Every window's id of one creating request lands in the slot of its key, so that begin looks under two ids in one script.
    ...(cluster ? { rotationId: (from: string) => sameSlotId(hashTag(from)), creatingId: (derived: string, key: string) => inSlotOf(derived, key) } : {}),
    async begin(input: BeginInput): Promise<BeginResult> {
      const { sessionId, keys, claim, touch, now } = input;
      const k = keysOf(sessionId);
      // The second id of a creating request (contract 2): on a Cluster only when it shares the slot (it does with
      // creatingId); otherwise this begin looks under the first only, and says nothing of the second.
      const alsoUnder = claim?.alsoUnder !== undefined && (!cluster || hashSlot(hashTag(claim.alsoUnder)) === hashSlot(hashTag(sessionId))) ? claim.alsoUnder : undefined;
      const a = alsoUnder === undefined ? k : keysOf(alsoUnder);
      const reply =
        claim || touch
          ? await call('begin', () =>
              scripts.sessionLanesBeginWrite(
                k.meta,
                k.versions,
                k.values,
                // Without a claim the record key is never touched, but a script declares every key it may use.
                k.record(claim?.key ?? ''),
                k.index,
                a.meta,
                a.versions,
                a.values,
                a.record(claim?.key ?? ''),
                a.index,
                now,
                claim ? '1' : '0',
                claim?.fingerprint ?? '',
                claim ? now + claim.leaseMs : 0,
                claim?.leaseMs ?? 0,
                touch ? '1' : '0',
                touch ? now + touch.idleTtlMs : 0,
                claim?.token ?? '',
                reserve.share,
                reserve.records,
                reserve.bytes,
                ...keys,
              ),
            )
          : await call('begin', () => scripts.sessionLanesBeginRead(k.meta, k.versions, k.values, now, ...keys));
      const [epoch, status, arg] = reply;
      const answered = alsoUnder === undefined ? {} : { answeredFor: reply[3] === 1 ? alsoUnder : sessionId };
      if (status === 'rotated') {
        const [to, toEpoch, recordKey, replayUntil] = arg as string[];
        return { session: null, entries: new Map(), rotated: { sessionId: to!, epoch: toEpoch!, recordKey: recordKey!, replayUntil: Number(replayUntil) }, ...answered };
      }
      if (status === 'refused') throw refused('begin');
      const entries = new Map<string, StoredEntry>();
      if (typeof epoch === 'string') keys.forEach((key, index) => entries.set(key, entry(reply[4 + 2 * index], reply[5 + 2 * index])));
      return {
        session: typeof epoch === 'string' ? { epoch } : null,
        entries,
        ...(claim ? { claim: claimOutcome(status, arg) } : {}),
        ...answered,
      };
    },

    async commit(input: CommitInput): Promise<CommitResult> {
      const { sessionId, session, expect, changes, record, now } = input;
      const k = keysOf(sessionId);
      const { rotate } = input;
      const n = rotate ? keysOf(rotate.sessionId) : k;
      const args: (string | number)[] = [
        k.meta,
        k.versions,
        k.values,
        k.record(record?.key ?? ''),
        k.index,
        n.meta,
        n.versions,
        n.values,
        n.record(record?.key ?? ''),
        n.index,
        now,
        session.mode,
        session.epoch,
        input.destroy ? '1' : '0',
        now + input.idleTtlMs,
        input.idleTtlMs,
        record ? '1' : '0',
        record?.fingerprint ?? '',
        record?.answer ?? '',
        record?.state ?? '',
        record ? (record.state === 'partial' ? now + record.leaseMs : now) : 0,
        record ? now + record.retentionMs : 0,
        record?.retentionMs ?? 0,
        record?.token ?? '',
        rotate ? '1' : '0',
        rotate?.epoch ?? '',
        // '1': every key moves; else the JSON list of the keys that do.
        rotate?.keepKeys === false ? JSON.stringify(rotate.keptKeys ?? []) : '1',
        rotate ? now + rotate.replayWindowMs : 0,
        rotate?.sessionId ?? '',
        reserve.share,
        reserve.records,
        reserve.bytes,
        reserve.rotations,
        expect.size,
      ];
      for (const [key, version] of expect) args.push(key, version);
      for (const [key, value] of changes) args.push(key, value === null ? 'd' : 's', value ?? '');
      const reply = await call('commit', () => scripts.sessionLanesCommit(...args));
      const [status] = reply;
      if (status === 'gone') return reply[1] === 'rotated' ? { status: 'gone', rotated: true } : { status: 'gone' };
      if (status === 'occupied') return { status: 'occupied' };
      if (status === 'refused') throw refused('commit');
      if (status === 'stale') {
        const entries = new Map<string, StoredEntry>();
        for (let i = 1; i + 2 < reply.length; i += 3) entries.set(String(reply[i]), entry(reply[i + 1], reply[i + 2]));
        return { status: 'stale', entries };
      }
      const versions = new Map<string, number>();
      for (let i = 1; i + 1 < reply.length; i += 2) versions.set(String(reply[i]), Number(reply[i + 1]));
      return { status: 'committed', versions };
    },

    async release({ sessionId, key, token }: ReleaseInput): Promise<void> {
      await call('release', () => scripts.sessionLanesRelease(keysOf(sessionId).record(key), token));
    },

    async touch({ sessionId, epoch, idleTtlMs, now }: TouchInput): Promise<void> {
      const k = keysOf(sessionId);
      await call('touch', () => scripts.sessionLanesTouch(k.meta, k.versions, k.values, now, epoch, now + idleTtlMs));
    },

    async close(): Promise<void> {
      client.off('close', onClose);
      if (owned) await client.quit().catch(() => client.disconnect());
    },
  };
}

/**
 * The hash tag for a session id. Redis hashes the text between the first `{`
 * and the next `}`; an id holding a brace (or starting with the escape mark)
 * is encoded, so that every key of one session lands in one slot.
 */
function hashTag(sessionId: string): string {
  return /[{}]/.test(sessionId) || sessionId.startsWith('~') ? `~${Buffer.from(sessionId).toString('base64url')}` : sessionId;
}

/** The reserve's refusal: the validator answers 503 with Retry-After, as for any store failure. */
function refused(operation: string): StoreUnavailableError {
  return new StoreUnavailableError(
    `redisStore: ${operation} refused: Redis uses at least newSessionMemoryShare of its maxmemory, and this is a new session or a session past its allowance; the reserve is kept for established sessions`,
  );
}

function entry(version: unknown, value: unknown): StoredEntry {
  return typeof value === 'string' ? { version: Number(version), value } : { version: Number(version) };
}

function claimOutcome(status: unknown, arg: unknown): ClaimOutcome {
  switch (status) {
    case 'claimed':
      return { status: 'claimed' };
    case 'replay':
      return { status: 'replay', answer: String(arg) };
    case 'in-flight':
      return { status: 'in-flight', retryAfterMs: Number(arg) };
    case 'mismatch':
      return typeof arg === 'string' ? { status: 'mismatch', answer: arg } : { status: 'mismatch' };
    default:
      throw new StoreUnavailableError(`redisStore: unexpected claim status ${JSON.stringify(status)}`);
  }
}
