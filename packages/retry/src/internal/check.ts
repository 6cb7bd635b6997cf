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

/** Does nothing: a handler that drops what it is given (shared, one function in the bundle). */
export const ignore = (): void => {};

/**
 * Throws unless `value` is an options object, `null` or `undefined` (none). A number (`retry(fn, 5)`, ported from
 * `call_with_retry(func, max_attempts=3)`), a JSON string not parsed, a function not called or a Promise not awaited
 * was read as an object without options: every default applied silently. A Promise's rejection is dropped (left
 * unhandled, it ends a Node process).
 *
 * @throws {InvalidArgumentError} `argument: 'options'`, the message giving `example`
 */
export function checkOptions(value: unknown, example: string): void {
  if (
    value != null &&
    (typeof value !== 'object' || typeof (value as PromiseLike<unknown>).then === 'function')
  ) {
    Promise.resolve(value).catch(ignore);
    throw new InvalidArgumentError('options', `an options object, e.g. ${example}`, value);
  }
}
