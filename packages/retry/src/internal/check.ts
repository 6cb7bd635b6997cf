/** Option validation shared by retry(), the backoffs and retryBudget(): one helper, one message shape. */
import { InvalidArgumentError } from '@integ/core';

/** The largest delay a timer can take: `setTimeout` fires at once for anything above 2^31 - 1 ms. */
export const MAX_DELAY = 2_147_483_647;

/**
 * Returns `value` when it is a number from `min` to `max` (or `Infinity` when `infinite`), else throws.
 *
 * @throws {InvalidArgumentError} naming the option, the range and the value received
 */
export function check(
  name: string,
  value: unknown,
  min = 0,
  max: number = MAX_DELAY,
  infinite?: boolean,
): number {
  if (typeof value !== 'number' || !(value >= min && (value <= max || (infinite && value === Infinity))))
    throw new InvalidArgumentError(
      name,
      `a number from ${min} to ${max}${infinite ? ' or Infinity' : ''}`,
      value,
    );
  return value;
}
