/** Option checks shared by the queue and its workers, and the guard around the callbacks they accept. */
import { InvalidArgumentError } from '@integ/core';

/** `value` when it is a function or undefined; otherwise an InvalidArgumentError naming `name`. */
export function checkFunction<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw new InvalidArgumentError(name, 'a function', value);
  return value;
}

/**
 * Calls a user callback (hook, onError): a throw or the rejection of the promise an async callback returns
 * goes to `onError` (by default ignored). Left alone, that rejection would be unhandled, which ends a Node process
 * by default.
 */
export function guard(call: () => unknown, onError: (error: unknown) => void = () => {}): void {
  try {
    const result = call() as PromiseLike<unknown> | null | undefined;
    if (typeof result?.then === 'function') result.then(undefined, onError);
  } catch (error) {
    onError(error);
  }
}
