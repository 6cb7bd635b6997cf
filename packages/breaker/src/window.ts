/**
 * Sliding windows for rate-based tripping, as a separate import so a breaker that only counts
 * consecutive failures does not carry them.
 *
 * One ring serves both kinds: `size` slots, each counting calls, failures and slow calls for one key.
 * A count window keys each call by its sequence number (one call per slot: the ring holds the last
 * `size` outcomes); a time window keys by `floor(now * buckets / duration)` (one bucket per slot). Moving to a
 * newer key clears the slots that fell out, so memory is constant and old buckets are forgotten even
 * when no call lands in them.
 */
import { InvalidArgumentError } from '@integ/core';
import { optionsOf } from './breaker.js';

/** Calls, failures and slow calls currently in a window. */
export interface WindowCounts {
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
}

/** The counting state one breaker keeps (made by a {@link WindowFactory}). */
export interface BreakerWindow {
  /**
   * Counts one outcome at time `now` and says whether the window's thresholds call for opening. A breaker
   * passes its own time, which never decreases (its clock's reading, moved forward by any step back). Only
   * `true` opens: a throw or any other answer (an async record's Promise) opens nothing (decision 0128).
   */
  record(failed: boolean, slow: boolean, now: number): boolean;
  /** The counts at time `now` (a time window forgets expired buckets first). */
  counts(now: number): WindowCounts;
  /** Forgets everything (the breaker calls it whenever it closes; a throw is ignored). */
  clear(): void;
  /**
   * Optional: takes the counts of the breaker's `initialState`, once, when the breaker is created with one,
   * before any call (`now` as in `record`). They are checked first: whole numbers >= 0, with
   * `slowCalls <= failures <= calls`. It must not decide anything: the breaker does not trip on it. A window
   * without it starts empty.
   */
  restore?(counts: WindowCounts, now: number): void;
}

/** Makes a fresh window for each breaker, so one options object can serve a whole registry. */
export type WindowFactory = () => BreakerWindow;

/** Options of {@link slidingWindow}. */
export interface SlidingWindowOptions {
  /** `'count'`: the last `size` calls; `'time'`: the calls of the last `duration` ms. @default 'count' */
  readonly type?: 'count' | 'time' | undefined;
  /** Calls in a count window, 1 to 1e6; each breaker allocates 3 bytes per call (3 MB at 1e6). @default 100 */
  readonly size?: number | undefined;
  /** Length of a time window in ms, from `buckets` (1 ms per bucket) to 2^31 - 1. @default 60_000 */
  readonly duration?: number | undefined;
  /** Buckets a time window is kept in, 1 to 1e4 (its granularity is `duration / buckets`). @default 10 */
  readonly buckets?: number | undefined;
  /**
   * Failure rate (1e-9 <= rate <= 1) that opens the circuit; slow calls count as failures. `Infinity` turns it
   * off. @default 0.5
   */
  readonly failureRateThreshold?: number | undefined;
  /**
   * Slow-call rate (1e-9 <= rate <= 1) that opens the circuit; slow means slower than the breaker's
   * `slowCallDuration`. `Infinity` turns it off. @default 1
   */
  readonly slowCallRateThreshold?: number | undefined;
  /**
   * Calls the window must hold before either rate is judged, a whole number >= 1 (at most `size` in a count
   * window). @default min(10, size) in a count window, 10 in a time window
   */
  readonly minimumCalls?: number | undefined;
}

function option(
  o: SlidingWindowOptions,
  name: keyof SlidingWindowOptions,
  fallback: number,
  min: number,
  max: number,
  int?: 1,
): number {
  const value = (o[name] ?? fallback) as number;
  // `Infinity` turns a rate off (a rate's `max` is 1); a count (`int`) must be whole and finite
  // (`Infinity % 1` is NaN), and so must a duration.
  if (
    typeof value !== 'number' ||
    (!(value >= min && value <= max) && (value !== Infinity || max > 1)) ||
    (int && value % 1 !== 0)
  )
    throw new InvalidArgumentError(name, `a${int ? ' whole' : ''} number in [${min}, ${max}]`, value);
  return value;
}

/**
 * A count or time window with failure-rate and slow-call-rate thresholds, for the `window` option of
 * `createBreaker`. Rates are judged after every counted call once `minimumCalls` are in the window;
 * a rate at or above its threshold opens the circuit.
 *
 * @throws {InvalidArgumentError} for an option out of range, or `options` that is not an object (a string, a Promise)
 * @example
 * ```ts
 * const breaker = createBreaker({
 *   window: slidingWindow({ type: 'time', duration: 30_000, failureRateThreshold: 0.5, minimumCalls: 20 }),
 *   slowCallDuration: 2_000,
 * });
 * ```
 */
export function slidingWindow(options: SlidingWindowOptions | null = {}): WindowFactory {
  // `null` is no options, as in @integ/retry (a config read from JSON), not a TypeError on its first field; a
  // string or a Promise is refused, not read as no options.
  options = optionsOf(options);
  const byTime = options.type === 'time';
  if (!byTime && (options.type ?? 'count') !== 'count')
    throw new InvalidArgumentError('type', "'count' or 'time'", options.type);
  const size = byTime ? option(options, 'buckets', 10, 1, 1e4, 1) : option(options, 'size', 100, 1, 1e6, 1);
  // Up to 2^31 - 1 ms (~24.8 days) like every other duration of the package: an infinite window would key
  // every call to bucket 0 (now / Infinity) and never forget one. At least 1 ms per bucket (clocks count
  // in ms): a key (at most now) stays below 2^53, past which `k++` in roll() stops moving k.
  const duration = byTime ? option(options, 'duration', 60_000, size, 2 ** 31 - 1) : 0;
  // The bucket of `now`, floor(now * size / duration), exact for whole ms (whole windows, then the rest):
  // now / (duration / size) put a call at a bucket's first ms into the one before when the bucket length is
  // not whole (500 / (100 / 3) is 14.999999999999998), and now * size is past 2^53 at epoch times. The whole
  // windows rounded: with a duration that is not whole, now - r is their length rounded, so at epoch times
  // (now - r) / duration came out a hair off a whole number (60_000.7: 28425903.999999996), a key the ring
  // was indexed at, its counts read as NaN: a window that never opened and a snapshot() of NaN.
  const key = (now: number): number => {
    const r = now % duration;
    return Math.round((now - r) / duration) * size + Math.floor((r * size) / duration);
  };
  const failureRate = option(options, 'failureRateThreshold', 0.5, 1e-9, 1);
  const slowRate = option(options, 'slowCallRateThreshold', 1, 1e-9, 1);
  const minCalls = option(
    options,
    'minimumCalls',
    byTime ? 10 : Math.min(10, size),
    1,
    byTime ? 2 ** 53 : size,
    1,
  );

  return () => {
    // A count window's slot holds one call (its counts are 0 or 1): a byte each, 3 per call instead of 24.
    const slots = new (byTime ? Float64Array : Uint8Array)(size * 3);
    let calls = 0;
    let failures = 0;
    let slow = 0;
    let head = -Infinity;
    let seq = 0;

    // Where key k's three counts are; keys below 0 too (a clock that reads below 0), where k % size is negative.
    const slot = (k: number): number => (((k % size) + size) % size) * 3;
    const roll = (key: number): void => {
      if (key <= head) return;
      if (key - head >= size) clear();
      else
        for (let k = head + 1; k <= key; k++) {
          const i = slot(k);
          calls -= slots[i]!;
          failures -= slots[i + 1]!;
          slow -= slots[i + 2]!;
          slots.fill(0, i, i + 3);
        }
      head = key;
    };
    const clear = (): void => {
      slots.fill(0);
      calls = failures = slow = 0;
      head = -Infinity;
    };

    // Adds to the newest slot.
    const add = (n: number, f: number, s: number): void => {
      const i = slot(head);
      calls += n;
      slots[i]! += n;
      failures += f;
      slots[i + 1]! += f;
      slow += s;
      slots[i + 2]! += s;
    };
    const record = (failed: boolean, isSlow: boolean, now: number): boolean => {
      // A key older than the newest (the clock stepped back) counts in the newest slot.
      roll(byTime ? key(now) : seq++);
      // A slow call counts as a failure (the failure rate, `failures`) and towards the slow-call rate.
      add(1, +(failed || isSlow), +isSlow);
      // Divided, not multiplied: 7 / 100 is exactly the 0.07 a user writes, 0.07 * 100 is not 7.
      return calls >= minCalls && (failures / calls >= failureRate || slow / calls >= slowRate);
    };
    // Whether the i-th of n outcomes is one of the k spread evenly among them (the last one is, for k > 0).
    const hit = (i: number, k: number, n: number): boolean => ((i * k) % n) + k >= n;

    return {
      record,
      counts(now) {
        if (byTime) roll(key(now));
        return { calls, failures, slowCalls: slow };
      },
      clear,
      // A time window puts the counts in the current bucket: they leave with it, within one duration. A count
      // window holds the newest `size` of `c` outcomes in which the failures, and the slow calls among them,
      // are spread evenly (decision 0124): the order is lost in a snapshot, and any order puts some first.
      restore({ calls: c, failures: f, slowCalls: s }, now) {
        if (byTime) {
          roll(key(now));
          add(c, f, s);
        }
        // Counted down by n, not up by i: past 2^53 `i++` no longer moves i.
        else
          for (let n = Math.min(c, size); n; n--) {
            const i = c - n;
            const failed = hit(i, f, c);
            record(failed, failed && hit(Math.floor((i * f) / c), s, f), 0);
          }
      },
    };
  };
}
