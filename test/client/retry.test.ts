import { expect, test, vi } from 'vitest';
import { parseRetryAfter, retryDelay, sleep } from '../../src/client/retry.js';

const policy = { retries: 3, deadline: 1000, backoff: 100, maxBackoff: 250 };

test('412: jittered backoff, at most `retries` times', () => {
  vi.spyOn(Math, 'random').mockReturnValue(0.999);
  try {
    expect(retryDelay(policy, 'stale', 0, 0)).toBeCloseTo(99.9);
    expect(retryDelay(policy, 'stale', 1, 0)).toBeCloseTo(199.8);
    expect(retryDelay(policy, 'stale', 2, 0)).toBeCloseTo(249.75); // capped
    expect(retryDelay(policy, 'stale', 3, 0)).toBeUndefined();
  } finally {
    vi.restoreAllMocks();
  }
});

test('409/503/network: Retry-After wins; nothing starts after the deadline', () => {
  expect(retryDelay(policy, 'busy', 0, 0, 500)).toBe(500);
  expect(retryDelay(policy, 'busy', 50, 500, 500)).toBe(500);
  expect(retryDelay(policy, 'busy', 0, 501, 500)).toBeUndefined();
  const delay = retryDelay(policy, 'busy', 0, 0)!;
  expect(delay).toBeGreaterThanOrEqual(0);
  expect(delay).toBeLessThan(100);
});

test('Retry-After: seconds or an HTTP date', () => {
  expect(parseRetryAfter(null)).toBeUndefined();
  expect(parseRetryAfter('2')).toBe(2000);
  expect(parseRetryAfter('soon')).toBeUndefined();
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:03 GMT', now)).toBe(3000);
  expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
});

test('sleep rejects with the signal reason on abort', async () => {
  const controller = new AbortController();
  const waiting = sleep(10_000, controller.signal);
  controller.abort(new Error('stop'));
  await expect(waiting).rejects.toThrow('stop');
  await expect(sleep(1)).resolves.toBeUndefined();
});
