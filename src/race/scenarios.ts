import type { ResolvedRaceConfig, ResolvedReader, ResolvedWriter } from './config.js';
import type { PlannedAction, PlannedStep, ScenarioPlan } from './plan.js';
import type { Random } from './prng.js';

/** A named race, as the CLI's `--scenario` and the fixture's `race.run(name)` take it. */
export interface Scenario {
  readonly name: ScenarioName;
  /** One line: what it shows. */
  readonly summary: string;
  /** Undefined when the config has what the scenario sends, else the message that says what is missing. */
  missing(config: ResolvedRaceConfig): string | undefined;
  plan(config: ResolvedRaceConfig, random: Random): ScenarioPlan;
}

export type ScenarioName = 'distinct-keys' | 'read-erases-write' | 'increments' | 'logout-in-flight' | 'login-in-flight' | 'flash';

interface KeyedWriter {
  readonly writer: ResolvedWriter;
  readonly key: string;
}

/** Every (writer, key) pair of the config; a writer without a key is named by its position. */
function keyedWriters(config: ResolvedRaceConfig): KeyedWriter[] {
  return config.writers.flatMap((writer, index) => writer.keys.map((key) => ({ writer, key: key ?? `writer-${index + 1}` })));
}

const delay = (config: ResolvedRaceConfig, random: Random) => random.integer(config.delayMs[0], config.delayMs[1]);

/** Another client than the last one, when there are several: two requests of one client never overlap. */
function otherClient(config: ResolvedRaceConfig, random: Random, last: number | undefined): number {
  if (config.clients === 1 || last === undefined) return random.integer(0, config.clients - 1);
  const pick = random.integer(0, config.clients - 2);
  return pick >= last ? pick + 1 : pick;
}

function finalRead(reader: ResolvedReader, consumes = false): PlannedAction {
  return consumes ? { kind: 'read', reader, final: true, consumes: true } : { kind: 'read', reader, final: true };
}

/** Before the burst: log in when the config can, else one write, so that the burst runs in one existing session. */
function setupOf(config: ResolvedRaceConfig, first: KeyedWriter | undefined): PlannedAction[] {
  if (config.login !== undefined) return [{ kind: 'login', request: config.login }];
  return first === undefined ? [] : [{ kind: 'append', writer: first.writer, key: first.key }];
}

/** The burst: `count` actions, each on a client other than the previous one, after a random delay. */
function burst(config: ResolvedRaceConfig, random: Random, count: number, actionAt: (index: number) => PlannedAction): PlannedStep[] {
  const steps: PlannedStep[] = [];
  let at = 0;
  let last: number | undefined;
  for (let index = 0; index < count; index += 1) {
    const client = otherClient(config, random, last);
    steps.push({ client, at, action: actionAt(index) });
    last = client;
    at += delay(config, random);
  }
  return steps;
}

const requireTokens = (reader: ResolvedReader, where: string) => (reader.tokens === undefined ? `${where} needs tokens: (body) => string[]` : undefined);
const write = ({ writer, key }: KeyedWriter): PlannedAction => ({ kind: 'append', writer, key });

const distinctKeys: Scenario = {
  name: 'distinct-keys',
  summary: 'a slow and a fast write to different keys of one session, overlapping (the Rails case): the later save must not erase the other key',
  missing(config) {
    if (keyedWriters(config).length < 2) return 'distinct-keys needs two keys: two writers (writer: [{ path: …, key: "cart" }, { path: …, key: "prefs" }]) or a writer with keys: ["cart", "prefs"] and {key} in its template';
    return requireTokens(config.reader, 'distinct-keys: reader');
  },
  plan(config, random) {
    const writers = keyedWriters(config);
    // Alternate the keys, so that each write overlaps one to another key.
    return { setup: setupOf(config, writers[0]), burst: burst(config, random, config.operations, (index) => write(writers[index % writers.length]!)), stopWritesAtLogout: false, after: [finalRead(config.reader)] };
  },
};

const readErasesWrite: Scenario = {
  name: 'read-erases-write',
  summary: 'reads overlapping writes: a read that saves the session it loaded must not erase a write that landed meanwhile',
  missing: (config) => requireTokens(config.reader, 'read-erases-write: reader'),
  plan(config, random) {
    const writers = keyedWriters(config);
    let writes = 0;
    // Half the operations are writes (the count the config names), the others reads, drawn by the seed.
    const steps = burst(config, random, config.operations * 2, () => {
      if (writes < config.operations && random.next() < 0.5) {
        writes += 1;
        return write(random.pick(writers));
      }
      return { kind: 'read', reader: config.reader };
    });
    return { setup: setupOf(config, writers[0]), burst: steps, stopWritesAtLogout: false, after: [finalRead(config.reader)] };
  },
};

const increments: Scenario = {
  name: 'increments',
  summary: 'concurrent increments of one counter: the final count lies between the acknowledged and the acknowledged + indeterminate increments',
  missing: (config) => (config.reader.count === undefined ? 'increments needs reader.count: (body) => number (and increment: { path: … } unless the writer increments)' : undefined),
  plan(config, random) {
    const writer = config.increment ?? config.writers[0]!;
    const key = writer.keys[0] ?? 'counter';
    const setup: PlannedAction[] = config.login !== undefined ? [{ kind: 'login', request: config.login }] : [{ kind: 'increment', writer, key }];
    return { setup, burst: burst(config, random, config.operations, () => ({ kind: 'increment', writer, key })), stopWritesAtLogout: false, after: [finalRead(config.reader)] };
  },
};

const logoutInFlight: Scenario = {
  name: 'logout-in-flight',
  summary: 'a logout while writes are in flight: no write sent before the logout is answered may appear in a later session',
  missing(config) {
    if (config.logout === undefined) return 'logout-in-flight needs logout: { method: "POST", path: "/logout" }';
    return requireTokens(config.reader, 'logout-in-flight: reader');
  },
  plan(config, random) {
    const writers = keyedWriters(config);
    const logoutAt = Math.floor(config.operations / 2);
    const steps = burst(config, random, config.operations + 1, (index) => (index === logoutAt ? { kind: 'logout', request: config.logout! } : write(random.pick(writers))));
    // After the logout: a login (when there is one) opens the later session the final read looks into.
    const after: PlannedAction[] = config.login !== undefined ? [{ kind: 'login', request: config.login }, finalRead(config.reader)] : [finalRead(config.reader)];
    return { setup: setupOf(config, writers[0]), burst: steps, stopWritesAtLogout: true, after };
  },
};

const loginInFlight: Scenario = {
  name: 'login-in-flight',
  summary: 'a login that rotates the session while writes are in flight: every acknowledged write is in the rotated session',
  missing(config) {
    if (config.login === undefined) return 'login-in-flight needs login: { method: "POST", path: "/login" } (a request whose answer rotates the session cookie)';
    return requireTokens(config.reader, 'login-in-flight: reader');
  },
  plan(config, random) {
    const writers = keyedWriters(config);
    const loginAt = Math.floor(config.operations / 2);
    const steps = burst(config, random, config.operations + 1, (index) => (index === loginAt ? { kind: 'login', request: config.login! } : write(random.pick(writers))));
    return { setup: setupOf(config, writers[0]), burst: steps, stopWritesAtLogout: false, after: [finalRead(config.reader)] };
  },
};

const flash: Scenario = {
  name: 'flash',
  summary: 'flash messages set and shown concurrently: each message is shown exactly once, never twice, never lost',
  missing(config) {
    if (config.flash === undefined) return 'flash needs flash: { writer: { path: "/flash", body: { message: "{token}" } }, reader: { path: "/", tokens: (body) => body.flash } }';
    return requireTokens(config.flash.reader, 'flash: flash.reader');
  },
  plan(config, random) {
    const { writer, reader } = config.flash!;
    const flashWrite: KeyedWriter = { writer, key: writer.keys[0] ?? 'flash' };
    let writes = 0;
    const steps = burst(config, random, config.operations * 2, () => {
      if (writes < config.operations && random.next() < 0.5) {
        writes += 1;
        return write(flashWrite);
      }
      return { kind: 'read', reader, consumes: true };
    });
    // The setup is a flash write too: the only reads are the consuming ones, and they judge every write.
    const setup: PlannedAction[] = config.login !== undefined ? [{ kind: 'login', request: config.login }] : [write(flashWrite)];
    return { setup, burst: steps, stopWritesAtLogout: false, after: [finalRead(reader, true)] };
  },
};

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  'distinct-keys': distinctKeys,
  'read-erases-write': readErasesWrite,
  increments,
  'logout-in-flight': logoutInFlight,
  'login-in-flight': loginInFlight,
  flash,
};

/** The scenario of that name, checked against the config: throws a TypeError that says what is missing. */
export function scenarioFor(name: string, config: ResolvedRaceConfig): Scenario {
  const scenario = (SCENARIOS as Record<string, Scenario | undefined>)[name];
  if (scenario === undefined) throw new TypeError(`unknown scenario ${JSON.stringify(name)}: choose one of ${Object.keys(SCENARIOS).join(', ')}`);
  const missing = scenario.missing(config);
  if (missing !== undefined) throw new TypeError(missing);
  return scenario;
}
