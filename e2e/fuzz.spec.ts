import { expect, test } from '@playwright/test';
import { runFuzz } from './fuzz/fuzzer.js';
import { startFuzzServer, type FuzzServer } from './fuzz/server.js';

// The system fuzzer's short run (issue 19 §3): real Chromium tabs against our
// validator on the memory store, over fixed seeds whose schedules hold the
// whole mix: tabs tagging from the route table and tabs declaring at the call
// site, tabs closed mid-flight (their outbox replayed by the others or by the
// next tab), logouts, rotating logins, store outages and a server restart.
// The longer run is `npm run bench:fuzz`. A failure names its seed, its
// schedule and the witness; `npm run bench:fuzz -- --seeds N` reruns it.

let server: FuzzServer;
test.beforeAll(async () => {
  server = await startFuzzServer({ store: 'memory' });
});
test.afterAll(async () => {
  await server?.close();
});

// Each schedule holds every kind of step (the fuzzer forces a kind not drawn by the end), in the full mix: any tab
// may be closed mid-flight, call-site tabs included. Seed 1 is the one that found issue 20 §1 on 698efe7 (a closed
// call-site tab's never-sent writes dropped as `invalid`; `npm run bench:fuzz -- --mix full --seeds 1`).
for (const seed of [1, 101]) {
  test(`fuzz seed ${seed}: no acknowledged write lost, none applied twice or after its logout, none dropped from the outbox`, async ({ browser }) => {
    test.setTimeout(120_000);
    // Seed 1 takes 30 steps: that is the schedule that dropped writes on 698efe7 (checked again with its src/client).
    const result = await runFuzz({ seed, server, browser, steps: seed === 1 ? 30 : 16, mix: 'full' });
    const witnesses = [...result.check.anomalies.map((anomaly) => anomaly.text), ...result.dropped.map((drop) => drop.text)];
    expect(witnesses, `seed ${seed}, schedule: ${result.schedule.join('; ')}`).toEqual([]);
    // A run whose writes were all refused, or that closed no tab mid-flight, would prove nothing.
    expect(result.check.counts.acknowledged).toBeGreaterThan(10);
    // Not "closed a tab": closed one with operations in flight, and every other fault ran too.
    expect(result.figures.closedInFlight).toBeGreaterThan(0);
    expect(result.figures).toMatchObject({ restarts: 1 });
    expect(Math.min(result.figures.logouts, result.figures.logins, result.figures.outages)).toBeGreaterThan(0);
  });
}
