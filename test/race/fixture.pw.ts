import { expect, test } from '../../src/race/playwright.js';
import { expressSessionApp, type RunningApp } from './apps.js';

// Real tabs of one browser context against Express + express-session (5 ms handlers): the fixture finds the lost update.
let app: RunningApp;
test.beforeAll(async () => {
  app = await expressSessionApp();
});
test.afterAll(async () => {
  await app?.close();
});

type Shop = { app: { add(key: string, token: string): Promise<Response> } };
const state = (body: unknown) => [...(body as { cart: string[] }).cart, ...(body as { prefs: string[] }).prefs];

test('no lost session writes (express-session loses one)', async ({ race }) => {
  const { history, result, report } = await race.run('distinct-keys', {
    seed: 7,
    config: {
      target: app.url,
      // The app's own client sends each write, from its tab.
      writer: [
        { key: 'cart', write: (token) => (window as unknown as Shop).app.add('cart', token) },
        { key: 'prefs', write: (token) => (window as unknown as Shop).app.add('prefs', token) },
      ],
      reader: { path: '/state', tokens: state },
      login: { path: '/login' },
      cookie: 'connect.sid',
      clients: 3,
      operations: 24,
      delayMs: [0, 2],
    },
  });
  console.log(`burst: ${history.operations.length} requests in ${history.operations.at(-1)!.answeredAt} ms`);
  expect(history.driver).toBe('playwright');
  expect(new Set(history.operations.map((operation) => operation.process))).toEqual(new Set(['tab-1', 'tab-2', 'tab-3']));
  expect(result.counts.acknowledged).toBe(24);
  expect(result.counts.anomalies['lost-write'], report).toBeGreaterThan(0);
});

test('a writer as a request fired from the tabs records the same history', async ({ race }) => {
  const { history, result } = await race.run('increments', {
    seed: 3,
    config: { target: app.url, writer: { path: '/cart/add', body: { token: '{token}' } }, increment: { path: '/count' }, reader: { path: '/state', count: (body) => (body as { count: number }).count }, cookie: 'connect.sid', clients: 3, operations: 16, delayMs: [0, 3] },
  });
  expect(history.operations.every((operation) => operation.session !== undefined || operation === history.operations[0])).toBe(true);
  expect(result.counts.acknowledged).toBe(17);
  expect(result.counts.anomalies['lost-increment']).toBe(1);
});
