// The session view's pure transitions, as exact sequences: what one browser's client decides about a request made
// for a session that is no longer the live one.
import { describe, expect, test } from 'vitest';
import { admitted, endEpoch, followRotations, initialView, madeNow, unknownSessionEnded, type SessionView } from '../../src/client/session-view.js';

const over = (view: SessionView) => Object.fromEntries(view.over);

describe('session view', () => {
  test('a login rotates A to B, then B to C: a write made for A goes out in C, and is admitted while C is live', () => {
    const madeForA = madeNow(initialView, 'A');
    const rotated = endEpoch(endEpoch(initialView, 'A', 'B')!, 'B', 'C')!;
    expect(over(rotated)).toEqual({ A: 'B', B: 'C' });
    expect(followRotations(rotated, 'A')).toBe('C');
    expect(admitted(rotated, { ...madeForA, epoch: followRotations(rotated, madeForA.epoch) }, 'C', true)).toBe(true);
    // Not followed (a replay keeps the epoch it was sent with): refused, A is not live.
    expect(admitted(rotated, madeForA, 'C', true)).toBe(false);
  });

  test('an epoch ends once: the second end of it is undefined (nothing to tell), a rotation after the end changes nothing', () => {
    const ended = endEpoch(initialView, 'A')!;
    expect(over(ended)).toEqual({ A: null });
    expect(endEpoch(ended, 'A')).toBeUndefined();
    expect(endEpoch(ended, 'A', 'B')).toBeUndefined();
    // An ended epoch is not followed anywhere.
    expect(followRotations(ended, 'A')).toBe('A');
    expect(admitted(ended, madeNow(initialView, 'A'), '', false)).toBe(false);
  });

  test('an unknown epoch ends: the view is unchanged, and it is told every time', () => {
    expect(endEpoch(initialView, undefined)).toBe(initialView);
    expect(endEpoch(endEpoch(initialView, undefined)!, undefined)).toBe(initialView);
  });

  test('a write made knowing no epoch is refused once a 410 ended the session its cookie named; a read is not', () => {
    const madeBefore = madeNow(initialView, undefined);
    const after = unknownSessionEnded(initialView);
    expect(after.unknownEnded).toBe(1);
    expect(admitted(after, madeBefore, undefined, true)).toBe(false);
    expect(admitted(after, madeBefore, undefined, false)).toBe(true);
    // Made after that 410: admitted (it may create the next session).
    expect(admitted(after, madeNow(after, undefined), undefined, true)).toBe(true);
    expect(admitted(unknownSessionEnded(after), madeNow(after, undefined), '', true)).toBe(false);
  });

  test('a request made for the live epoch is admitted; made for it, refused once another tab ended it', () => {
    const made = madeNow(initialView, 'A');
    expect(admitted(initialView, made, 'A', true)).toBe(true);
    expect(admitted(initialView, made, '', true)).toBe(false);
    expect(admitted(initialView, made, 'B', false)).toBe(false);
  });

  test('transitions never change the view they are given, and the view is structured-cloneable', () => {
    const first = endEpoch(initialView, 'A', 'B')!;
    const second = unknownSessionEnded(endEpoch(first, 'C')!);
    expect(over(initialView)).toEqual({});
    expect(over(first)).toEqual({ A: 'B' });
    expect(over(second)).toEqual({ A: 'B', C: null });
    expect(second.unknownEnded).toBe(1);
    expect(structuredClone(second)).toEqual(second);
  });
});
