/**
 * Per-job retry delays as data. A job's backoff is stored with the job, so it must be serialisable
 * (a function would not survive a restart); each spec maps onto one of @integ/retry's backoffs.
 */
import { InvalidArgumentError } from '@integ/core';
import { type Backoff, decorrelated, exponential, type Jitter, linear } from '@integ/retry';

/**
 * A serialisable backoff: a number is a constant delay in ms; an object names one of @integ/retry's
 * backoffs. `delay` is the first delay (`initial` in @integ/retry); unset fields take @integ/retry's
 * defaults.
 *
 * @example
 * ```ts
 * await queue.push(data, { attempts: 5, backoff: { type: 'exponential', delay: 500, max: 60_000, jitter: 'full' } });
 * ```
 */
export type BackoffSpec =
  | number
  | { readonly type: 'constant'; readonly delay: number }
  | {
      readonly type: 'linear';
      readonly delay: number;
      /** Added after each further failure. @default delay (so the delays are attempt x delay) */
      readonly step?: number | undefined;
      /** @default 30000 */
      readonly max?: number | undefined;
      /** @default 'none' */
      readonly jitter?: Jitter | undefined;
    }
  | {
      readonly type: 'exponential';
      readonly delay: number;
      /** @default 2 */
      readonly factor?: number | undefined;
      /** @default 30000 */
      readonly max?: number | undefined;
      /** @default 'full' */
      readonly jitter?: Jitter | undefined;
    }
  | {
      readonly type: 'decorrelated';
      readonly delay: number;
      /** @default 30000 */
      readonly max?: number | undefined;
    };

/** The queue's default backoff: 1 s, 2 s, 4 s ... capped at one hour, no jitter. */
export const DEFAULT_BACKOFF: BackoffSpec = {
  type: 'exponential',
  delay: 1000,
  factor: 2,
  max: 3_600_000,
  jitter: 'none',
};

/** The largest ms a Date holds (a job's runAt is shown as ISO 8601). */
export const MAX_MS = 8.64e15;
const SCALE = 2 ** 22;

function checkMs(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= MAX_MS))
    throw new InvalidArgumentError(name, `a number of ms from 0 to ${MAX_MS}`, value);
  return value;
}

const FIELDS: Record<string, readonly string[]> = {
  constant: ['type', 'delay'],
  linear: ['type', 'delay', 'step', 'max', 'jitter'],
  exponential: ['type', 'delay', 'factor', 'max', 'jitter'],
  decorrelated: ['type', 'delay', 'max'],
};

/**
 * Turns a spec into a {@link Backoff} function, validating it.
 *
 * @throws {InvalidArgumentError} for an unknown type, a field the type does not have, or an out-of-range field
 * @example
 * ```ts
 * const delayOf = toBackoff({ type: 'linear', delay: 100, step: 100 });
 * ```
 */
export function toBackoff(spec: BackoffSpec): Backoff {
  const ms = typeof spec === 'number';
  if (!ms && (typeof spec !== 'object' || spec === null))
    throw new InvalidArgumentError('backoff', 'a number of ms or { type, delay, ... }', spec);
  // Checked here, not by @integ/retry, whose message would name its `initial`, not the spec's `delay`.
  const delay = checkMs(ms ? 'backoff' : 'backoff.delay', ms ? spec : (spec as { delay?: unknown }).delay);
  if (ms) return () => delay;
  const type = (spec as { type?: unknown }).type;
  const fields = typeof type === 'string' && Object.hasOwn(FIELDS, type) ? FIELDS[type] : undefined;
  // A spec is stored with every job as JSON: a field its type does not read (a typo such as `maxDelay`, a
  // BigInt, a cycle, a blob) would be silently ignored, make the push throw a bare TypeError, or bloat each row.
  if (fields !== undefined)
    for (const key of Object.keys(spec))
      if (!fields.includes(key))
        throw new InvalidArgumentError(
          `backoff.${key}`,
          `no such field: a '${type}' backoff has ${fields.join(', ')}`,
          (spec as Record<string, unknown>)[key],
        );
  const { step, max = 30_000 } = spec as { step?: unknown; max?: unknown };
  // @integ/retry bounds its delays by a timer's 2^31 - 1 ms; a job's are stored as due times, so a spec may go
  // up to MAX_MS, as push's `delay` does: it runs scaled down by 2^22 and its delays are scaled back up (exact:
  // a power of two only moves the exponent).
  const initial = delay / SCALE;
  const options = {
    initial,
    step: step === undefined ? step : checkMs('backoff.step', step) / SCALE,
    max: checkMs('backoff.max', max) / SCALE,
    jitter: (spec as { jitter?: Jitter }).jitter,
  };
  let scaled: Backoff;
  switch (spec.type) {
    case 'constant':
      return () => delay;
    case 'linear':
      scaled = linear(options);
      break;
    case 'exponential':
      scaled = exponential({ ...options, factor: spec.factor });
      break;
    case 'decorrelated':
      scaled = decorrelated(options);
      break;
    default:
      throw new InvalidArgumentError(
        'backoff.type',
        "'constant', 'linear', 'exponential' or 'decorrelated'",
        (spec as { type?: unknown }).type,
      );
  }
  return (context) => SCALE * scaled({ ...context, previousDelay: context.previousDelay / SCALE });
}

const HISTORY = 64;

/**
 * The delay after attempt `attempt` (1-based) failed. `previousDelay` is replayed from the start
 * (bounded), since a store keeps the spec and the attempt count, not the last delay.
 */
export function delayAfter(backoff: Backoff, attempt: number, random: () => number): number {
  let previousDelay = 0;
  let delay = 0;
  // Checked as drawn, as @integ/retry does: a draw past 1 stretched a jittered delay past the spec's own max, and
  // no number ('0.5', a boxed number) is refused too (a custom backoff's `base + random()` joined strings).
  const draw = (): number => {
    const r = random();
    if (typeof r !== 'number' || !(r >= 0 && r <= 1))
      throw new InvalidArgumentError('random()', 'a number from 0 to 1', r);
    return r;
  };
  for (let a = Math.max(1, attempt - HISTORY); a <= attempt; a++) {
    delay = backoff({ attempt: a, previousDelay, random: draw });
    // No delay (NaN, negative, not a number) is a bug, as @integ/retry says: read as 0 it retried at once, the hot
    // loop decision 0180 keeps a throwing backoff from; the queue warns and waits its default. Infinity is capped.
    if (typeof delay !== 'number' || !(delay >= 0))
      throw new InvalidArgumentError('backoff result', 'a number of ms >= 0', delay);
    previousDelay = delay;
  }
  // Whole ms rounded up, like every other delay: a retry never runs before the backoff it asked for.
  return Math.ceil(delay);
}
