/**
 * What the validator adds per request over a bare Fetch handler, in process,
 * on the memory store (so this measures the validator, not a network or a
 * database): a read-only request and a committing write. The baseline is the
 * same handler without the validator, measured in the same run.
 *
 *   npx tsx bench/validator-overhead.ts
 */
import { createValidator, memoryStore } from '../src/server/index.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);
const WARMUP = 2_000;

async function measure(label: string, run: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await run(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) await run(i);
  const micros = Number(process.hrtime.bigint() - start) / 1000 / ITERATIONS;
  console.log(`${label.padEnd(44)} ${micros.toFixed(2).padStart(8)} µs/request`);
  return micros;
}

const bare = async (request: Request) => {
  await request.text();
  return Response.json({ ok: true });
};

const validator = createValidator({ store: memoryStore() });
const write = validator.route({ writes: ['counter'] }, async (request, session) => {
  await request.text();
  session.set('counter', ((session.get('counter') as number | undefined) ?? 0) + 1);
  return Response.json({ ok: true });
});
const read = validator.route({ reads: ['counter'] }, async (request, session) => {
  await request.text();
  session.get('counter');
  return Response.json({ ok: true });
});

// One session to work in: its first write creates it.
const created = await write(new Request('http://bench/w', { method: 'POST', headers: { 'session-write': '"counter"', 'idempotency-key': '"bench-create-000000000000"' } }));
const cookie = created.headers.get('set-cookie')!.split(';')[0]!;

console.log(`validator overhead, ${ITERATIONS} requests each (Node ${process.version})`);
const baseline = await measure('bare handler (baseline)', (i) => bare(new Request('http://bench/x', { method: 'POST', body: String(i) })));
const readOnly = await measure('validator, read-only request', (i) =>
  read(new Request('http://bench/r', { method: 'POST', body: String(i), headers: { cookie, 'session-read': '"counter"' } })).then((r) => r.text()),
);
const committing = await measure('validator, committing write (blind)', (i) =>
  write(new Request('http://bench/w', { method: 'POST', body: String(i), headers: { cookie, 'session-write': '"counter"', 'idempotency-key': `"bench-key-${i}-000000000"` } })).then((r) => r.text()),
);
console.log(`read-only: +${(readOnly - baseline).toFixed(2)} µs (${(readOnly / baseline).toFixed(1)}× baseline)`);
console.log(`write:     +${(committing - baseline).toFixed(2)} µs (${(committing / baseline).toFixed(1)}× baseline)`);
const heap = process.memoryUsage().heapUsed / 1024 / 1024;
console.log(`heap after the run: ${heap.toFixed(1)} MiB (the memory store keeps ${ITERATIONS + WARMUP + 1} idempotency records for 48 h)`);
