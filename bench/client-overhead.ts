/**
 * What the client adds per request over a bare fetch, in-process: a stub
 * fetch answers at once (no network), so the difference is the wrapper's own
 * work (declarations, lanes, headers, answer checks, cache, events).
 * Baseline and wrapper are measured in the same run, interleaved.
 *
 *   npx tsx bench/client-overhead.ts
 */
import { createSessionClient } from '../src/client/index.js';

const N = 20_000;
const ROUNDS = 5;
const headers = { 'session-epoch': '"Zx8vQ2c1mN4kLp0a"', 'session-versions': '"cart";v=12, "prefs";v=4' };
// Bare: a fresh Response per call, as a real fetch would give.
const stub: typeof globalThis.fetch = async () => new Response('{}', { status: 200, headers });

const client = createSessionClient({ fetch: stub });
const init = { method: 'POST', body: '{}', session: { reads: ['prefs'], writes: ['cart'] } };

async function time(run: () => Promise<Response>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < N; i++) await run();
  return ((performance.now() - start) * 1000) / N;
}

const bare = () => stub('http://bench.local/api/cart', { method: 'POST', body: '{}' });
const wrapped = () => client.fetch('http://bench.local/api/cart', init);
const concurrent = async () => {
  // 8 at once on one key: the lanes queue them.
  const all = await Promise.all(Array.from({ length: 8 }, () => client.fetch('http://bench.local/api/cart', init)));
  return all[0]!;
};

await time(bare);
await time(wrapped); // warm-up
const results = { bare: [] as number[], wrapped: [] as number[], queued8: [] as number[] };
for (let round = 0; round < ROUNDS; round++) {
  results.bare.push(await time(bare));
  results.wrapped.push(await time(wrapped));
  results.queued8.push((await time(concurrent)) / 8);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const b = median(results.bare);
const w = median(results.wrapped);
const q = median(results.queued8);
console.log(`bare stub fetch:            ${b.toFixed(2)} µs/request`);
console.log(`client.fetch (read+write):  ${w.toFixed(2)} µs/request`);
console.log(`client overhead:            ${(w - b).toFixed(2)} µs/request (ratio ${(w / b).toFixed(2)}×, aim < 20 µs)`);
console.log(`8 queued on one key:        ${(q - b).toFixed(2)} µs/request over bare`);
