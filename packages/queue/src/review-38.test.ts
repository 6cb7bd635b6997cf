/**
 * Review 38 (brief QUEUE): Stryker 9.6.1 on @integ/queue's sources, run on its src/ unit tests. Each test here pins
 * what a surviving mutant changed, and was seen to fail with that mutant applied by hand (named by its Stryker id
 * and what it changed) and to pass on the real code.
 */
import { InvalidArgumentError } from '@integ/core';
import { toBackoff } from '@integ/queue';
import { describe, expect, it } from 'vitest';

describe('toBackoff()', () => {
  // #20: the message of a ms field out of range was ''.
  it('says what a ms field takes: a number of ms from 0 to 8640000000000000', () => {
    for (const spec of [
      -1,
      { type: 'linear', delay: 1, step: -1 },
      { type: 'exponential', delay: 1, max: 1e16 },
    ])
      expect(() => toBackoff(spec as never)).toThrow(
        expect.objectContaining({
          constructor: InvalidArgumentError,
          message: expect.stringContaining('expected a number of ms from 0 to 8640000000000000, received'),
        }),
      );
  });

  // #52: only null was refused as no object; a string or a boolean was read as a spec without a delay.
  it("refuses what is neither a number nor an object as 'backoff', saying what it takes", () => {
    for (const spec of ['1000', true, undefined, null])
      expect(() => toBackoff(spec as never)).toThrow(
        expect.objectContaining({
          argument: 'backoff',
          message: expect.stringContaining('expected a number of ms or { type, delay, ... }'),
        }),
      );
  });

  // #3, #5: a type named like an Object.prototype member read that member as the type's field list (a TypeError).
  it('refuses a type named like an Object.prototype member as an unknown backoff.type', () => {
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty'])
      expect(() => toBackoff(JSON.parse(`{"type":"${type}","delay":1}`))).toThrow(
        expect.objectContaining({
          argument: 'backoff.type',
          message: expect.stringContaining("expected 'constant', 'linear', 'exponential' or 'decorrelated'"),
        }),
      );
  });

  // #6: a type that is no string but reads as one of the names (['linear']) had its fields checked as that type's.
  it('refuses a type that is no string as backoff.type before looking at its fields', () => {
    for (const type of [['linear'], { toString: () => 'exponential' }])
      expect(() => toBackoff({ type, delay: 1, maxDelay: 5 } as never)).toThrow(
        expect.objectContaining({ argument: 'backoff.type' }),
      );
  });

  // #16, #17: a field the type does not have was refused with an empty message, or its fields run together.
  it("names the field a type does not have and lists the type's own", () => {
    expect(() => toBackoff({ type: 'linear', delay: 1, maxDelay: 5 } as never)).toThrow(
      expect.objectContaining({
        argument: 'backoff.maxDelay',
        message: expect.stringContaining(
          "expected no such field: a 'linear' backoff has type, delay, step, max, jitter",
        ),
      }),
    );
  });
});
