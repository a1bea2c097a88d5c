import { afterEach, describe, expect, it, vi } from 'vitest';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { freePort } from '../support/private-servers.js';
import { idemKey } from '../support/session-http.js';

/** Without onEvent, what an operator must see goes to console.error: a misconfigured route or a store that is down never fails silently. */
afterEach(() => {
  vi.restoreAllMocks();
});

const write = (url: string) => new Request(url, { method: 'POST', headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() }, body: 'tea' });

describe('the default onEvent', () => {
  it('logs a handler error to console.error, with the error and the URL', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const failure = new Error('the handler broke');
    const validator = createValidator({ store: memoryStore() });
    const route = validator.route({ writes: ['cart'] }, () => {
      throw failure;
    });
    const response = await route(write('http://app.test/api/cart'));
    expect(response.status).toBe(500);
    expect(logged).toHaveBeenCalledWith('session-lanes: handler-error at http://app.test/api/cart', failure);
  });

  it('logs a store failure to console.error (a Redis nobody listens on)', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const store = redisStore({ url: `redis://127.0.0.1:${await freePort()}` });
    try {
      const validator = createValidator({ store, secret: 'a secret of at least thirty-two bytes!' });
      const route = validator.route({ writes: ['cart'] }, (_request, session) => {
        session.set('cart', ['tea']);
        return new Response('ok');
      });
      const response = await route(write('http://app.test/api/cart'));
      expect(response.status).toBe(503);
      expect(logged).toHaveBeenCalledWith('session-lanes: store-error (begin) at http://app.test/api/cart', expect.anything());
    } finally {
      await store.close();
    }
  });

  it('stays silent with onEvent: () => {}, and gives a custom onEvent every event instead', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const events: string[] = [];
    for (const onEvent of [() => {}, (event: { type: string }) => void events.push(event.type)]) {
      const route = createValidator({ store: memoryStore(), onEvent }).route({ writes: ['cart'] }, () => {
        throw new Error('broken');
      });
      expect((await route(write('http://app.test/api/cart'))).status).toBe(500);
    }
    expect(events).toEqual(['handler-error']);
    expect(logged).not.toHaveBeenCalled();
  });
});
