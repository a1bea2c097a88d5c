/**
 * Seeded randomness for the race bench and the fuzzer: the same seed draws
 * the same schedule.
 */
import { createRandom, type Random as RaceRandom } from '../../src/race/prng.js';

export interface Random extends Omit<RaceRandom, 'integer'> {
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
}

/** The race kit's mulberry32 (src/race/prng.ts), with the two shorthands the bench's schedules use. */
export function seeded(seed: number): Random {
  const random = createRandom(seed);
  return { next: random.next, pick: random.pick, int: random.integer, chance: (p) => random.next() < p };
}

/** A stream per named process, derived from the run's seed, so that one process's draws never shift another's. */
export function streamOf(seed: number, name: string): Random {
  let hash = seed >>> 0;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return seeded(hash);
}

/** A seed drawn from the clock, for runs given none. */
export const freshSeed = () => Math.floor(Math.random() * 2 ** 31);
