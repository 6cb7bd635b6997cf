/** The logger shape @integ accepts: pino's, so pino, bunyan-alikes and console wrappers fit. */

/** One log method: `(obj, msg?)` or `(msg)`, as in pino. */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/** A logger with pino's shape. @integ never logs unless one is passed, and never logs secrets. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const noop = (): void => {};

/**
 * A logger that drops everything: the default wherever a `logger` option exists.
 *
 * @example
 * ```ts
 * const log: Logger = options.logger ?? silentLogger;
 * ```
 */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
