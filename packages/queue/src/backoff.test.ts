/**
 * toBackoff runs @integ/retry's backoffs scaled down by 2^22 so a stored spec may go past a timer's 2^31 - 1 ms
 * (decision 0138). Within retry's own range that must change nothing: the same delays, to the bit.
 */
import { toBackoff } from '@integ/queue';
import { decorrelated, exponential, linear } from '@integ/retry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Whole ms and common fractions; retry's range is 0 to 2^31 - 1.
const msArb = fc.oneof(
  fc.integer({ min: 0, max: 2_147_483_647 }),
  fc.integer({ min: 0, max: 1_000_000 }).map((n) => n / 8 + 0.1),
);
const jitterArb = fc.constantFrom('none' as const, 'full' as const, 'equal' as const);

/** The first `n` delays of `backoff`, replaying previousDelay as the queue does, with a seeded random. */
function delays(
  backoff: (c: { attempt: number; previousDelay: number; random: () => number }) => number,
  seed: number,
) {
  let state = seed >>> 0;
  const random = (): number => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
  const out: number[] = [];
  let previousDelay = 0;
  for (let attempt = 1; attempt <= 12; attempt++) {
    previousDelay = backoff({ attempt, previousDelay, random });
    out.push(previousDelay);
  }
  return out;
}

describe('toBackoff within a timer range', () => {
  it('gives exactly the delays of @integ/retry for linear, exponential and decorrelated specs', () => {
    fc.assert(
      fc.property(
        msArb,
        fc.option(msArb, { nil: undefined }),
        fc.option(msArb, { nil: undefined }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        jitterArb,
        fc.nat(),
        (delay, step, max, factor, jitter, seed) => {
          const pairs = [
            [
              toBackoff({ type: 'linear', delay, step, max, jitter }),
              linear({ initial: delay, step, max, jitter }),
            ],
            [
              toBackoff({ type: 'exponential', delay, factor, max, jitter }),
              exponential({ initial: delay, factor, max, jitter }),
            ],
            [toBackoff({ type: 'decorrelated', delay, max }), decorrelated({ initial: delay, max })],
          ] as const;
          for (const [queued, direct] of pairs) expect(delays(queued, seed)).toEqual(delays(direct, seed));
        },
      ),
      { seed: 138, numRuns: 500 },
    );
  });

  it('goes on past 2^31 - 1 ms where @integ/retry stops, up to what a Date holds', () => {
    const DAY = 86_400_000;
    expect(
      delays(toBackoff({ type: 'exponential', delay: DAY, max: 100 * DAY, jitter: 'none' }), 1).slice(0, 8),
    ).toEqual([1, 2, 4, 8, 16, 32, 64, 100].map((d) => d * DAY));
    expect(delays(toBackoff(8.64e15), 1)[0]).toBe(8.64e15);
    for (const [field, spec] of [
      ['backoff', 8.64e15 + 1],
      ['backoff.delay', { type: 'linear', delay: 8.64e15 + 1 }],
      ['backoff.step', { type: 'linear', delay: 1, step: -1 }],
      ['backoff.max', { type: 'exponential', delay: 1, max: Number.POSITIVE_INFINITY }],
      ['backoff.max', { type: 'decorrelated', delay: 1, max: '5' }],
    ] as const)
      expect(() => toBackoff(spec as never)).toThrow(expect.objectContaining({ argument: field }));
  });
});
