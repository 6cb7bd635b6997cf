/**
 * Backoffs: pure functions from "which attempt just failed" to "how long to wait before the next one".
 * They never sleep and never read global state: randomness comes in through the context, so a seeded
 * `random` makes every delay reproducible.
 */
import { InvalidArgumentError } from '@integ/core';
import { check, checkOptions } from './internal/check.js';

/** What a {@link Backoff} knows when it picks the next delay. */
export interface BackoffContext {
  /** 1-based number of the attempt that just failed (1 = the first call failed). */
  readonly attempt: number;
  /** The delay used before this attempt, 0 before the first retry (decorrelated jitter needs it). */
  readonly previousDelay: number;
  /** Uniform random in [0, 1): inject a seeded one in tests. */
  readonly random: () => number;
}

/**
 * Returns the delay in ms before the next attempt.
 *
 * @example
 * ```ts
 * const fixed: Backoff = ({ attempt }) => (attempt < 3 ? 100 : 1000);
 * ```
 */
export type Backoff = (context: BackoffContext) => number;

/**
 * How randomness spreads a computed delay `d` (see the AWS architecture blog, "Exponential Backoff And Jitter"):
 * `'none'` waits exactly `d`, `'full'` waits uniformly in `[0, d)`, `'equal'` waits uniformly in `[d/2, d)`
 * (`d` itself by floating-point rounding when `random()` is within about 2^-52 of 1).
 */
export type Jitter = 'none' | 'full' | 'equal';

/** Options of {@link linear}. Every delay is a number of ms from 0 to 2^31 - 1. */
export interface LinearOptions {
  /** Delay after the first failure, in ms. @default 100 */
  readonly initial?: number | undefined;
  /** Added to the delay after each further failure, in ms. @default initial (so delays are attempt x initial) */
  readonly step?: number | undefined;
  /** Cap on the delay (before jitter), in ms. @default 30000 */
  readonly max?: number | undefined;
  /** How randomness spreads the delay. @default 'none' */
  readonly jitter?: Jitter | undefined;
}

/** Options of {@link exponential}. Every delay is a number of ms from 0 to 2^31 - 1. */
export interface ExponentialOptions {
  /** Delay after the first failure, in ms. @default 100 */
  readonly initial?: number | undefined;
  /** Multiplier applied after each further failure, 1 to 1e6. @default 2 */
  readonly factor?: number | undefined;
  /** Cap on the delay (before jitter), in ms. @default 30000 */
  readonly max?: number | undefined;
  /** How randomness spreads the delay. @default 'full' */
  readonly jitter?: Jitter | undefined;
}

/** Options of {@link decorrelated}. Every delay is a number of ms from 0 to 2^31 - 1. */
export interface DecorrelatedOptions {
  /** The smallest delay, and the seed of the first one, in ms. @default 100 */
  readonly initial?: number | undefined;
  /** Cap on the delay, in ms. @default 30000 */
  readonly max?: number | undefined;
}

function checkJitter(name: string, value: unknown): Jitter {
  if (value !== 'none' && value !== 'full' && value !== 'equal')
    throw new InvalidArgumentError(name, "'none', 'full' or 'equal'", value);
  return value;
}

function spread(delay: number, jitter: Jitter, random: () => number): number {
  const half = delay / 2;
  return jitter === 'none' ? delay : jitter === 'full' ? delay * random() : half + half * random();
}

/**
 * The same delay after every failure.
 *
 * @param ms delay in ms, 0 to 2^31 - 1
 * @throws {InvalidArgumentError} when `ms` is not a number in range
 * @example
 * ```ts
 * await retry(fetchUser, { backoff: constant(250) });
 * ```
 */
// `exponential(200)`, `linear('200')`: every default applied silently (review-19.test.ts).
const BACKOFF_EXAMPLE = '{ initial: 200 }';

export function constant(ms: number): Backoff {
  const delay = check('constant(ms)', ms);
  return () => delay;
}

/**
 * A delay that grows by `step` after each failure: `min(max, initial + step * (attempt - 1))`, then jittered.
 *
 * @throws {InvalidArgumentError} when an option is out of range or `options` is not an object
 * @example
 * ```ts
 * await retry(poll, { backoff: linear({ initial: 200, step: 200, max: 2000 }) }); // 200, 400, 600 ...
 * ```
 */
export function linear(options?: LinearOptions): Backoff {
  checkOptions(options, BACKOFF_EXAMPLE);
  const initial = check('linear initial', options?.initial ?? 100);
  const step = check('linear step', options?.step ?? initial);
  const max = check('linear max', options?.max ?? 30_000);
  const jitter = checkJitter('linear jitter', options?.jitter ?? 'none');
  return ({ attempt, random }) =>
    spread(Math.min(max, initial + step * Math.max(0, attempt - 1)), jitter, random);
}

/**
 * A delay that is multiplied by `factor` after each failure: `min(max, initial * factor ** (attempt - 1))`,
 * then jittered. With the defaults the ceiling doubles (100, 200, 400 ... 30000 ms) and the actual wait is
 * uniform below it (full jitter), which spreads a fleet of clients out instead of synchronising them.
 *
 * @throws {InvalidArgumentError} when an option is out of range (`factor` must be >= 1) or `options` is not an object
 * @example
 * ```ts
 * await retry(fetchUser, { backoff: exponential({ initial: 50, max: 5000, jitter: 'equal' }) });
 * ```
 */
export function exponential(options?: ExponentialOptions): Backoff {
  checkOptions(options, BACKOFF_EXAMPLE);
  const initial = check('exponential initial', options?.initial ?? 100);
  const factor = check('exponential factor', options?.factor ?? 2, 1, 1e6);
  const max = check('exponential max', options?.max ?? 30_000);
  const jitter = checkJitter('exponential jitter', options?.jitter ?? 'full');
  return ({ attempt, random }) =>
    // `initial &&` keeps 0 x Infinity (a huge attempt number) from becoming NaN.
    spread(Math.min(max, initial && initial * factor ** Math.max(0, attempt - 1)), jitter, random);
}

/**
 * AWS "decorrelated jitter": `min(max, random_between(initial, previousDelay * 3))`, where the first
 * retry uses `initial` as the previous delay. Grows like exponential backoff on average, with each delay
 * drawn relative to the last one.
 *
 * @throws {InvalidArgumentError} when an option is out of range or `options` is not an object
 * @example
 * ```ts
 * await retry(fetchUser, { backoff: decorrelated({ initial: 100, max: 10_000 }) });
 * ```
 */
export function decorrelated(options?: DecorrelatedOptions): Backoff {
  checkOptions(options, BACKOFF_EXAMPLE);
  const initial = check('decorrelated initial', options?.initial ?? 100);
  const max = check('decorrelated max', options?.max ?? 30_000);
  return ({ previousDelay, random }) => {
    const upper = Math.max(initial, (previousDelay > 0 ? previousDelay : initial) * 3);
    return Math.min(max, initial + (upper - initial) * random());
  };
}
