/**
 * Option checks shared by the parser, `connect()` and `EventSource`. A bad option throws an
 * `InvalidArgumentError` up front, naming the option and what to pass, instead of surfacing later as a
 * NaN timer (setTimeout fires at once for NaN, negatives and anything above 2^31-1 ms) or as a fetch
 * TypeError that the client would take for a network error and retry forever.
 */
import { InvalidArgumentError } from '@integ/core';

/** Longest wait a timer honours: setTimeout fires at once for anything above 2^31-1 ms. */
export const MAX_MS = 2_147_483_647;

/** Throws the `InvalidArgumentError` of option `name`. */
export function fail(name: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(name, expected, value);
}

/** `value` (`fallback` when undefined) when it is a number of ms from 0 to {@link MAX_MS}: NaN never is. */
export function checkNumber(
  name: string,
  value: unknown,
  fallback: number,
  expected: string = 'ms from 0 to 2^31-1',
): number {
  if (value === undefined) return fallback;
  return typeof value === 'number' && value >= 0 && value <= MAX_MS ? value : fail(name, expected, value);
}
