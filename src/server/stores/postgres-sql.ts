/**
 * The SQL behind postgresStore(): the schema, and one statement per store
 * call. Each call is ONE statement, so it is atomic and one round trip under
 * any isolation level, READ COMMITTED included.
 *
 * Why the versions live in the session row (a jsonb map) rather than beside
 * the values: under READ COMMITTED every part of a statement reads one
 * snapshot taken when it starts. A compare-and-swap that locks the session
 * row and then reads versions from another table would read them from that
 * old snapshot after waiting for a concurrent writer, and let a lost update
 * through. `SELECT ... FOR UPDATE` (and UPDATE's own recheck) return the
 * newest version of the row they lock, so with the versions in that row the
 * check and the write see the same, latest state, and writers of one session
 * are serialized by its row lock.
 */

export interface Tables {
  sessions: string;
  entries: string;
  records: string;
  /** Ids rotated away (login): where their session went, until the old session's idle expiry. */
  tombstones: string;
  /** Prefix for index names. */
  prefix: string;
}

/** Quoted table names for a validated prefix. */
export function tables(prefix: string): Tables {
  return { sessions: `"${prefix}sessions"`, entries: `"${prefix}entries"`, records: `"${prefix}records"`, tombstones: `"${prefix}tombstones"`, prefix };
}

/** Idempotent; run inside one transaction under an advisory lock (see migrate()). */
export function schema(t: Tables): string {
  return `
CREATE TABLE IF NOT EXISTS ${t.sessions} (
  id text PRIMARY KEY,
  epoch text NOT NULL,
  expires_at bigint NOT NULL,
  versions jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS "${t.prefix}sessions_expires_at" ON ${t.sessions} (expires_at);
CREATE TABLE IF NOT EXISTS ${t.entries} (
  session_id text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (session_id, key)
);
CREATE TABLE IF NOT EXISTS ${t.records} (
  session_id text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,
  state text NOT NULL,
  answer text,
  lease_until bigint NOT NULL,
  expires_at bigint NOT NULL,
  claim_token text,
  PRIMARY KEY (session_id, key)
);
-- Tables made before claim tokens were kept lack the column: add it.
ALTER TABLE ${t.records} ADD COLUMN IF NOT EXISTS claim_token text;
CREATE INDEX IF NOT EXISTS "${t.prefix}records_expires_at" ON ${t.records} (expires_at);
CREATE TABLE IF NOT EXISTS ${t.tombstones} (
  id text PRIMARY KEY,
  rotated_to text NOT NULL,
  epoch text NOT NULL,
  record_key text NOT NULL,
  replay_until bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS "${t.prefix}tombstones_expires_at" ON ${t.tombstones} (expires_at);
`;
}

/** Collects parameters; `add` returns the placeholder, so SQL reads in order. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast = ''): string {
    this.values.push(value);
    return `$${this.values.length}${cast}`;
  }
}

export interface BeginSqlInput {
  sessionId: string;
  now: number;
  keys: readonly string[];
  /** alsoUnder: a second id to look under first (contract 2; see IdempotencyClaim.alsoUnder). */
  claim?: { key: string; fingerprint: string; leaseUntil: number; token: string; alsoUnder?: string };
  touchUntil?: number;
}

/**
 * begin: reads the session and the keys' entries; claims the key and touches
 * the session when asked. The claim always updates its row (to itself when
 * the key is not ours): RETURNING then shows the newest record even when
 * another attempt inserted it after this statement's snapshot was taken.
 * The claim token (unique per attempt) tells whether the row is now ours.
 *
 * With a claim's `alsoUnder`, `target` picks the id the statement serves
 * (its `answered_for` column): the second id when it holds the key (or is a
 * tombstone) and the first does not, as the snapshot shows them; the claim
 * is then not made, and the second id's record is the outcome. A record
 * inserted under the first id after the snapshot still meets the claim's
 * ON CONFLICT, which answers with it.
 */
export function beginSql(t: Tables, input: BeginSqlInput): { text: string; values: unknown[] } {
  const p = new Params();
  const claimId = p.add(input.sessionId, '::text');
  const now = p.add(input.now, '::bigint');
  const keys = p.add(input.keys, '::text[]');
  const ctes: string[] = [];
  const alsoUnder = input.claim?.alsoUnder;
  let id = claimId;
  let second: { placeholder: string; key: string; fingerprint: string; token: string } | null = null;
  if (input.claim && alsoUnder !== undefined) {
    const { key, fingerprint, token } = input.claim;
    second = { placeholder: p.add(alsoUnder, '::text'), key: p.add(key), fingerprint: p.add(fingerprint), token: p.add(token) };
    // What a claim stops at: any live record but this attempt's own pending claim or a pending one whose lease ran out (as `take` below).
    const holds = (at: string) => `(EXISTS (SELECT 1 FROM ${t.tombstones} WHERE id = ${at} AND expires_at > ${now})
      OR EXISTS (SELECT 1 FROM ${t.records} r WHERE r.session_id = ${at} AND r.key = ${second!.key} AND r.expires_at > ${now}
        AND NOT (r.fingerprint = ${second!.fingerprint} AND r.state = 'pending' AND (r.lease_until <= ${now} OR r.claim_token = ${second!.token}))))`;
    ctes.push(`target AS (SELECT CASE WHEN NOT ${holds(claimId)} AND ${holds(second.placeholder)} THEN ${second.placeholder} ELSE ${claimId} END AS id)`);
    id = '(SELECT id FROM target)';
  }
  ctes.push(
    `live AS (SELECT epoch, versions FROM ${t.sessions} WHERE id = ${id} AND expires_at > ${now})`,
    `tomb AS (SELECT rotated_to, epoch AS rotated_epoch, record_key, replay_until FROM ${t.tombstones} WHERE id = ${id} AND expires_at > ${now})`,
  );
  let claimColumns = 'NULL::boolean AS claimed, NULL AS fingerprint, NULL AS state, NULL AS answer, NULL::bigint AS lease_until';
  let claimJoin = '';
  // Locks are taken session row first, then record, in begin as in commit, so that the two never deadlock:
  // the claim's INSERT reads from the touch, which makes the touch run first.
  let after = '';
  if (input.touchUntil !== undefined) {
    ctes.push(`touched AS (
      UPDATE ${t.sessions} SET expires_at = greatest(expires_at, ${p.add(input.touchUntil, '::bigint')})
      WHERE id = ${id} AND expires_at > ${now} RETURNING 1)`);
    after = ' FROM (SELECT count(*) FROM touched) AS touch_first';
  }
  if (input.claim) {
    const token = second?.token ?? p.add(input.claim.token);
    // Taken over: an expired row, a pending claim whose lease ended, or this attempt's own pending claim (a begin
    // retried after its outcome was unknown).
    const take = `(r.expires_at <= ${now} OR (r.fingerprint = excluded.fingerprint AND r.state = 'pending' AND (r.lease_until <= ${now} OR r.claim_token = excluded.claim_token)))`;
    const pick = (column: string, fresh: string) => `${column} = CASE WHEN ${take} THEN ${fresh} ELSE r.${column} END`;
    // Claimed under the first id only, and only when the statement serves it.
    const servesFirst = second ? ` AND ${id} = ${claimId}` : '';
    ctes.push(`claimed AS (
      INSERT INTO ${t.records} AS r (session_id, key, fingerprint, state, answer, lease_until, expires_at, claim_token)
      SELECT ${claimId}, ${second?.key ?? p.add(input.claim.key)}, ${second?.fingerprint ?? p.add(input.claim.fingerprint)}, 'pending', NULL, ${p.add(input.claim.leaseUntil, '::bigint')}, ${p.add(input.claim.leaseUntil, '::bigint')}, ${token}${after}
      WHERE NOT EXISTS (SELECT 1 FROM tomb)${servesFirst}
      ON CONFLICT (session_id, key) DO UPDATE SET
        ${pick('fingerprint', 'excluded.fingerprint')}, ${pick('state', "'pending'")}, ${pick('answer', 'NULL')},
        ${pick('lease_until', 'excluded.lease_until')}, ${pick('expires_at', 'excluded.expires_at')}, ${pick('claim_token', 'excluded.claim_token')}
      RETURNING claim_token IS NOT DISTINCT FROM ${token} AS claimed, fingerprint, state, answer, lease_until)`);
    claimColumns = 'c.claimed, c.fingerprint, c.state, c.answer, c.lease_until';
    claimJoin = 'LEFT JOIN claimed c ON true';
    if (second) {
      // Served for the second id: its record is the outcome, nothing claimed.
      ctes.push(`found AS (SELECT false AS claimed, fingerprint, state, answer, lease_until FROM ${t.records}
        WHERE session_id = ${second.placeholder} AND key = ${second.key} AND expires_at > ${now} AND ${id} = ${second.placeholder})`);
      claimColumns = `COALESCE(c.claimed, f.claimed) AS claimed, COALESCE(c.fingerprint, f.fingerprint) AS fingerprint, COALESCE(c.state, f.state) AS state,
  COALESCE(c.answer, f.answer) AS answer, COALESCE(c.lease_until, f.lease_until) AS lease_until, ${id} AS answered_for`;
      claimJoin += ' LEFT JOIN found f ON true';
    }
  }
  const text = `WITH ${ctes.join(',\n')}
SELECT live.epoch,
  (SELECT jsonb_object_agg(k, live.versions -> k) FROM unnest(${keys}) AS k WHERE live.versions ? k) AS versions,
  (SELECT jsonb_object_agg(e.key, e.value) FROM ${t.entries} e WHERE live.epoch IS NOT NULL AND e.session_id = ${id} AND e.key = ANY(${keys})) AS "values",
  ${claimColumns}, tomb.rotated_to, tomb.rotated_epoch, tomb.record_key, tomb.replay_until
FROM (SELECT 1) AS one LEFT JOIN live ON true LEFT JOIN tomb ON true ${claimJoin}`;
  return { text, values: p.values };
}

export interface CommitSqlInput {
  sessionId: string;
  now: number;
  mode: 'existing' | 'create';
  epoch: string;
  destroy: boolean;
  expiresAt: number;
  /** Expected versions above 0 (the key must have exactly that version). */
  expectPresent: Record<string, number>;
  /** Keys expected at version 0 (never existed). */
  expectAbsent: string[];
  /** In 'create' mode: every expected version is 0 (else stale without looking). */
  expectAllAbsent: boolean;
  /** The new version of each changed key. */
  newVersions: Record<string, number>;
  setKeys: string[];
  setValues: string[];
  deleteKeys: string[];
  expectKeys: string[];
  record?: { key: string; fingerprint: string; answer: string; state: string; leaseUntil: number; expiresAt: number; token: string };
}

/**
 * commit: one compare-and-swap. `lock` takes the session row (newest
 * version, waiting for a concurrent writer), `verdict` checks it, `applied`
 * writes it only on 'ok'; the entries and the record follow `applied`. On
 * failure the pending claim is released and the main query reports the
 * entries from the statement's snapshot, where versions and values always
 * belong together, and the versions the lock saw. When this statement waited
 * for a concurrent writer, the snapshot is older than what the check failed
 * against: postgresStore then reads the entries again (readSql), so that a
 * 412 never reports a version older than the one that beat it.
 */
export function commitSql(t: Tables, input: CommitSqlInput): { text: string; values: unknown[] } {
  const p = new Params();
  const id = p.add(input.sessionId);
  const now = p.add(input.now, '::bigint');
  // A parameter the statement does not use would have no type: add these only where they appear.
  const once = (make: () => string) => {
    let placeholder: string | undefined;
    return () => (placeholder ??= make());
  };
  const epoch = once(() => p.add(input.epoch));
  const ctes: string[] = [];

  // The session row first; the record (written or released below) after it, as in begin.
  const recordKey = input.record ? p.add(input.record.key) : null;
  ctes.push(`lock AS (SELECT epoch, expires_at > ${now} AS live, versions FROM ${t.sessions} WHERE id = ${id} FOR UPDATE)`);

  // An id rotated away is never written to, nor created over.
  const tombstoned = `EXISTS (SELECT 1 FROM ${t.tombstones} WHERE id = ${id} AND expires_at > ${now})`;
  const verdict =
    input.mode === 'existing'
      ? `CASE WHEN NOT EXISTS (SELECT 1 FROM lock WHERE live AND epoch = ${epoch()}) THEN 'gone'
          WHEN EXISTS (SELECT 1 FROM lock WHERE versions @> ${p.add(JSON.stringify(input.expectPresent), '::jsonb')} AND NOT versions ?| ${p.add(input.expectAbsent, '::text[]')}) THEN 'ok'
          ELSE 'stale' END`
      : `CASE WHEN ${tombstoned} THEN 'gone' WHEN EXISTS (SELECT 1 FROM lock WHERE live) OR NOT ${p.add(input.expectAllAbsent, '::boolean')} THEN 'stale' ELSE 'ok' END`;
  ctes.push(`verdict AS (SELECT ${verdict} AS v)`);
  const ok = `(SELECT v FROM verdict) = 'ok'`;

  const expiresAt = once(() => p.add(input.expiresAt, '::bigint'));
  const newVersions = once(() => p.add(JSON.stringify(input.newVersions), '::jsonb'));
  const setKeys = once(() => p.add(input.setKeys, '::text[]'));
  if (input.mode === 'existing' && input.destroy) {
    ctes.push(`applied AS (DELETE FROM ${t.sessions} WHERE id = ${id} AND ${ok} RETURNING id)`);
    ctes.push(`dropped AS (DELETE FROM ${t.entries} WHERE session_id = ${id} AND EXISTS (SELECT 1 FROM applied))`);
  } else if (input.mode === 'existing') {
    ctes.push(`applied AS (
      UPDATE ${t.sessions} SET versions = versions || ${newVersions()}, expires_at = ${expiresAt()}
      WHERE id = ${id} AND ${ok} RETURNING id)`);
    ctes.push(`dropped AS (DELETE FROM ${t.entries} WHERE session_id = ${id} AND key = ANY(${p.add(input.deleteKeys, '::text[]')}) AND EXISTS (SELECT 1 FROM applied))`);
  } else if (input.destroy) {
    // Created and destroyed at once: nothing stays but the record (and no remains of an expired session).
    ctes.push(`applied AS (SELECT ${id} AS id FROM verdict WHERE v = 'ok')`);
    ctes.push(`remains AS (DELETE FROM ${t.sessions} WHERE id = ${id} AND expires_at <= ${now} AND EXISTS (SELECT 1 FROM applied) RETURNING id)`);
    ctes.push(`dropped AS (DELETE FROM ${t.entries} WHERE session_id = ${id} AND EXISTS (SELECT 1 FROM remains))`);
  } else {
    // Created, perhaps over the remains of an expired session: those are replaced, never merged.
    ctes.push(`applied AS (
      INSERT INTO ${t.sessions} AS s (id, epoch, expires_at, versions)
      SELECT ${id}, ${epoch()}, ${expiresAt()}, ${newVersions()} FROM verdict WHERE v = 'ok'
      ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch, expires_at = excluded.expires_at, versions = excluded.versions
      WHERE s.expires_at <= ${now}
      RETURNING id)`);
    ctes.push(`dropped AS (DELETE FROM ${t.entries} WHERE session_id = ${id} AND NOT (key = ANY(${setKeys()})) AND EXISTS (SELECT 1 FROM applied))`);
  }
  if (!input.destroy) {
    ctes.push(`stored AS (
      INSERT INTO ${t.entries} (session_id, key, value)
      SELECT ${id}, k, v FROM applied, unnest(${setKeys()}, ${p.add(input.setValues, '::text[]')}) AS u(k, v)
      ON CONFLICT (session_id, key) DO UPDATE SET value = excluded.value)`);
  }
  if (input.record && recordKey) {
    const r = input.record;
    ctes.push(`recorded AS (
      INSERT INTO ${t.records} AS r (session_id, key, fingerprint, state, answer, lease_until, expires_at, claim_token)
      SELECT ${id}, ${recordKey}, ${p.add(r.fingerprint)}, ${p.add(r.state)}, ${p.add(r.answer)}, ${p.add(r.leaseUntil, '::bigint')}, ${p.add(r.expiresAt, '::bigint')}, NULL FROM applied
      ON CONFLICT (session_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = excluded.state, answer = excluded.answer,
        lease_until = excluded.lease_until, expires_at = excluded.expires_at, claim_token = NULL)`);
    // The claim goes back, so that the same Idempotency-Key may return with a rebased body; only this attempt's claim.
    ctes.push(`released AS (DELETE FROM ${t.records} WHERE session_id = ${id} AND key = ${recordKey} AND state = 'pending' AND claim_token = ${p.add(r.token)} AND NOT EXISTS (SELECT 1 FROM applied))`);
  }
  const expectKeys = p.add(input.expectKeys, '::text[]');
  ctes.push(`snapshot AS (SELECT versions FROM ${t.sessions} WHERE id = ${id} AND expires_at > ${now})`);
  const text = `WITH ${ctes.join(',\n')}
SELECT EXISTS (SELECT 1 FROM applied) AS committed, (SELECT v FROM verdict) AS verdict, ${tombstoned} AS rotated,
  EXISTS (SELECT 1 FROM snapshot) AS snapshot_live,
  EXISTS (SELECT 1 FROM lock WHERE live) AS locked_live,
  (SELECT jsonb_object_agg(k, l.versions -> k) FROM lock l, unnest(${expectKeys}) AS k WHERE l.live AND l.versions ? k) AS locked_versions,
  (SELECT jsonb_object_agg(k, s.versions -> k) FROM snapshot s, unnest(${expectKeys}) AS k WHERE s.versions ? k) AS versions,
  (SELECT jsonb_object_agg(e.key, e.value) FROM ${t.entries} e WHERE EXISTS (SELECT 1 FROM snapshot) AND e.session_id = ${id} AND e.key = ANY(${expectKeys})) AS "values"`;
  return { text, values: p.values };
}

export interface RotateSqlInput {
  from: string;
  to: string;
  epoch: string;
  keepKeys: boolean;
  /** With keepKeys false: the keys that move anyway. */
  keptKeys: readonly string[];
  recordKey: string;
  replayUntil: number;
  expiresAt: number;
}

/**
 * rotate: run after a commit statement, in its transaction (which holds the
 * session row's lock): the session, its entries and records move to the new
 * id, and the old id becomes a tombstone. A writer waiting on the row lock
 * then finds no row under the old id: 'gone'.
 */
export function rotateSql(t: Tables, input: RotateSqlInput): { text: string; values: unknown[] } {
  const p = new Params();
  const from = p.add(input.from);
  const to = p.add(input.to);
  // Without keepKeys only the kept keys move (the rotating request's own changes among them); the others are dropped.
  const kept = input.keepKeys ? '' : p.add(input.keptKeys, '::text[]');
  const keptVersions = `COALESCE((SELECT jsonb_object_agg(k, ${t.sessions}.versions -> k) FROM unnest(${kept}) AS k WHERE ${t.sessions}.versions ? k), '{}'::jsonb)`;
  const text = `WITH moved AS (
  UPDATE ${t.sessions} SET id = ${to}, epoch = ${p.add(input.epoch)}${input.keepKeys ? '' : `, versions = ${keptVersions}`} WHERE id = ${from} RETURNING epoch),
entries AS (UPDATE ${t.entries} SET session_id = ${to} WHERE session_id = ${from}${input.keepKeys ? '' : ` AND key = ANY(${kept})`}),
${input.keepKeys ? '' : `dropped AS (DELETE FROM ${t.entries} WHERE session_id = ${from} AND NOT (key = ANY(${kept}))),
`}
records AS (UPDATE ${t.records} SET session_id = ${to} WHERE session_id = ${from}),
tomb AS (
  INSERT INTO ${t.tombstones} (id, rotated_to, epoch, record_key, replay_until, expires_at)
  SELECT ${from}, ${to}, moved.epoch, ${p.add(input.recordKey)}, ${p.add(input.replayUntil, '::bigint')}, ${p.add(input.expiresAt, '::bigint')} FROM moved
  ON CONFLICT (id) DO UPDATE SET rotated_to = excluded.rotated_to, epoch = excluded.epoch, record_key = excluded.record_key,
    replay_until = excluded.replay_until, expires_at = excluded.expires_at)
SELECT count(*)::int AS moved FROM moved`;
  return { text, values: p.values };
}

/** Whether an id holds anything a rotation must not move over: a session, a live tombstone, idempotency records. */
export function occupiedSql(t: Tables, sessionId: string, now: number) {
  return {
    text: `SELECT 1 FROM ${t.sessions} WHERE id = $1 UNION ALL SELECT 1 FROM ${t.tombstones} WHERE id = $1 AND expires_at > $2::bigint UNION ALL SELECT 1 FROM ${t.records} WHERE session_id = $1 LIMIT 1`,
    values: [sessionId, now],
  };
}

/** Whether an id is a live tombstone (asked again when a commit found its session gone: the rotation may have committed during the statement). */
export function tombstoneSql(t: Tables, sessionId: string, now: number) {
  return { text: `SELECT 1 FROM ${t.tombstones} WHERE id = $1 AND expires_at > $2::bigint`, values: [sessionId, now] };
}

/** The session's epoch and the keys' versions and values, from one fresh snapshot: begin's read, claiming and touching nothing. */
export function readSql(t: Tables, sessionId: string, now: number, keys: readonly string[]): { text: string; values: unknown[] } {
  return beginSql(t, { sessionId, now, keys });
}

export function releaseSql(t: Tables, sessionId: string, key: string, token: string) {
  return { text: `DELETE FROM ${t.records} WHERE session_id = $1 AND key = $2 AND state = 'pending' AND claim_token = $3`, values: [sessionId, key, token] };
}

export function touchSql(t: Tables, sessionId: string, epoch: string, now: number, expiresAt: number) {
  return {
    text: `UPDATE ${t.sessions} SET expires_at = greatest(expires_at, $4::bigint) WHERE id = $1 AND epoch = $2 AND expires_at > $3::bigint`,
    values: [sessionId, epoch, now, expiresAt],
  };
}

/** Deletes expired sessions (with their entries) and expired records, in one statement. */
export function sweepSql(t: Tables, now: number) {
  return {
    text: `WITH expired AS (DELETE FROM ${t.sessions} WHERE expires_at <= $1::bigint RETURNING id),
  entries AS (DELETE FROM ${t.entries} WHERE session_id IN (SELECT id FROM expired)),
  records AS (DELETE FROM ${t.records} WHERE expires_at <= $1::bigint RETURNING 1),
  tombstones AS (DELETE FROM ${t.tombstones} WHERE expires_at <= $1::bigint)
SELECT (SELECT count(*) FROM expired)::int AS sessions, (SELECT count(*) FROM records)::int AS records`,
    values: [now],
  };
}
