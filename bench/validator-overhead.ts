/**
 * What the validator adds per request over a bare Fetch handler, in process,
 * on the memory store (so this measures the validator, not a network or a
 * database): a read-only request and a committing write. The baseline is the
 * same handler without the validator, measured in the same run: 5 runs, each
 * measuring the three in an order that alternates from run to run, and
 * PASS/FAIL per goal of issue 24 over the median of the runs' ratios.
 *
 *   npx tsx bench/validator-overhead.ts
 *   BENCH_QUICK=1 npx tsx bench/validator-overhead.ts   # one short run: checks that it runs
 *
 * After the runs the session's counter must equal the number of writes made
 * (the run fails otherwise): every committing write committed.
 */
import { createValidator, memoryStore } from '../src/server/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? (QUICK ? 2_000 : 20_000));
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 5));
const WARMUP = 2_000;

async function measure(run: (i: number) => Promise<unknown>, from: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = from; i < from + ITERATIONS; i++) await run(i);
  return Number(process.hrtime.bigint() - start) / 1000 / ITERATIONS;
}

const bare = async (request: Request) => {
  await request.text();
  return Response.json({ ok: true });
};

// One session makes every write of the runs (~100,000 records kept for the resend window): its allowance is raised
// so that none is refused (the default 8 MiB per session refuses some, and a refused write is not a committing one).
const validator = createValidator({ store: memoryStore({ maxBytes: 1024 * 1024 * 1024, maxSessionBytes: 256 * 1024 * 1024 }) });
const write = validator.route({ writes: ['counter'] }, async (request, session) => {
  await request.text();
  session.set('counter', ((session.get('counter') as number | undefined) ?? 0) + 1);
  return Response.json({ ok: true });
});
const read = validator.route({ reads: ['counter'] }, async (request, session) => {
  await request.text();
  return Response.json({ counter: session.get('counter') ?? 0 });
});

// One session to work in: its first write creates it.
const created = await write(new Request('http://bench/w', { method: 'POST', headers: { 'session-write': '"counter"', 'idempotency-key': '"bench-create-000000000000"' } }));
const cookie = created.headers.get('set-cookie')!.split(';')[0]!;
let writes = 1;

const variants = {
  bare: (i: number) => bare(new Request('http://bench/x', { method: 'POST', body: String(i) })).then((r) => r.text()),
  read: (i: number) => read(new Request('http://bench/r', { method: 'POST', body: String(i), headers: { cookie, 'session-read': '"counter"' } })).then((r) => r.text()),
  write: async (i: number) => {
    const response = await write(new Request('http://bench/w', { method: 'POST', body: String(i), headers: { cookie, 'session-write': '"counter"', 'idempotency-key': `"bench-key-${i}-000000000"` } }));
    if (response.status !== 200) throw new Error(`a committing write answered ${response.status}: ${await response.text()}`);
    writes++;
    return response.text();
  },
};
type Variant = keyof typeof variants;

console.log(`validator overhead, ${RUNS} runs of ${ITERATIONS} requests each (Node ${process.version})`);
// Warm-up (JIT), then the runs; each write's Idempotency-Key is new (i keeps counting).
let next = 0;
for (const run of Object.values(variants)) for (let i = 0; i < WARMUP; i++) await run(next + i);
next += WARMUP;
const runs: Record<Variant, number>[] = [];
for (let r = 0; r < RUNS; r++) {
  const order: Variant[] = r % 2 === 0 ? ['bare', 'read', 'write'] : ['write', 'read', 'bare'];
  const micros = {} as Record<Variant, number>;
  for (const name of order) micros[name] = await measure(variants[name], next);
  next += ITERATIONS;
  runs.push(micros);
  console.log(`  run ${r + 1}: bare ${micros.bare.toFixed(2)} µs, read ${micros.read.toFixed(2)} µs (${(micros.read / micros.bare).toFixed(2)}×), write ${micros.write.toFixed(2)} µs (${(micros.write / micros.bare).toFixed(2)}×)`);
}

const counted = (await (await read(new Request('http://bench/r', { headers: { cookie, 'session-read': '"counter"' } }))).json()) as { counter: number };
if (counted.counter !== writes) throw new Error(`the counter is ${counted.counter}, but ${writes} writes committed`);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const m = (name: Variant) => median(runs.map((run) => run[name]));
console.log(`\nmedians: bare handler ${m('bare').toFixed(2)} µs/request, read-only ${m('read').toFixed(2)} µs (+${(m('read') - m('bare')).toFixed(2)}), committing write ${m('write').toFixed(2)} µs (+${(m('write') - m('bare')).toFixed(2)}); counter checked (${writes} writes)`);
console.log(`\ngoals (issue 24), median of ${RUNS} runs' ratios${QUICK ? ' (BENCH_QUICK: one short run, not a measurement)' : ''}:`);
const goal = (name: Variant, atMost: number) => {
  const ratio = median(runs.map((run) => run[name] / run.bare));
  console.log(`  ${ratio <= atMost ? 'PASS' : 'FAIL'}  ${`${name === 'write' ? 'committing write' : 'read-only request'} ≤ ${atMost}× bare handler`.padEnd(40)} ${ratio.toFixed(2)}×`);
};
goal('write', 2.0);
goal('read', 1.25);
const heap = process.memoryUsage().heapUsed / 1024 / 1024;
console.log(`heap after the run: ${heap.toFixed(1)} MiB (the memory store keeps ${writes} idempotency records for 48 h)`);
