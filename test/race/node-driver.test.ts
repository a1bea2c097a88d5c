import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/race/checker.js';
import { resolveRaceConfig } from '../../src/race/config.js';
import type { History } from '../../src/race/history.js';
import { runNodeRace } from '../../src/race/node-driver.js';
import { createRandom } from '../../src/race/prng.js';
import { scenarioFor } from '../../src/race/scenarios.js';
import { expressConfig, expressSessionApp, validatorApp, validatorConfig, validatorHttp2App, type RunningApp } from './apps.js';

// The Node driver over real HTTP on 127.0.0.1, against an app that loses updates and against ours.
const SEED = 20_260_101;
const OPERATIONS = 24; // with the setup and the final read: 26 requests

let express: RunningApp;
let ours: RunningApp;
let oursHttp2: RunningApp;
beforeAll(async () => {
  [express, ours, oursHttp2] = await Promise.all([expressSessionApp(), validatorApp(), validatorHttp2App()]);
});
afterAll(async () => {
  await Promise.all([express?.close(), ours?.close(), oursHttp2?.close()]);
});

/** Each client's requests in order, as (kind, key): what the seed decides. */
const perClient = (history: History) => {
  const sequences: Record<string, string[]> = {};
  for (const operation of history.operations) (sequences[operation.process] ??= []).push(`${operation.kind}:${operation.key ?? ''}`);
  return sequences;
};

describe('the Node driver', () => {
  it('finds express-session\'s lost update in distinct-keys within a bounded number of requests', { timeout: 10_000 }, async () => {
    const history = await runNodeRace({ config: { ...expressConfig(express.url), operations: OPERATIONS, delayMs: [0, 3] }, scenario: 'distinct-keys', seed: SEED });
    expect(history.operations.length).toBe(OPERATIONS + 2);
    expect(history).toMatchObject({ seed: SEED, scenario: 'distinct-keys', driver: 'node-http1' });
    const result = checkHistory(history);
    expect(result.counts.acknowledged).toBe(OPERATIONS); // the setup is a login
    expect(result.counts.anomalies['lost-write']).toBeGreaterThan(0);
    const lost = result.anomalies.find((anomaly) => anomaly.kind === 'lost-write')!;
    // The witness names the write, what overlapped it, and the final read that lacks it.
    expect(lost.witness.operations.map((step) => step.role)).toContain('overlapping');
    expect(lost.witness.read!.operation).toBe(history.operations.at(-1)!.id);
  });

  it('finds 0 anomalies against our validator for the same scenario and seed, with writes acknowledged', { timeout: 10_000 }, async () => {
    const history = await runNodeRace({ config: { ...validatorConfig(ours.url), operations: OPERATIONS, delayMs: [0, 3] }, scenario: 'distinct-keys', seed: SEED });
    const result = checkHistory(history);
    expect(result.anomalies).toEqual([]);
    expect(result.counts.acknowledged).toBeGreaterThan(OPERATIONS / 4);
    // Every acknowledged token is in the final read exactly once.
    const final = history.operations.find((operation) => operation.final)!;
    const acknowledged = history.operations.filter((operation) => operation.token !== undefined && operation.status! < 300).map((operation) => operation.token);
    expect([...final.observed!].sort()).toEqual(acknowledged.sort());
  });

  it('runs over HTTP/2 (one session per client) with 0 anomalies against our validator', { timeout: 10_000 }, async () => {
    const history = await runNodeRace({ config: { ...validatorConfig(oursHttp2.url), operations: OPERATIONS, delayMs: [0, 3] }, scenario: 'login-in-flight', seed: SEED, transport: 'http2' });
    expect(history.driver).toBe('node-http2');
    const result = checkHistory(history);
    expect(result.anomalies).toEqual([]);
    expect(result.counts.acknowledged).toBeGreaterThan(OPERATIONS / 4);
    expect(history.operations.some((operation) => operation.kind === 'login' && operation.sessionAfter !== undefined)).toBe(true);
  });

  it('the same seed gives the same schedule; another seed another', { timeout: 10_000 }, async () => {
    const config = { ...validatorConfig(ours.url), operations: 12 };
    const resolved = resolveRaceConfig(config);
    const scenario = scenarioFor('read-erases-write', resolved);
    const plan = (seed: number) => JSON.stringify(scenario.plan(resolved, createRandom(seed)).burst.map((step) => [step.client, step.at, step.action.kind]));
    expect(plan(SEED)).toBe(plan(SEED));
    expect(plan(SEED)).not.toBe(plan(SEED + 1));
    const seen: number[] = [];
    const [first, second] = [
      await runNodeRace({ config, scenario: 'read-erases-write', seed: SEED, onSeed: (seed) => seen.push(seed) }),
      await runNodeRace({ config, scenario: 'read-erases-write', seed: SEED }),
    ];
    expect(seen).toEqual([SEED]);
    expect(perClient(first)).toEqual(perClient(second));
  });

  it('finds each scenario\'s anomaly against express-session', { timeout: 15_000 }, async () => {
    const config = { ...expressConfig(express.url), operations: 16, delayMs: [0, 3] as const };
    const found: Record<string, string[]> = {};
    for (const scenario of ['increments', 'login-in-flight', 'flash']) {
      const result = checkHistory(await runNodeRace({ config, scenario, seed: SEED }));
      found[scenario] = [...new Set(result.anomalies.map((anomaly) => anomaly.kind))];
    }
    expect(found.increments).toContain('lost-increment');
    expect(found['login-in-flight']).toContain('lost-write');
    expect(found.flash!.some((kind) => kind === 'lost-write' || kind === 'duplicated-write')).toBe(true);
  });

  it('finds a write crossing a logout when the app leaves the destroyed cookie in the browser', { timeout: 10_000 }, async () => {
    const leaky = await expressSessionApp({ logoutClearsCookie: false });
    try {
      const kinds = new Set<string>();
      for (const seed of [SEED, SEED + 1]) {
        const result = checkHistory(await runNodeRace({ config: { ...expressConfig(leaky.url), operations: 16, delayMs: [0, 2] }, scenario: 'logout-in-flight', seed }));
        for (const anomaly of result.anomalies) kinds.add(anomaly.kind);
      }
      expect([...kinds]).toContain('crossed-logout');
    } finally {
      await leaky.close();
    }
  });

  it('finds 0 anomalies against our validator in every scenario its routes serve', { timeout: 15_000 }, async () => {
    const config = { ...validatorConfig(ours.url), operations: 16, delayMs: [0, 3] as const };
    for (const scenario of ['read-erases-write', 'logout-in-flight', 'login-in-flight']) {
      const result = checkHistory(await runNodeRace({ config, scenario, seed: SEED }));
      expect(result.anomalies, scenario).toEqual([]);
      expect(result.counts.acknowledged, scenario).toBeGreaterThan(0);
    }
  });

  it('says what a scenario misses in the config, and when the cookie name is wrong', async () => {
    const config = { target: ours.url, writer: { path: '/cart/add', body: { token: '{token}' } }, reader: { path: '/state', tokens: () => [] } };
    await expect(runNodeRace({ config, scenario: 'distinct-keys' })).rejects.toThrow(/distinct-keys needs two keys/);
    await expect(runNodeRace({ config, scenario: 'logout-in-flight' })).rejects.toThrow(/logout-in-flight needs logout/);
    await expect(runNodeRace({ config, scenario: 'increments' })).rejects.toThrow(/increments needs reader.count/);
    const inPageOnly = { ...config, writer: [{ key: 'a', write: () => 0 }, { key: 'b', write: () => 0 }] };
    await expect(runNodeRace({ config: inPageOnly, scenario: 'distinct-keys' })).rejects.toThrow(/the Node driver sends every request itself: this writer needs a path/);
    await expect(runNodeRace({ config, scenario: 'nope' })).rejects.toThrow(/unknown scenario "nope": choose one of distinct-keys/);
    await expect(runNodeRace({ config: { ...expressConfig(express.url), cookie: 'sid', operations: 2 }, scenario: 'distinct-keys', seed: 1 })).rejects.toThrow(/never set the cookie "sid"/);
  });
});
