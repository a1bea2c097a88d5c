import type { Operation } from './history.js';
import { classifyOperation } from './outcome.js';

/**
 * Which session an operation ran in, as the checker reasons about it.
 *
 * Session names (hashes of the cookie's value) are linked by logins: a login
 * sent in session `a` whose answer moved the client to `b` rotated `a` into
 * `b`, and the rotated session keeps its data, so `a` and `b` form one chain.
 * A logout ends its chain at the moment its answer arrived: whatever a name of
 * that chain holds afterwards is a *later* session (a new generation), even
 * when the server reuses the name. An operation's session instance is its
 * chain plus the generation current when it was sent.
 */
export interface SessionInstance {
  /** `<chain root>#<generation>`: equal for two operations that ran in the same session. */
  readonly id: string;
  readonly chain: string;
  readonly generation: number;
}

export interface SessionEnding {
  readonly logout: Operation;
  /** When the chain ended: the logout's answer. */
  readonly at: number;
  readonly chain: string;
  /** The generation it ended. */
  readonly generation: number;
}

export interface SessionMap {
  /** The session instance an operation ran in (a write lands in it), or undefined when it carried no session and got none. */
  instanceOf(operation: Operation): SessionInstance | undefined;
  /** The logout that ended an instance, if one did. */
  endingOf(instance: SessionInstance): SessionEnding | undefined;
  /** True when a logout of this chain got no clear answer: the checker cannot say which generation later operations ran in. */
  hasUncertainLogout(chain: string): boolean;
}

/** The name an operation's effect lands under: the session it was sent in, else the one its answer created. */
function landingName(operation: Operation): string | undefined {
  if (operation.session !== undefined && operation.session !== '') return operation.session;
  if (operation.sessionAfter !== undefined && operation.sessionAfter !== '') return operation.sessionAfter;
  return undefined;
}

export function mapSessions(operations: readonly Operation[]): SessionMap {
  const parent = new Map<string, string>();
  const root = (name: string): string => {
    let current = name;
    while (parent.has(current) && parent.get(current) !== current) current = parent.get(current)!;
    return current;
  };
  const link = (from: string, to: string) => {
    const a = root(from);
    const b = root(to);
    if (a !== b) parent.set(b, a);
  };

  for (const operation of operations) {
    if (operation.kind !== 'login') continue;
    const before = operation.session;
    const after = operation.sessionAfter;
    if (before !== undefined && before !== '' && after !== undefined && after !== '') link(before, after);
  }

  const endings = new Map<string, number[]>();
  const logoutsByEnd = new Map<string, Operation>();
  const uncertain = new Set<string>();
  for (const operation of operations) {
    if (operation.kind !== 'logout' || operation.session === undefined || operation.session === '') continue;
    const chain = root(operation.session);
    const outcome = classifyOperation(operation);
    if (outcome === 'rejected') continue; // a refused logout ended nothing
    if (outcome === 'indeterminate' || operation.answeredAt === undefined) {
      uncertain.add(chain);
      continue;
    }
    const times = endings.get(chain) ?? [];
    times.push(operation.answeredAt);
    endings.set(chain, times);
    logoutsByEnd.set(`${chain}@${operation.answeredAt}`, operation);
  }
  for (const times of endings.values()) times.sort((a, b) => a - b);

  return {
    instanceOf(operation) {
      const name = landingName(operation);
      if (name === undefined) return undefined;
      const chain = root(name);
      const generation = (endings.get(chain) ?? []).filter((at) => at <= operation.sentAt).length;
      return { id: `${chain}#${generation}`, chain, generation };
    },
    endingOf(instance) {
      const at = endings.get(instance.chain)?.[instance.generation];
      if (at === undefined) return undefined;
      return { logout: logoutsByEnd.get(`${instance.chain}@${at}`)!, at, chain: instance.chain, generation: instance.generation };
    },
    hasUncertainLogout(chain) {
      return uncertain.has(chain);
    },
  };
}
