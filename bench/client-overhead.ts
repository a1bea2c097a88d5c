/**
 * What the client adds per request over a bare fetch, in-process: a stub
 * fetch answers at once (no network), so the difference is the wrapper's own
 * work (declarations, lanes, headers, answer checks, cache, events).
 * Baseline and wrapper are measured in the same run, interleaved; so is the
 * same request tagged from a route table of 50 routes instead of a call-site
 * `session` (issue 12: matching may add at most 2 µs).
 *
 *   npx tsx bench/client-overhead.ts
 */
import { createSessionClient } from '../src/client/index.js';
import { routeTagger } from '../src/client/route-tags.js';
import { defineRoutes } from '../src/routes/index.js';

const N = 20_000;
const ROUNDS = 5;
const headers = { 'session-epoch': '"Zx8vQ2c1mN4kLp0a"', 'session-versions': '"cart";v=12, "prefs";v=4' };
// Bare: a fresh Response per call, as a real fetch would give.
const stub: typeof globalThis.fetch = async () => new Response('{}', { status: 200, headers });

const client = createSessionClient({ fetch: stub });
const init = { method: 'POST', body: '{}', session: { reads: ['prefs'], writes: ['cart'] } };

// 50 routes of a plausible app: literal paths and :param segments, GET and POST. The request below matches
// the last one, so the matcher walks the whole list (it is a linear scan).
const entries: Record<string, { method: string; path: string; reads?: string[]; writes?: string[] }> = {};
for (let i = 0; i < 49; i++) {
  entries[`r${i}`] = i % 2 ? { method: 'GET', path: `/api/area${i}/items/:id`, reads: [`k${i}`] } : { method: 'POST', path: `/api/area${i}/items`, writes: [`k${i}`] };
}
entries.addToCart = { method: 'POST', path: '/api/cart/:list/items', reads: ['prefs'], writes: ['cart'] };
const routes = defineRoutes(entries);
const tabled = createSessionClient({ fetch: stub, routes, base: 'http://bench.local' });
const plain = { method: 'POST', body: '{}' };

// CPU time of this process (user + system), not wall time: on a machine shared with other jobs the wall clock
// mostly measures them. Both are printed; the comparisons use CPU time. Each round interleaves the variants
// in slices of 500 requests, so that a burst of load elsewhere falls on all of them alike.
const SLICES = 40;
async function round(variants: Record<string, () => Promise<Response>>): Promise<Record<string, { cpu: number; wall: number }>> {
  const totals: Record<string, { cpu: number; wall: number }> = {};
  for (let slice = 0; slice < SLICES; slice++) {
    for (const [name, run] of Object.entries(variants)) {
      const start = performance.now();
      const cpu = process.cpuUsage();
      for (let i = 0; i < N / SLICES; i++) await run();
      const { user, system } = process.cpuUsage(cpu);
      const total = (totals[name] ??= { cpu: 0, wall: 0 });
      total.cpu += (user + system) / N;
      total.wall += ((performance.now() - start) * 1000) / N;
    }
  }
  return totals;
}

const bare = () => stub('http://bench.local/api/cart', { method: 'POST', body: '{}' });
const wrapped = () => client.fetch('http://bench.local/api/cart/main/items', init);
const table = () => tabled.fetch('http://bench.local/api/cart/main/items', plain);
// No route matches: passes through after the match (the cost a table adds to every untagged call).
const untagged = () => tabled.fetch('http://bench.local/static/logo.svg', plain);
const concurrent = async () => {
  // 8 at once on one key: the lanes queue them.
  const all = await Promise.all(Array.from({ length: 8 }, () => client.fetch('http://bench.local/api/cart', init)));
  return all[0]!;
};

const variants = { bare, wrapped, table, untagged, queued8: concurrent };
await round(variants); // warm-up
const rounds: Record<string, { cpu: number; wall: number }>[] = [];
for (let i = 0; i < ROUNDS; i++) rounds.push(await round(variants));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const cpu = (name: keyof typeof variants, per = 1) => median(rounds.map((r) => r[name]!.cpu)) / per;
const w8 = (name: keyof typeof variants, per = 1) => (median(rounds.map((r) => r[name]!.wall)) / per).toFixed(2);
const b = cpu('bare');
const w = cpu('wrapped');
const q = cpu('queued8', 8);
const t = cpu('table');
const u = cpu('untagged');
console.log(`(CPU µs per request; wall clock in brackets)`);
console.log(`bare stub fetch:            ${b.toFixed(2)} µs/request [${w8('bare')}]`);
console.log(`client.fetch (read+write):  ${w.toFixed(2)} µs/request [${w8('wrapped')}]`);
console.log(`client overhead:            ${(w - b).toFixed(2)} µs/request (ratio ${(w / b).toFixed(2)}×, aim < 20 µs)`);
console.log(`8 queued on one key:        ${(q - b).toFixed(2)} µs/request over bare`);
console.log(`tagged from 50 routes:      ${t.toFixed(2)} µs/request [${w8('table')}]`);
console.log(`route matching:             ${(t - w).toFixed(2)} µs/request over the call-site declaration (aim ≤ 2 µs)`);
// The matching step alone (what the table adds before the request proper), CPU time over 200,000 calls.
const tag = routeTagger(routes, 'http://bench.local');
const tagCpu: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const start = process.cpuUsage();
  for (let i = 0; i < 200_000; i++) tag('http://bench.local/api/cart/main/items', plain);
  const { user, system } = process.cpuUsage(start);
  tagCpu.push((user + system) / 200_000);
}
console.log(`matching step alone:        ${median(tagCpu).toFixed(2)} µs/call (50 routes, the last one matches)`);
console.log(`untagged, 50 routes:        ${(u - b).toFixed(2)} µs/request over bare (no route matched: passed through)`);
