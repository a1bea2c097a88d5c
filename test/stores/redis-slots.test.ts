import fc from 'fast-check';
import { expect, it } from 'vitest';
import { hashSlot, sameSlotId } from '../../src/server/stores/redis-slots.js';

it('computes the Redis Cluster hash slot (CRC16/XMODEM mod 16384), as the cluster specification gives it', () => {
  // The specification's check value: CRC16("123456789") = 0x31C3.
  expect(hashSlot('123456789')).toBe(0x31c3);
  expect(hashSlot('')).toBe(0);
  expect(hashSlot('foo')).toBe(12182); // CLUSTER KEYSLOT foo
});

it('draws a rotated id in the slot of the old one: 43 base64url characters, 40 of them random', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), (from) => {
      const id = sameSlotId(from);
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(hashSlot(id)).toBe(hashSlot(from));
    }),
    { numRuns: 200 },
  );
  const heads = new Set(Array.from({ length: 50 }, () => sameSlotId('same-old-id').slice(0, 40)));
  expect(heads.size).toBe(50);
});
