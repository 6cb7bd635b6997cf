/**
 * retry(): call a function until it succeeds, with backoff, per-attempt timeouts, a total deadline, a shared
 * budget and server hints. The success path costs about one bare `await` and one `.then()`: when no `signal`,
 * `timeout`, `deadline` or `retryOnResult` is given, no AbortController, timer, array or async frame is created, only
 * the rejection handler's closure (decision 0010).
 */
import {
  abortReason,
  type Clock,
  InvalidArgumentError,
  systemClock,
  TimeoutError,
  type TimerHandle,
} from '@integ/core';
import { type Backoff, exponential } from './backoff.js';
import type { RetryBudget } from './budget.js';
import { MAX_KEPT_ERRORS, RejectedResultError, RetryBudgetError, RetryError } from './errors.js';
import { check, checkOptions, ignore, MAX_DELAY } from './internal/check.js';
import { retryAfterOf } from './retry-after.js';

/** What the retried function receives on each call. */
export interface AttemptContext {
  /** 1 for the first call, 2 for the first retry, and so on. */
  readonly attempt: number;
  /**
   * Aborts when the caller's `signal` aborts (with its reason), or when this attempt's `timeout` or the
   * `deadline` passes (with a TimeoutError). Pass it to `fetch` and friends.
   */
  readonly signal: AbortSignal;
}

/** What `onRetry` receives, before the wait. */
export interface RetryEvent {
  /** The attempt that just failed (1 = the first call). */
  readonly attempt: number;
  /** The wait before the next attempt, in ms. */
  readonly delay: number;
  /** The failure (a {@link RejectedResultError} when `retryOnResult` turned a value down). */
  readonly error: unknown;
}

/** What `onGiveUp` receives, just before retry rejects. */
export interface GiveUpEvent {
  /** How many times the function was called. */
  readonly attempts: number;
  /** The last failure. */
  readonly error: unknown;
  /**
   * Why: out of `attempts`, the `deadline` left no time, the `budget` was spent, the failure is
   * not retryable, or the caller aborted.
   */
  readonly reason: 'attempts' | 'deadline' | 'budget' | 'not-retryable' | 'aborted';
}

/** Options of {@link retry}. */
export interface RetryOptions<T = unknown> {
  /** How many calls in total, the first included (3 = first try + 2 retries); `Infinity` is allowed. @default 3 */
  readonly attempts?: number | undefined;
  /** The wait after each failure. @default exponential() (100 ms doubling to 30 s, full jitter) */
  readonly backoff?: Backoff | undefined;
  /**
   * Whether a failure is worth retrying; it can only narrow the default, which retries everything except
   * aborts and errors with `retryable: false`. May return a promise. It also judges a value `retryOnResult` turned
   * down, as a {@link RejectedResultError}: saying no to it rejects with that error instead of retrying.
   * @default every failure {@link isRetryable} accepts
   */
  readonly retryIf?:
    | ((error: unknown, context: AttemptContext) => boolean | PromiseLike<boolean>)
    | undefined;
  /** Whether a returned value should be retried as if it failed (e.g. a 503 `Response`). @default never */
  readonly retryOnResult?:
    | ((value: T, context: AttemptContext) => boolean | PromiseLike<boolean>)
    | undefined;
  /**
   * Time limit of each attempt in ms (1 to 2^31 - 1, or `Infinity`): its signal aborts and it fails with a
   * retryable TimeoutError. @default none
   */
  readonly timeout?: number | undefined;
  /**
   * Time limit of the whole call in ms (1 to 2^31 - 1, or `Infinity`), waits included. No attempt starts
   * unless it can start before the deadline, waits never run past it, and the running attempt is aborted when
   * it passes. Counted on a timer (elapsed time), so a wall clock set back does not stretch it; one set forward
   * may end the call early.
   * @default none
   */
  readonly deadline?: number | undefined;
  /**
   * Aborting stops everything at once: the running attempt's signal aborts and retry rejects with the reason.
   * @default none
   */
  readonly signal?: AbortSignal | undefined;
  /** A {@link RetryBudget} shared with other calls; retries it refuses fail fast with RetryBudgetError. @default none */
  readonly budget?: RetryBudget | undefined;
  /**
   * Cap on a server's hint (`retryAfterMs`, `Retry-After`, `retry-after-ms`), in ms (0 to 2^31 - 1, or
   * `Infinity`). @default 60000
   */
  readonly maxRetryAfter?: number | undefined;
  /**
   * Called after each failure that will be retried, before the wait. Not awaited: a returned promise that
   * rejects is ignored; a synchronous throw stops retry with that error. @default none
   */
  readonly onRetry?: ((event: RetryEvent) => void) | undefined;
  /**
   * Called once when retry gives up, just before it rejects; not awaited, like `onRetry`. Not called when `fn` never
   * ran (a bad option, a `signal` aborted before the first call). @default none
   */
  readonly onGiveUp?: ((event: GiveUpEvent) => void) | undefined;
  /** Where time comes from (pass a fake clock in tests). @default systemClock */
  readonly clock?: Clock | undefined;
  /**
   * Uniform random in [0, 1) used by jittered backoffs (pass a seeded one in tests); a value drawn outside
   * [0, 1] rejects with an InvalidArgumentError. @default Math.random
   */
  readonly random?: (() => number) | undefined;
}

// Without `signal`, `timeout` or `deadline` nothing can abort an attempt, so those attempts share one signal
// that never aborts (created on first use). It drops listeners: they could never fire, so sharing it leaks none.
let shared: AbortSignal | undefined;
const neverAbortedSignal = (): AbortSignal => {
  if (!shared) {
    // A composite with no sources (`AbortSignal.any([])`), which Node's AbortSignal.any() skips: derived from a plain
    // signal that lives as long as the module, every `AbortSignal.any([signal, ...])` in fn was kept for good on
    // Node 20 (nodejs/node#55351). Runtimes without AbortSignal.any() get a plain one.
    shared = AbortSignal.any?.([]) ?? new AbortController().signal;
    shared.addEventListener = shared.removeEventListener = ignore;
    // Node keeps `onabort` as a listener of its own; a setter that ignores it too.
    Object.defineProperty(shared, 'onabort', { set: ignore });
  }
  return shared;
};

// Created on the first retry, not at import: importing the package has no side effects.
let defaultBackoff: Backoff | undefined;
const NONE: RetryOptions<never> = {};
const EXAMPLE = '{ attempts: 5 }';
const checkFn = (name: string, value: unknown): void => {
  if (value != null && typeof value !== 'function') throw new InvalidArgumentError(name, 'a function', value);
};

/**
 * Drops a rejection of what a hook returned (retry does not wait for it), never left unhandled (that ends a Node
 * process). A hook that returned nothing (falsy) cannot reject: no promise is made for it.
 */
const quiet = (value: unknown): void => {
  if (value) Promise.resolve(value).catch(ignore);
};

/**
 * The default `retryIf`: everything is worth retrying except aborts (an `AbortError`) and errors marked
 * `retryable: false` (as @integ errors such as InvalidArgumentError are). A property that cannot be read (a
 * revoked Proxy, a getter that throws) is no opinion: `isRetryable(revokedProxy)` is `true`.
 *
 * @example
 * ```ts
 * retry(call, { retryIf: (err) => isRetryable(err) && !(err instanceof HttpError && err.status < 500) });
 * ```
 */
export function isRetryable(error: unknown): boolean {
  // Read off any value: a thrown primitive has neither property. (core's isAbortError also takes a signal.)
  const e = error as { retryable?: unknown; name?: unknown } | null | undefined;
  return safely(() => e?.retryable) !== false && safely(() => e?.name) !== 'AbortError';
}

/**
 * What `read` returns, or `undefined` when it throws. What a failure or a value hands retry is read through it:
 * a read that throws (a revoked Proxy, a lazy getter of an RPC error) is no opinion, as in @integ/breaker.
 * Thrown from retry, it replaced the failure with a TypeError after one attempt. `arg` is handed to `read`, so a
 * caller's closure need not capture it (decision 0231).
 */
const safely = <R, A>(read: (arg?: A) => R, arg?: A): R | undefined => {
  try {
    return read(arg);
  } catch {
    return undefined;
  }
};

/**
 * Calls `fn` until it succeeds, waiting between attempts, and resolves with its value.
 *
 * @throws {RetryError} `ERR_RETRY_EXHAUSTED` when every attempt failed or the deadline left no time
 * @throws {RetryBudgetError} `ERR_RETRY_BUDGET_EXHAUSTED` when the shared budget refused a retry
 * @throws the failure itself when it is not retryable, and the signal's reason when the caller aborts
 * @throws {InvalidArgumentError} when an option is out of range, `options` is not an object (`retry(fn, 5)`: pass
 * `{ attempts: 5 }`) or `signal` is not an AbortSignal
 * @throws the signal's error when a stub's `addEventListener` or `removeEventListener` throws
 * @example
 * ```ts
 * const user = await retry(({ signal }) => fetchJson(`/users/${id}`, { signal }), {
 *   attempts: 5,
 *   backoff: exponential({ initial: 200, max: 5000 }),
 *   timeout: 2000,
 *   deadline: 10_000,
 * });
 * ```
 */
export function retry<T>(
  fn: (context: AttemptContext) => T | PromiseLike<T>,
  options?: RetryOptions<T>,
): Promise<T> {
  const o = options ?? (NONE as RetryOptions<T>);
  try {
    if (typeof fn !== 'function') throw new InvalidArgumentError('fn', 'a function', fn);
    checkOptions(options, EXAMPLE);
    if (options) {
      const { attempts = 3, signal } = o;
      if (!(attempts >= 1 && (Number.isInteger(attempts) || attempts === Infinity)))
        throw new InvalidArgumentError('attempts', 'an integer >= 1 or Infinity', attempts);
      check('timeout', o.timeout ?? 1, 1, MAX_DELAY, true);
      check('deadline', o.deadline ?? 1, 1, MAX_DELAY, true);
      check('maxRetryAfter', o.maxRetryAfter ?? 0, 0, MAX_DELAY, true);
      checkFn('backoff', o.backoff);
      checkFn('retryIf', o.retryIf);
      checkFn('retryOnResult', o.retryOnResult);
      checkFn('onRetry', o.onRetry);
      checkFn('onGiveUp', o.onGiveUp);
      checkFn('random', o.random);
      // A stub we cannot listen to, or stop listening to (no removeEventListener: thrown as the attempt settled, it
      // ended Node with an uncaught TypeError), as in @integ/breaker. Every real signal has the three.
      if (
        signal != null &&
        (typeof signal.aborted !== 'boolean' ||
          typeof signal.addEventListener !== 'function' ||
          typeof signal.removeEventListener !== 'function')
      )
        throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
      if (signal?.aborted) throw abortReason(signal);
      o.budget?.recordRequest();
      if ((signal ?? o.timeout ?? o.deadline ?? o.retryOnResult) !== undefined) return attemptAll(fn, o);
    }
  } catch (error) {
    return Promise.reject(error);
  }
  // The success path: one call, one `then`, no async frame. Failures continue in attemptAll().
  let first: T | PromiseLike<T>;
  try {
    first = fn({ attempt: 1, signal: neverAbortedSignal() });
  } catch (error) {
    return attemptAll(fn, o, true, error);
  }
  return Promise.resolve(first).then(undefined, (error: unknown) => attemptAll(fn, o, true, error));
}

/** The retry loop; `failed` says the first attempt already ran and failed with `error`. */
async function attemptAll<T>(
  fn: (context: AttemptContext) => T | PromiseLike<T>,
  o: RetryOptions<T>,
  failed?: boolean,
  error?: unknown,
): Promise<T> {
  // `??`, not defaults: null passes the option checks as "not given", so it must mean that here too.
  const { attempts = 3, signal, random } = o;
  const timeout = o.timeout ?? Infinity;
  const deadline = o.deadline ?? Infinity;
  const clock = o.clock ?? systemClock;
  const guarded = signal || timeout < Infinity || deadline < Infinity;
  // A start read as -Infinity is no known instant (as NaN), not the -Infinity below that says the timer has fired:
  // that gave up for the deadline after the first failure, long before it (review-20.test.ts). With no deadline the
  // system clock is not read (NaN, as Infinity, is never reached): Date.now() was ~5 % of a fail-twice call
  // (decision 0179). A clock given is still read, as before: a fake or broken one sees the same calls.
  const start = ((deadline < Infinity ? clock : o.clock)?.now() as number) + deadline;
  let expiresAt = start === -Infinity ? NaN : start;
  // Made at the first failure with room for it alone: an empty `[]` grew to 17 slots at its first push (152 B
  // held by every call parked in a wait, decision 0231).
  let errors: unknown[] | undefined;
  let previousDelay = 0;
  let attempt = 0;
  let reason: GiveUpEvent['reason'] | undefined;
  // Cuts the attempt or wait in progress (a no-op between them); `how` is `ignore`, which marks a cut for settle().
  let stop: (reason: unknown, how: unknown) => void = ignore;
  // Set when the clock or a stub signal threw in race() (broken, which is no failed attempt), or when the caller's
  // signal aborted before fn's first call: the loop rethrows the error as is, without onGiveUp.
  let broken: boolean | undefined;

  /**
   * Settles at the first of: `start()` settling (when given), `ms` passing, or the caller's `signal` aborting,
   * or (for an attempt or a wait) the deadline's timer. With a `controller` (an attempt), the timer and the
   * abort reject with a TimeoutError or the signal's reason, abort the attempt with that error and stop awaiting
   * it; without one (the wait between attempts, a pending `retryIf`) they resolve. Every timer and listener is
   * released as soon as it settles.
   */
  const race = <R>(ms: number, start?: () => R | PromiseLike<R>, controller?: AbortController): Promise<R> =>
    new Promise((resolve, reject) => {
      let done: unknown;
      let timer: TimerHandle;
      // Set once clock.setTimeout has returned; before, a call back from inside it only marks it (see below).
      let later: unknown;
      // Settles with `value` by `how`, resolve or reject. With anything else, a cut: by the caller or the deadline
      // (`how` is `ignore`, `value` the reason) or by the timer (whatever a clock hands its callback, which is no
      // reason: the attempt timed out), it aborts the attempt and rejects; with no attempt (a wait, a retryIf) it
      // resolves instead, and the caller checks `signal.aborted`. One function for all, which is also the timer's
      // callback and `stop`: a call parked in a wait holds no closure for each (decision 0231). Hence markers no
      // clock can hand it: the Clock type lets one call back with arguments (the time, the timer's id), which a
      // `value, ok` pair took for the reason and for `ok` (review-42.test.ts). Called back from inside
      // clock.setTimeout, it only marks the timer fired.
      // Once: a cut attempt settles again when fn throws at once or the deadline found fired cuts it too, and
      // clearing its timer a second time threw on a clock that refuses a handle it no longer knows.
      const settle = (value?: unknown, how?: unknown): void => {
        if (how !== resolve && how !== reject) {
          if (!later) {
            later = 2;
            return;
          }
          if (controller) {
            if (how !== ignore) value = new TimeoutError(timeout, `Attempt ${attempt}`);
            controller.abort(value);
          }
          how = controller ? reject : resolve;
        }
        if (done) return;
        done = 1;
        stop = ignore;
        // A clearTimeout that throws (window.clearTimeout passed unbound), or a stub signal's removeEventListener,
        // must still settle: thrown here, in a `then` or a timer callback, it left retry pending forever (and
        // ended Node). It rejects with that error, which the loop rethrows instead of counting it as the attempt's
        // failure; the timer is cleared either way.
        try {
          try {
            signal?.removeEventListener('abort', onAbort as () => void);
          } finally {
            clock.clearTimeout(timer);
          }
          (how as (value: unknown) => void)(value);
        } catch (error) {
          broken = true;
          reject(error);
        }
      };
      const onAbort = signal && ((): void => settle(abortReason(signal), ignore));
      // The timer first: a clock whose setTimeout throws (window.setTimeout called on another object) rejects before
      // any listener is on the caller's signal or fn is called, and the loop rethrows the clock's error instead of
      // taking it for the attempt's failure; so does a stub whose addEventListener (or aborted) throws. A setTimeout
      // that calls back at once (breaking the Clock contract) is a timer of 0 ms that has fired: the wait is over, the
      // attempt's signal is aborted as fn starts (fn is still called, so each attempt counted is a call of fn). Its
      // callback is taken once setTimeout has returned: a throw after it still rejects with the clock's error, the
      // handle is known (cleared: a clock that scheduled it too fired it later, unhooking the deadline from an attempt), and an
      // abort seen at that point wins. A signal aborted in a hook (or by the clock, a budget) fires no event any
      // more: check it before listening.
      try {
        timer = ms < Infinity && clock.setTimeout(settle, ms);
        if (signal?.aborted) {
          later = 1;
          // Aborted before fn ran (by a budget, a clock, a hook): this attempt is no call of fn, and none is
          // reported. Before the first call, retry rejects as for an already aborted signal, without onGiveUp.
          if (controller) broken = !--attempt;
          return (onAbort as () => void)();
        }
        if (later) settle();
        else {
          later = 1;
          signal?.addEventListener('abort', onAbort as () => void);
        }
      } catch (error) {
        broken = true;
        return settle(error, reject);
      }
      // The deadline cuts attempts and waits, not a retryIf (user code, outside its guarantee). Its timer fired
      // already when the clock called it back at once, before the first attempt was there to cut.
      if (controller || !start) {
        stop = settle;
        if (expiresAt === -Infinity) settle(new TimeoutError(deadline, 'Retry deadline'), ignore);
      }
      if (start)
        try {
          // A value that comes after the cut (from an fn that ignored its signal, or judged by a retryOnResult
          // still running at the cut) is dropped: cancel its body (run() does it for one turned down or thrown on).
          // The error alone: a native promise whose own then() passes more (Promise.resolve() hands it back as is) made
          // settle() take a truthy second argument for success, resolving retry with the error.
          Promise.resolve(start()).then(
            (value) => (done ? drop(value) : settle(value, resolve)),
            (error) => settle(error, reject),
          );
        } catch (error) {
          settle(error, reject);
        }
    });

  // retryOnResult is part of the attempt: the timeout, the deadline and the caller's signal cut it too
  // (it may be reading the response's body with the attempt's signal), and a value that comes after the cut,
  // from an fn that ignored its signal, is not judged: retry has moved on. Without it, attempts call fn as is.
  // A value turned down, or whose retryOnResult threw, is nobody's once retry moves on: its body is cancelled
  // at once if the attempt was cut (only a cut aborts the attempt's signal), else when retry retries or the caller
  // aborts (any other give-up leaves it to the caller, in the RetryError or the error thrown).
  let unread: unknown;
  // The attempt's context, read by the closures race() calls at once (fn, retryIf), and its controller. Declared
  // here, not in the loop, and let go before each wait (decision 0231): a block scope that closures capture is a
  // context object of its own, and a call parked in a wait held the failed attempt's AbortController and signal
  // (~850 B on Node 20) in it and in the loop's register.
  let context: AttemptContext;
  let controller: AbortController | undefined;
  const run = o.retryOnResult
    ? async (context: AttemptContext): Promise<T> => {
        const value = await fn(context);
        try {
          if (
            !context.signal.aborted &&
            (await (o.retryOnResult as NonNullable<typeof o.retryOnResult>)(value, context))
          )
            throw new RejectedResultError(value);
        } catch (error) {
          if (context.signal.aborted) drop(value);
          else unread = value;
          throw error;
        }
        return value;
      }
    : fn;

  // The deadline is a timer, as the attempt's timeout is: timers run on elapsed time, while `clock.now()` is a
  // wall clock that NTP or a resumed VM can set back (a 10 s deadline then ran for as long as the step). The
  // clock still decides early give-ups (a step forward may end the call early); once the timer has fired,
  // `expiresAt` is -Infinity and every check below gives up. Its callback is made with the timer, only for a deadline:
  // a call parked in a wait holds no closure it cannot use (decision 0231).
  const deadlineTimer =
    deadline < Infinity &&
    clock.setTimeout((): void => {
      expiresAt = -Infinity;
      stop(new TimeoutError(deadline, 'Retry deadline'), ignore);
    }, deadline);
  try {
    while (!reason) {
      controller = guarded ? new AbortController() : undefined;
      context = {
        attempt: ++attempt,
        signal: controller ? controller.signal : neverAbortedSignal(),
      };
      if (failed) failed = false;
      else {
        // Started outside the try: a clock that throws is the caller's bug, not a failure of the attempt, so its
        // error rejects retry at once (the finally clears the deadline's timer).
        const started = controller && race(timeout, () => run(context), controller);
        try {
          return await (started || run(context));
        } catch (failure) {
          if (broken) throw failure;
          error = failure;
        }
      }

      // Failure path: from here on, allocation does not matter.
      if (!errors) errors = [error];
      else if (errors.push(error) > MAX_KEPT_ERRORS) errors.shift();
      // The caller's abort also cuts a pending retryIf (race() then resolves; the next line reports the abort).
      const retryable =
        isRetryable(error) &&
        (!o.retryIf ||
          (await race(Infinity, () => (o.retryIf as NonNullable<typeof o.retryIf>)(error, context))));
      if (signal?.aborted) reason = 'aborted';
      else if (!retryable) reason = 'not-retryable';
      else if (attempt >= attempts) reason = 'attempts';
      else {
        // Read before safely(): a clock that throws is the caller's bug, not a missing hint. (`instanceof`
        // throws on a revoked Proxy too.) The system clock is left to parseRetryAfter(), whose `now = Date.now()`
        // default reads it for a failure that has `headers` (seconds and retry-after-ms too), not for one without
        // (decision 0179; review-33.test.ts).
        const hint = safely(
          (now) => retryAfterOf(error instanceof RejectedResultError ? error.value : error, now),
          o.clock?.now(),
        );
        // A result above 2^31 - 1 ms is capped (timers would fire at once), a negative or NaN one is a bug.
        const delay = Math.min(
          hint === undefined
            ? check(
                'backoff result',
                // Made on first use here, not in a statement before: 4 B gzip (decision 0015).
                // biome-ignore lint/suspicious/noAssignInExpressions: a lazy default, read and set in one place
                (o.backoff ?? (defaultBackoff ??= exponential()))({
                  attempt,
                  previousDelay,
                  // Checked as drawn: an integer PRNG waited up to 2^31 - 1 ms whatever the backoff's `max`.
                  random: random ? () => check('random()', random(), 0, 1) : Math.random,
                }),
                0,
                Infinity,
              )
            : Math.min(hint, o.maxRetryAfter ?? 60_000),
          MAX_DELAY,
        );
        // An attempt that would start at or after the deadline could not finish before it: stop now, not later.
        // The instant the wait would end, as the clock adds it, not the time left read back: on a clock at a
        // fraction of a ms `expiresAt - now` may read 500.0000001 where 500 ms are left (decision 0177). No
        // deadline is never reached, not even by a clock that reads Infinity (Infinity + delay >= Infinity). Once its
        // timer has fired, every check gives up, also on a clock that reads NaN (NaN >= -Infinity is false: an attempt
        // started after the deadline, and nothing cut it). Written out here and after the wait, not as a closure:
        // every call made one and held it through its waits (decision 0231).
        if (expiresAt < Infinity && (expiresAt === -Infinity || clock.now() + delay >= expiresAt))
          reason = 'deadline';
        else if (o.budget?.tryRetry() === false) reason = 'budget';
        else {
          // An async hook is not awaited (retry does not wait for a log line); its rejection is dropped by quiet(),
          // never left unhandled (that ends a Node process). A hook that throws at once stops retry (README).
          quiet(o.onRetry?.({ attempt, delay, error }));
          // A value turned down (or whose retryOnResult threw) is dropped here: cancel its body.
          unread = drop(unread);
          context = controller = undefined as never;
          // An abort or the deadline ends the wait early (race() resolves), which the next lines report. With a
          // signal or a deadline, a wait of 0 after the 63rd attempt is a 0 ms timer: an fn that fails without I/O,
          // retried with no wait, left the event loop no turn, so an abort (from a timer, a socket) or the deadline's
          // timer never ran and attempts: Infinity spun for good. Not before: a fake clock nobody advances would
          // hold a short zero-wait retry forever.
          if (delay || (guarded && attempt > 63)) await race(delay);
          previousDelay = delay;
          if (signal?.aborted) reason = 'aborted';
          // Timers can fire late (a busy event loop): re-check, so no attempt starts at or after the deadline (the
          // same check as before the wait, for a wait of 0).
          else if (expiresAt < Infinity && (expiresAt === -Infinity || clock.now() + 0 >= expiresAt))
            reason = 'deadline';
        }
      }
    }
    const thrown =
      reason === 'aborted'
        ? abortReason(signal as AbortSignal)
        : reason === 'not-retryable'
          ? error
          : new (reason === 'budget' ? RetryBudgetError : RetryError)(attempt, errors as unknown[], reason);
    // An abort hands the caller its reason, which carries no value: the body of the one turned down just before
    // is nobody's, cancelled before onGiveUp as on a retry (0170). Any other give-up hands it over (in the
    // RetryError, or the caller's own error), unless onGiveUp throws: retry then rejects with the hook's error.
    if (reason === 'aborted') unread = drop(unread);
    quiet(o.onGiveUp?.({ attempts: attempt, error, reason }));
    unread = 0;
    throw thrown;
  } finally {
    clock.clearTimeout(deadlineTimer);
    // Left by a throw (a hook, a predicate, a backoff, the clock, onGiveUp): nobody can read the body of the value
    // turned down just before any more, so it is cancelled as on a retry (0171). A success leaves none: a retry
    // cancels it before its wait.
    drop(unread);
  }
}

/**
 * Cancels the body of a value nobody will read: an unread fetch body holds its connection. A locked body, being
 * read by the caller, refuses and is left alone. A `body` that cannot be read is left alone too: thrown from
 * race()'s `then`, it was an unhandled rejection.
 */
const drop = (value: unknown): void =>
  safely(() => {
    const body = (value as { body?: unknown } | null)?.body;
    if (body instanceof ReadableStream) body.cancel().catch(ignore);
  });

/**
 * Wraps `fn` so that every call is retried with `options`; the wrapper has `fn`'s parameters and passes
 * its `this` on.
 *
 * @throws {InvalidArgumentError} at once when `fn` is not a function or `options` not an object; from each call
 * when an option is out of range
 * @example
 * ```ts
 * const getUser = withRetry((id: string) => api.get(`/users/${id}`), { attempts: 4 });
 * const user = await getUser('42');
 * ```
 */
export function withRetry<A extends unknown[], R, This = unknown>(
  fn: (this: This, ...args: A) => R | PromiseLike<R>,
  options?: RetryOptions<Awaited<R>>,
): (this: This, ...args: A) => Promise<Awaited<R>> {
  if (typeof fn !== 'function') throw new InvalidArgumentError('fn', 'a function', fn);
  checkOptions(options, EXAMPLE);
  // A function, not an arrow: a wrapped method keeps its `this` (`obj.get = withRetry(function () {...})`).
  return function (this: This, ...args) {
    return retry(() => fn.apply(this, args) as Awaited<R> | PromiseLike<Awaited<R>>, options);
  };
}
