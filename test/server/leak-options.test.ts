import { describe, expect, it } from 'vitest';
import { createValidator, memoryStore } from '../../src/server/index.js';

describe('validator options of issue 11', () => {
  const store = memoryStore();
  it('refuses a replay window shorter than the client deadline, or not within retention twice over', () => {
    expect(() => createValidator({ store, replayWindowMs: 10_000 })).toThrow(new TypeError("replayWindowMs must be at least 30000 (the client's default deadline), got 10000"));
    expect(() => createValidator({ store, replayWindowMs: 60_000, retentionMs: 240_000 })).toThrow(
      new TypeError("retentionMs must be longer than four times replayWindowMs (a session-creating request's key is found for that long)"),
    );
    expect(() => createValidator({ store, replayWindowMs: 60_000, retentionMs: 250_000 })).not.toThrow();
  });
  it('checks maxRecordedAnswerBytes and serverOnlyKeys', () => {
    expect(() => createValidator({ store, maxRecordedAnswerBytes: -1 })).toThrow(new TypeError('maxRecordedAnswerBytes must be a positive integer, got -1'));
    expect(() => createValidator({ store, serverOnlyKeys: 'role' as never })).toThrow(new TypeError('createValidator(options): options.serverOnlyKeys must be an array of key names'));
    expect(() => createValidator({ store, serverOnlyKeys: ['role', 'csrfSecret'] })).not.toThrow();
  });
});

describe('redisStore newSessionMemoryShare', () => {
  it('is a share of maxmemory above 0 and at most 1', async () => {
    const { redisStore } = await import('../../src/server/stores/redis.js');
    expect(() => redisStore({ url: 'redis://127.0.0.1:1', newSessionMemoryShare: 0 })).toThrow(
      new TypeError('redisStore(): newSessionMemoryShare must be a number above 0 and at most 1, got 0'),
    );
  });
});
