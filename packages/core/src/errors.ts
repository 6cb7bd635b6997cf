/**
 * The error contract every @integ package shares: a stable `code`, the original failure as `cause`,
 * and a `retryable` hint that retry policies and breakers read.
 */

/** Options accepted by {@link IntegError} and its subclasses. */
export interface IntegErrorOptions {
  /** The failure that caused this one. @default none (no `cause` property) */
  readonly cause?: unknown;
  /** Whether repeating the operation may succeed. `undefined` means "no opinion". @default undefined */
  readonly retryable?: boolean;
}

const BRAND = '@@integ/error';

/**
 * Base class of every error thrown by an @integ package.
 *
 * @example
 * ```ts
 * class QuotaError extends IntegError {
 *   constructor() { super('ERR_QUOTA', 'Quota exhausted: wait for the next window', { retryable: false }); }
 * }
 * ```
 */
export class IntegError extends Error {
  static override readonly name: string = 'IntegError';
  // Fields are `declare`d and assigned in the constructor: no class-field definitions are emitted, which
  // keeps every bundle that includes an @integ error smaller.
  /** Stable, documented machine-readable code, always `ERR_*`. */
  declare readonly code: string;
  /** Whether repeating the operation may succeed; `undefined` when the thrower has no opinion. */
  declare readonly retryable: boolean | undefined;
  /** String-keyed brand: survives two copies of @integ/core in one process, unlike `instanceof`. */
  declare readonly '@@integ/error': true;

  constructor(code: `ERR_${string}`, message: string, options: IntegErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this['@@integ/error'] = true;
    this.code = code;
    this.retryable = options.retryable;
    // Every @integ error class names itself with `static override readonly name: string = '...'`: a minifying
    // bundler renames classes (`q: Retry gave up...`). An own property, so a subclass can assign it (0008).
    this.name = new.target.name;
  }
}

/**
 * Whether `value` is an {@link IntegError} (from any copy of @integ/core), optionally with the given `code`.
 *
 * @example
 * ```ts
 * if (isIntegError(err, 'ERR_TIMEOUT')) console.log('timed out');
 * ```
 */
export function isIntegError(value: unknown, code?: string): value is IntegError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)[BRAND] === true &&
    (code === undefined || (value as { code?: unknown }).code === code)
  );
}

/**
 * An operation did not finish within its time limit (`ERR_TIMEOUT`). Retryable by default.
 *
 * @example
 * ```ts
 * throw new TimeoutError(5000, 'GET /users');
 * ```
 */
export class TimeoutError extends IntegError {
  static override readonly name: string = 'TimeoutError';
  /** The limit that was exceeded, in milliseconds. */
  declare readonly timeoutMs: number;

  constructor(timeoutMs: number, what = 'Operation', options: IntegErrorOptions = {}) {
    super('ERR_TIMEOUT', `${what} timed out after ${timeoutMs} ms; allow more time or make it faster`, {
      retryable: true,
      ...options,
    });
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Bad input given to an @integ API (`ERR_INVALID_ARGUMENT`): the message names the option and what to fix.
 *
 * @example
 * ```ts
 * throw new InvalidArgumentError('attempts', 'an integer >= 1', 0);
 * ```
 */
export class InvalidArgumentError extends IntegError {
  static override readonly name: string = 'InvalidArgumentError';
  /** The option or argument that was rejected. */
  declare readonly argument: string;

  constructor(argument: string, expected: string, received: unknown) {
    super(
      'ERR_INVALID_ARGUMENT',
      `Invalid ${argument}: expected ${expected}, received ${describe(received)}`,
      {
        retryable: false,
      },
    );
    this.argument = argument;
  }
}

// Primitives other than strings as themselves; strings, objects and functions by kind only: their contents
// could be secrets (a URL with credentials, a header value, a token), and the option's name already says where
// to look.
function describe(value: unknown): string {
  const type = typeof value;
  return (value && type === 'object') || type === 'function' || type === 'string'
    ? `a${type === 'object' ? 'n' : ''} ${type}`
    : String(value);
}
