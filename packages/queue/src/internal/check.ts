/** Option checks shared by the queue and its workers. */
import { InvalidArgumentError } from '@integ/core';

/** `value` when it is a function or undefined; otherwise an InvalidArgumentError naming `name`. */
export function checkFunction<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw new InvalidArgumentError(name, 'a function', value);
  return value;
}
