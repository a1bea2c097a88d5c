/**
 * Issue 20 §2, as a benchmark: each of three anonymous floods runs for 60 s
 * (FLOOD_SECONDS) at the highest rate one local client reaches (FLOOD_LOOPS
 * concurrent request loops) over real HTTP on 127.0.0.1 against the memory
 * store, while 100 established users (10 writes each over "minutes": the
 * validator's clock jumps 10 minutes midway, past promoteAfterMs) keep
 * writing and reading. It prints the figures and exits 1 when an established
 * user got a 410 or a 503, the store went past maxBytes, the flood offered
 * less than 10× maxBytes, or it pressed nothing out (no eviction, or for the
 * one-session flood no refusal at its cap).
 *
 *   npm run bench:flood          (node --expose-gc: also compares counted bytes with the heap)
 */
import { memoryStore } from '../src/server/stores/memory.js';
import { PATTERNS, runFlood, type FloodPattern, type FloodReport } from '../test/support/memory-flood.js';

const SECONDS = Number(process.env.FLOOD_SECONDS ?? 60);
const LOOPS = Number(process.env.FLOOD_LOOPS ?? 16);
const MAX_BYTES = Number(process.env.FLOOD_MAX_BYTES ?? 3_000_000);

function check(report: FloodReport): string[] {
  const failures: string[] = [];
  const { stats } = report;
  if ((report.users[410] ?? 0) > 0) failures.push(`${report.users[410]} user answers of 410`);
  if ((report.users[503] ?? 0) > 0) failures.push(`${report.users[503]} user answers of 503`);
  if (stats.peakBytes > MAX_BYTES) failures.push(`peak ${stats.peakBytes} B > maxBytes`);
  if (report.offeredBytes < 10 * MAX_BYTES) failures.push(`offered only ${(report.offeredBytes / MAX_BYTES).toFixed(1)}x maxBytes`);
  if (report.pattern === 'b' ? stats.refused === 0 : stats.evicted === 0) failures.push('the flood pressed nothing out');
  return failures;
}

/** Counted bytes against the heap they take, for one flood-shaped fill (needs --expose-gc). */
async function heapPerCountedByte(): Promise<string> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return 'not measured (run with node --expose-gc)';
  // A creating write as the validator makes it: a claim, then the session with one key and its record.
  const write = async (store: ReturnType<typeof memoryStore>, id: string, now: number) => {
    const claim = { key: `key-${id}-0000-0000-0000-000000000000`, fingerprint: 'f'.repeat(43), leaseMs: 60_000, token: 't'.repeat(22) };
    await store.begin({ sessionId: id, keys: ['cart'], claim, now });
    await store.commit({
      sessionId: id,
      session: { mode: 'create', epoch: 'e'.repeat(22) },
      expect: new Map([['cart', 0]]),
      changes: new Map([['cart', `"${'v'.repeat(100)}${id}"`]]),
      destroy: false,
      record: { ...claim, answer: `{"s":200,"h":[["content-type","application/json"]],"b":"${'a'.repeat(300)}${id}","t":${now}}`, state: 'done', retentionMs: 48 * 3_600_000, resendHorizonMs: 0 },
      idleTtlMs: 3_600_000,
      now,
    });
  };
  gc();
  const before = process.memoryUsage().heapUsed;
  const store = memoryStore({ maxBytes: 512 * 1024 * 1024 });
  for (let i = 0; i < 20_000; i++) await write(store, `session-${i}`.padEnd(43, 'x'), 1_800_000_000_000 + i);
  gc();
  const heap = process.memoryUsage().heapUsed - before;
  const counted = store.stats().bytes;
  await store.close();
  return `${(heap / counted).toFixed(2)} heap bytes per counted byte (20,000 sessions with one record each: heap ${(heap / 1e6).toFixed(1)} MB, counted ${(counted / 1e6).toFixed(1)} MB)`;
}

const results: { report: FloodReport; failures: string[] }[] = [];
console.log(`flood bench: ${SECONDS} s per pattern, ${LOOPS} concurrent loops, maxBytes ${MAX_BYTES}, 100 established users`);
for (const pattern of ['a', 'b', 'c'] as FloodPattern[]) {
  const store = memoryStore({ maxBytes: MAX_BYTES });
  const report = await runFlood(store, { pattern, seconds: SECONDS, concurrency: LOOPS, users: 100, establishJumpMs: 10 * 60_000 });
  const failures = check(report);
  results.push({ report, failures });
  const { stats } = report;
  console.log(
    [
      `(${pattern}) ${PATTERNS[pattern]}`,
      `  flood: ${report.floodRequests} requests, ${report.floodPerSecond}/s, answers ${JSON.stringify(report.flood)}`,
      `  offered ${(report.offeredBytes / 1e6).toFixed(1)} MB = ${(report.offeredBytes / MAX_BYTES).toFixed(1)}x maxBytes (${report.floodWrites} writes x ${report.perWriteBytes} B)`,
      `  users: ${report.userRequests} requests, answers ${JSON.stringify(report.users)} (held ${(report.usersBytes / 1e6).toFixed(2)} MB before the flood)`,
      `  store: peak ${stats.peakBytes} B (${((100 * stats.peakBytes) / MAX_BYTES).toFixed(1)}% of maxBytes), now ${stats.bytes} B ${JSON.stringify(stats.segments)}`,
      `         evicted ${stats.evicted} (${(stats.evictedBytes / 1e6).toFixed(1)} MB), stubs ${stats.stubs}, refused ${stats.refused}, sessions ${stats.sessions}, records ${stats.records}, tombstones ${stats.tombstones}`,
      `  ${failures.length === 0 ? 'OK' : `FAILED: ${failures.join('; ')}`}`,
    ].join('\n'),
  );
}
console.log(`heap: ${await heapPerCountedByte()}`);
process.exit(results.every((result) => result.failures.length === 0) ? 0 : 1);
