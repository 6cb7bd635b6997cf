/**
 * The circuit breaker: a state machine (closed -> open -> half-open -> closed) that stops calling a
 * dependency that keeps failing, and lets a bounded number of probes find out when it has recovered.
 *
 * Cost model: a call in the closed state allocates nothing of its own (the `{ signal }` it hands over
 * is shared by every call of the current state, and the clock is read only when a duration is needed);
 * a rejection allocates only the promise it returns (every rejection of an open episode shares one error). Open -> half-open happens on a timer and, lazily, on the first
 * look after the open period, so a fake or throttled clock cannot leave it stuck.
 */
import { type Clock, InvalidArgumentError, systemClock, type TimerHandle } from '@integ/core';
import { type CircuitOpenError, openError } from './errors.js';
import type { WindowFactory } from './window.js';

/** The three states of a breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What `execute(fn)` hands `fn`. */
export interface BreakerContext {
  /**
   * Aborts when the breaker gives up on the call: the half-open probe timed out (reason: a
   * DOMException named `TimeoutError`, as from `AbortSignal.timeout()`), the breaker was isolated (reason: a `CircuitOpenError`), or the caller's own
   * `signal` aborted (its reason). Pass it on to `fetch` and friends.
   */
  readonly signal: AbortSignal;
}

/** Per-call options of `execute` and `tryExecute`. */
export interface ExecuteOptions {
  /**
   * Aborts the call; the breaker forwards it to `fn`. The call then counts as nothing, unless the reason is
   * a timeout (named `TimeoutError`, or code `ERR_TIMEOUT`): that is a failure, with the reason as the error.
   * @default none (`null` too)
   */
  readonly signal?: AbortSignal | null | undefined;
}

/** What `tryExecute` resolves to: never a rejection. */
export type BreakerResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

/** Passed to `onSuccess`. */
export interface SuccessEvent {
  /** How long the call took, in ms on the breaker's clock. */
  readonly durationMs: number;
  /** Whether it was slower than `slowCallDuration`. */
  readonly slow: boolean;
  /** The state the call was admitted in. */
  readonly state: BreakerState;
}

/** Passed to `onFailure`. */
export interface FailureEvent extends SuccessEvent {
  /** The thrown error, or the value that `isResultFailure` flagged. */
  readonly error: unknown;
}

/** A serialisable picture of a breaker, to log, to show, or to start another breaker from. */
export interface BreakerSnapshot {
  readonly state: BreakerState;
  /** Held open by `isolate()`. */
  readonly isolated: boolean;
  /** When the open period ends (ms on the breaker's clock); `null` unless open and not isolated. */
  readonly openUntil: number | null;
  /** Trips since the breaker last closed (drives a growing `openFor`). */
  readonly trips: number;
  /** Failures in a row while closed. */
  readonly consecutiveFailures: number;
  /**
   * Calls, failures and slow calls in the current window; without a `window`, counted since the breaker
   * last closed (or was created, from the counts of its `initialState`). Only closed calls count: half-open
   * probes do not, so open and half-open keep the counts of the closed period, and closing resets them.
   */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
}

/** Options of {@link createBreaker}. Every one is optional. */
export interface BreakerOptions {
  /**
   * Consecutive failures that open the circuit, a whole number >= 1; `Infinity` turns this trigger off.
   * @default 5
   */
  readonly failureThreshold?: number | undefined;
  /**
   * How long the circuit stays open before admitting probes, in ms, or a function of the trip number
   * (1 for the first trip since the breaker last closed, 2 for the next, ...) for a growing backoff.
   * A failure carrying a numeric `retryAfterMs` (a server's Retry-After) sets the period instead. If the
   * function throws or returns no usable period (NaN, a negative or infinite number, anything but a
   * number), the circuit still opens, for 60_000 ms (at most `maxOpenFor`); the error is ignored.
   * @default 60_000
   */
  readonly openFor?: number | ((trip: number) => number) | undefined;
  /** Upper bound on any open period, including server hints. @default max(openFor, 600_000) */
  readonly maxOpenFor?: number | undefined;
  /**
   * A sliding window whose failure rate or slow-call rate can also open the circuit: `slidingWindow({...})`.
   * @default undefined (only consecutive failures count)
   */
  readonly window?: WindowFactory | undefined;
  /** Calls slower than this many ms are slow: counted by the window, and a slow probe fails. @default Infinity (off) */
  readonly slowCallDuration?: number | undefined;
  /**
   * Calls admitted as probes in the half-open state (a whole number, 1 to 1e6); others are rejected at once.
   * @default 1
   */
  readonly halfOpenProbes?: number | undefined;
  /**
   * Share of probes (1e-9 <= ratio <= 1) that must succeed to close; decided as soon as it is certain.
   * @default 1
   */
  readonly halfOpenSuccessRatio?: number | undefined;
  /**
   * A probe that has not settled after this many ms (1 to 2^31 - 1) counts as failed and its signal aborts.
   * @default 10_000
   */
  readonly probeTimeout?: number | undefined;
  /**
   * Whether an error counts as a failure; `false` counts the call as a success (the dependency answered).
   * A caller's timeout reaches it with the abort reason; other aborts never do: they are not counted at
   * all. It must answer `true` or `false` at once: if it throws or answers anything else (an async predicate's
   * Promise), the error counts as a failure.
   * @default () => true
   */
  readonly isFailure?: ((error: unknown) => boolean) | undefined;
  /**
   * Whether a returned value counts as a failure (it is still returned). It must answer `true` or `false` at
   * once: if it throws or answers anything else (an async predicate's Promise), the value counts as a success.
   * @default undefined
   */
  readonly isResultFailure?: ((value: unknown) => boolean) | undefined;
  /**
   * Where time and timers come from: `now`, `setTimeout` and `clearTimeout` methods. One that throws fails a
   * call with its error only before `fn` runs (taking no probe slot); after, `fn`'s outcome wins (decision 0126).
   * @default systemClock
   */
  readonly clock?: Clock | undefined;
  /**
   * Start from a snapshot (e.g. one saved before a serverless instance was recycled): state, open period,
   * isolation, trips, consecutive failures and the counts carry over. Without a `window`, `calls`,
   * `failures` and `slowCalls` as they were; a `window` gets them through its optional `restore` (a
   * `slidingWindow` count window holds the newest `size` of them with the failures and slow calls spread
   * evenly, a time window puts them in its current bucket; a window without `restore` starts empty).
   * Restoring trips nothing and runs no hook. Missing fields read as 0; a missing `openUntil` of an open
   * snapshot means a full open period from now. `createBreaker` throws `InvalidArgumentError`
   * (`initialState`) for an unknown state, a count that is not a whole number >= 0, or counts that
   * contradict each other (`failures` or `slowCalls` above `calls`; with a window, `slowCalls` above `failures`).
   * @default undefined (a new breaker: closed, no counts)
   */
  readonly initialState?:
    | (Pick<BreakerSnapshot, 'state'> & {
        readonly [K in keyof BreakerSnapshot]?: BreakerSnapshot[K] | undefined;
      })
    | undefined;
  /**
   * Called after every state change. Hooks are not awaited; a hook that throws or rejects is ignored.
   * @default none
   */
  readonly onStateChange?: ((to: BreakerState, from: BreakerState) => void) | undefined;
  /**
   * Called for every call rejected without running (the rejections of one open episode share one error).
   * @default none
   */
  readonly onReject?: ((error: CircuitOpenError) => void) | undefined;
  /** Called when a call succeeds. @default none */
  readonly onSuccess?: ((event: SuccessEvent) => void) | undefined;
  /**
   * Called when a call fails, a caller's timeout included (other aborts are neither successes nor failures).
   * @default none
   */
  readonly onFailure?: ((event: FailureEvent) => void) | undefined;
}

/** A circuit breaker. */
export interface Breaker {
  /** The current state (an expired open period reads as `'half-open'`). */
  readonly state: BreakerState;
  /**
   * Runs `fn` if the breaker admits the call, and counts its outcome.
   * @throws {CircuitOpenError} when the call is rejected; otherwise whatever `fn` throws
   * @throws {InvalidArgumentError} when `fn` is not a function or `signal` not an `AbortSignal` (`fn` does not run)
   * @throws the clock's error when a method of `clock` throws before `fn` runs (`fn` does not run; decision 0126)
   * @throws the signal's error when a stub's `addEventListener` throws (`fn` does not run)
   */
  execute<T>(fn: (context: BreakerContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T>;
  /**
   * Like `execute`, but resolves to `{ ok: true, value }` or `{ ok: false, error }` and never rejects (a bad
   * `fn` or `signal` gives `{ ok: false, error }` with the InvalidArgumentError).
   */
  tryExecute<T>(
    fn: (context: BreakerContext) => T | PromiseLike<T>,
    options?: ExecuteOptions,
  ): Promise<BreakerResult<T>>;
  /** The state and counts, as plain JSON-safe data. */
  snapshot(): BreakerSnapshot;
  /**
   * Holds the circuit open until released: aborts calls in flight and rejects new ones. Returns the
   * release function; the breaker closes when every isolation is released (or on `reset()`).
   */
  isolate(): () => void;
  /** Closes the circuit and forgets all counts, trips and isolations; results of calls in flight are ignored. */
  reset(): void;
}

/**
 * Internal (not exported from the package): the registry calls `breaker[DISARM]()` on a breaker it evicts,
 * to clear its open -> half-open timer and arm none later (a call in flight at the eviction can still trip
 * it): that timer is the one thing outside that would keep an evicted breaker alive. `breaker[DISARM](1)`
 * disarms nothing: it is how the registry's search for a victim reads the state (0 closed), as it is,
 * without the lazy move to half-open that reading `state` makes, which runs `onStateChange`, whose
 * `registry.get()` would change the map under the search. Open and half-open are alike to that search.
 * Both in one method: a second symbol and getter cost 3 B more gzip. `breaker[DISARM](2)` is the `state` getter's
 * reading: with that lazy move, disarming nothing.
 */
export const DISARM: unique symbol = Symbol();
/** A breaker as the registry sees it (see DISARM). */
export type Disarmable = Breaker & { [DISARM](peek?: 1 | 2): number };
// `state` is a getter on a prototype all breakers share: a getter in each breaker's own literal gave every breaker a
// hidden class (map and descriptors) of its own, ~360 B each (decision 0227). It reads the state through
// `[DISARM](2)` (move to half-open if due, disarm nothing): a method of its own cost each breaker a closure, ~56 B.
const SHARED = {
  get state(): BreakerState {
    return STATES[(this as unknown as Disarmable)[DISARM](2)]!;
  },
};

const CLOSED = 0;
const OPEN = 1;
const HALF = 2;
const STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];
const MAX_TIMER = 2 ** 31 - 1;

// How a call ended (literals, not an enum, so they minify to digits): 0 it returned, 1 it threw (or the
// caller's signal aborted it with a timeout), 2 it was aborted otherwise, 3 (a probe) it timed out.
type Outcome = 0 | 1 | 2 | 3;

type Fn<T> = (context: BreakerContext) => T | PromiseLike<T>;

const ok = <T>(value: T): BreakerResult<T> => ({ ok: true, value });
const fail = (error: unknown): BreakerResult<never> => ({ ok: false, error });
const resolveFailure = async (error: unknown): Promise<BreakerResult<never>> => fail(error);
const RESOLVED = Promise.resolve();
/** Drops an async hook's rejection (see `emit`); the registry drops `onEvict`'s with it. */
export const ignore = (): void => {};
/** Returns `value`, its rejection dropped if it is a Promise: user code gone async where nothing awaits it. */
export const drop = <T>(value: T): T => {
  (value as PromiseLike<unknown> | null | undefined)?.then?.(ignore, ignore);
  return value;
};
// Hooks run through this only when set; a throwing hook must not leave the state machine half-updated.
// An async hook is not awaited, and its rejection is dropped here: left unhandled, it ends a Node process.
// At module level, not in createBreaker: it reads nothing of a breaker, and a closure there costs each breaker ~56 B.
const emit = (call: () => unknown): void => {
  try {
    drop(call());
  } catch {}
};
// A clearTimeout that throws (a browser's unbound window.clearTimeout: 'Illegal invocation') is ignored:
// thrown from a transition, it replaced fn's error and left the state half-updated. A timer it failed to
// clear is harmless: the open -> half-open one re-checks the state, a probe's finds the probe settled.
// At module level, as emit (the clock passed in): a closure in createBreaker cost each breaker ~56 B.
const clear = (clock: Clock, handle: TimerHandle | undefined): void => emit(() => clock.clearTimeout(handle));
// The open period of trip number `trip`: the `openFor` number, or what an `openFor` function answers. A backoff
// that throws, or returns no usable period (NaN, negative, infinite, a BigInt, not a number), still opens the
// circuit for the default period (within maxOpenFor), and its error is ignored like a throwing hook's: thrown from
// the trip, it left the breaker closed with one trip counted too many, and failed the call with openFor's error
// instead of fn's (or a probe timer with it); NaN opened for 0 ms, a probe after every failure of a sick dependency
// (decisions 0024, 0123). Through emit, like a hook: a throw is ignored, and so is an async backoff's rejection (its
// Promise is no period), which left unhandled ends a Node process. At module level, as emit: a closure in
// createBreaker cost each breaker ~56 B.
const period = (given: BreakerOptions['openFor'], trip: number): number => {
  // Not a function: a number createBreaker has checked, or none.
  if (typeof given !== 'function') return given ?? 60_000;
  let ms: unknown;
  emit(() => (ms = given(trip)));
  return typeof ms === 'number' && ms >= 0 && ms < Infinity ? ms : 60_000;
};
// Rejecting one microtask later, once the caller's `await` or `.then` is attached, spares Node's
// unhandled-rejection bookkeeping, which otherwise costs more than the whole rejection. A `.then` on a
// settled promise is that microtask at less cost than `queueMicrotask` (which makes an AsyncResource in Node).
const rejectLater = (error: unknown): Promise<never> =>
  new Promise((_, reject) => RESOLVED.then(() => reject(error)));
// The breaker's reporting timer does not keep a Node process alive (`unref` where the runtime has it).
const unref = (handle: TimerHandle): TimerHandle => {
  (handle as { unref?: () => void } | null)?.unref?.();
  return handle;
};
// A timeout: @integ/core's TimeoutError (by code too, as a minifier renames classes) or the DOMException of
// AbortSignal.timeout(). A caller's signal aborted with one is a dependency that did not answer in time.
// Read only through emit: a reason whose properties cannot be read (null, a revoked Proxy) throws there: no timeout.
const isTimeout = (reason: unknown): boolean =>
  (reason as { name?: unknown }).name === 'TimeoutError' ||
  (reason as { code?: unknown }).code === 'ERR_TIMEOUT';

/**
 * Internal (not exported from the package): an options argument of `createBreaker`, `slidingWindow`,
 * `createBreakerRegistry` or a registry's per-key function. `null` or `undefined` is none, as in @integ/retry (a
 * config read from JSON); anything but an object (a JSON string not parsed, a number, a function not called) or a
 * Promise (a config loader not awaited, its rejection dropped: left unhandled, it ends a Node process) throws:
 * read as an object without options, every default applied silently.
 */
export const optionsOf = <T extends object>(value: T | null | undefined): T => {
  drop(value);
  if (
    value != null &&
    (typeof value !== 'object' || typeof (value as PromiseLike<unknown>).then === 'function')
  )
    throw new InvalidArgumentError('options', 'an options object', value);
  return value ?? ({} as T);
};

/**
 * Internal (not exported from the package): readings of `clock` that never step back. A clock is
 * `Date.now()` by default, a wall clock that NTP, a resumed VM or an operator can set back: read as is, a
 * step back of a day held a 1 s open period (and its retryAfterMs) for a day, past maxOpenFor, kept a time
 * window's calls and a registry's idle breakers a day, and made durations negative. A step back is added
 * to every later reading. What is lost is the time between the last reading before the step and the
 * first after it: from that first reading, an open period lasts at most what was left of it at the last.
 */
export const steady = (clock: Clock): ((lenient?: 1) => number) => {
  let last = -Infinity;
  let behind = 0;
  return (lenient) => {
    let now!: number;
    try {
      now = clock.now();
    } catch (error) {
      if (!lenient) throw error;
    }
    // No time has passed since the last reading (0 if there was none) for a reading that is not a finite number
    // (NaN made an open period NaN: open for good; Infinity, or -Infinity as a step back, made every later
    // reading Infinity: every open period over at once, for good), and for a clock that threw in a `lenient`
    // read, one made after fn ran, whose outcome the clock's error must not replace (decision 0126).
    if (!(now - now === 0)) return last > -Infinity ? last + behind : 0;
    if (now < last) behind += last - now;
    last = now;
    return now + behind;
  };
};

/**
 * Creates a circuit breaker. With no options it opens after 5 consecutive failures and stays open for
 * 60 s, then admits one probe: a success closes it, a failure opens it again.
 *
 * @throws {InvalidArgumentError} for an option out of range, or `options` that is not an object (a string, a Promise)
 * @example
 * ```ts
 * const breaker = createBreaker({ failureThreshold: 5, openFor: 30_000 });
 * const user = await breaker.execute(({ signal }) => fetch(`${api}/users/1`, { signal }));
 * ```
 */
export function createBreaker(options: BreakerOptions | null = {}): Breaker {
  // `null` is no options, as in @integ/retry (a config read from JSON), not a TypeError on its first field.
  // Read into `o`: the parameter itself, captured by the checks below, sat in a context of its own (its default
  // value gives the parameters a scope apart), ~40 B per breaker.
  const o = optionsOf(options);
  const clock = o.clock ?? systemClock;
  // Checked here like every option: a clock without its methods failed a call mid-transition (a TypeError
  // instead of fn's error, the state half-updated), and every later call, at the next transition.
  if (![clock.now, clock.setTimeout, clock.clearTimeout].every((f) => typeof f === 'function'))
    throw new InvalidArgumentError('clock', 'a Clock', clock);
  const time = steady(clock);
  const num = (
    name: keyof BreakerOptions,
    fallback: number,
    min: number,
    max = MAX_TIMER,
    int?: 1,
  ): number => {
    const value = (o[name] ?? fallback) as number;
    // A string would pass the range test by coercion and then concatenate (`now + '5000'`).
    if (typeof value !== 'number' || !(value >= min && value <= max) || (int && value % 1))
      throw new InvalidArgumentError(name, `a number in [${min}, ${max}]`, value);
    return value;
  };
  const threshold = num('failureThreshold', 5, 1, Infinity, 1);
  const given = o.openFor;
  const fixed = typeof given === 'function' ? 0 : num('openFor', 60_000, 0);
  const maxOpen = num('maxOpenFor', Math.max(fixed, 600_000), 0);
  const slowMs = num('slowCallDuration', Infinity, 0, Infinity);
  const probes = num('halfOpenProbes', 1, 1, 1e6, 1);
  // Less a rounding error: 0.55 * 100 is 55.00000000000001 in floating point, and 55 successes are 55 %.
  // At least one: the smallest ratio (1e-9) of one probe would otherwise need none, and a failed probe close.
  const needed = Math.ceil(num('halfOpenSuccessRatio', 1, 1e-9, 1) * probes - 1e-9) || 1;
  const probeTimeout = num('probeTimeout', 10_000, 1);
  // Checked here, not at the first call: a hook or predicate of the wrong type would otherwise be
  // swallowed by the guard that keeps a throwing one from corrupting the state machine.
  const fnOf = <K extends keyof BreakerOptions>(name: K): BreakerOptions[K] => {
    const value = o[name];
    if (value != null && typeof value !== 'function')
      throw new InvalidArgumentError(name, 'a function', value);
    return value;
  };
  const isFailure = fnOf('isFailure');
  const isResultFailure = fnOf('isResultFailure');
  const onStateChange = fnOf('onStateChange');
  const onReject = fnOf('onReject');
  const onSuccess = fnOf('onSuccess');
  const onFailure = fnOf('onFailure');
  const win = fnOf('window')?.();
  // `window: slidingWindow` (not called) is a function too, and what it returns is no window: every call
  // would run and then fail with a TypeError instead of returning fn's value.
  if (o.window && typeof win?.record !== 'function')
    throw new InvalidArgumentError('window', 'slidingWindow()', o.window);
  // Durations are measured only when something reads them.
  const timed = slowMs < Infinity || onSuccess || onFailure;

  let state = CLOSED;
  let gen = 0; // bumped on every transition: results of calls from an older generation are ignored
  let consecutive = 0;
  // Outcomes counted since the breaker last closed (what snapshot() reports when there is no window).
  let calls = 0;
  let failures = 0;
  let slowCalls = 0;
  let trips = 0;
  let openUntil!: number;
  let isolations = 0;
  let isolationEpoch = 0;
  let timer: TimerHandle | undefined;
  // Set by a registry that evicted this breaker: it arms no timer any more (see DISARM).
  let disarmed = false;
  let admitted = 0;
  let good = 0;
  let bad = 0;
  let probeDeadline!: number;
  // The error every rejection of the current episode shares (made at its first rejection, forgotten on
  // every transition): building a native Error costs more than all the rest of a rejection.
  let episode: CircuitOpenError | undefined;
  // Controllers of the calls in flight that have their own (probes, calls with a caller signal), of
  // every generation since the last reset(): isolate() aborts them all; each leaves when it settles.
  // Made by the first such call: an empty Set and its table cost each breaker ~150 B, and most never make one.
  let inFlight: Set<AbortController> | undefined;
  // Shared by closed calls, so a call allocates nothing of ours: the signal they get (kept across
  // transitions until isolate() aborts it or reset() forgets it, so that isolate() reaches calls of
  // earlier closed periods too), and the handlers that count their outcomes (made once per generation).
  let controller: AbortController | undefined;
  let context: BreakerContext | undefined;
  let onValue: (value: unknown) => unknown;
  let onError: (error: unknown) => never;

  const fresh = (): AbortController => {
    const g = gen;
    controller ??= new AbortController();
    context = { signal: controller.signal };
    onValue = (value) => {
      // The common case in full: a success with nothing else to count.
      if (isResultFailure || win) record(g, CLOSED, 0, 0, value);
      else if (g === gen) {
        consecutive = 0;
        calls++;
      }
      return value;
    };
    onError = (error) => {
      record(g, CLOSED, 0, 1, error);
      throw error;
    };
    return controller;
  };

  const setState = (to: number): void => {
    const from = state;
    gen++;
    state = to;
    clear(clock, timer);
    context = episode = undefined;
    admitted = good = bad = 0;
    if (to === CLOSED) {
      consecutive = trips = calls = failures = slowCalls = 0;
      // A custom window's clear that throws must not leave the transition half-done (decision 0128).
      emit(() => win?.clear());
    } else if (to === OPEN) arm();
    if (onStateChange && from !== to) emit(() => onStateChange(STATES[to]!, STATES[from]!));
  };

  const poll = (): number => {
    const now = time();
    if (state === OPEN && !isolations && now >= openUntil) setState(HALF);
    return now;
  };

  // The open -> half-open timer (cleared by every transition), only to fire onStateChange on time: without
  // the hook, poll() moves the state when it is next looked at, and an open breaker holds no timer (a
  // registry's evicted breakers are garbage at once, and so are those that trip after their eviction).
  // Timers may fire a little before the clock agrees, so it re-arms; at least 1 ms, or an early timer
  // would spin until the clock moves. It clears the one armed before: the hook run by that re-arming poll()
  // can trip the breaker again (a probe whose fn throws at once), which arms one already.
  // A clock that throws here (setTimeout, or now) arms nothing: the move is made on the next look, as without
  // the hook; in the timer, it must not be thrown out of a timer callback (an uncaught exception).
  const arm = (): void => {
    if (onStateChange && !isolations && !disarmed)
      emit(() => {
        clear(clock, timer);
        timer = unref(
          clock.setTimeout(() => emit(() => poll() < openUntil && arm()), Math.max(1, openUntil - time())),
        );
      });
  };

  /** Counts one settled call that started in generation `g` in state `from`: how it ended, and with what. */
  const record = (g: number, from: number, start: number, outcome: Outcome, subject: unknown): void => {
    // An abort, or a rejection with a DOMException or Error named AbortError, is not an outcome: it frees
    // the probe slot for someone else.
    // Read like a predicate: a `name` that throws (a revoked Proxy, a lazy getter of an RPC error) is no
    // abort. Thrown from here, it replaced fn's error, left the failure uncounted and a probe's slot taken.
    let aborted = outcome === 2;
    if (outcome === 1) emit(() => (aborted = (subject as { name?: unknown } | null)?.name === 'AbortError'));
    if (aborted) {
      if (from === HALF && g === gen) admitted--;
      return;
    }
    // A predicate that throws (`e.response.status` of a network error) leaves the plain reading: an
    // error is a failure, a value a success. Otherwise a half-open probe would never be counted.
    // Only `true` or `false` is an answer, from either predicate: anything else (an async predicate's Promise,
    // undefined, 0) leaves that reading too, and emit drops the Promise's rejection, which left unhandled ends a
    // Node process (decision 0127).
    let failed = outcome > 0;
    if (outcome < 3)
      emit(() => {
        const answer = (outcome ? isFailure : isResultFailure)?.(subject);
        if (answer === !!answer) failed = answer;
        return answer;
      });
    let slow = false;
    if (timed) {
      const durationMs = time(1) - start;
      slow = durationMs > slowMs;
      const event = { durationMs, slow, state: STATES[from]! };
      emit(() => (failed ? onFailure?.({ ...event, error: subject }) : onSuccess?.(event)));
    }
    if (g !== gen) return;
    if (state === CLOSED) {
      consecutive = failed ? consecutive + 1 : 0;
      calls++;
      if (failed) failures++;
      if (slow) slowCalls++;
      // A custom window's answer is read like a predicate's (decision 0128): only `true` trips; a throw or any
      // other answer (an async record's Promise) is none, its rejection dropped. Thrown from here, it replaced
      // fn's outcome, skipped the trip, and out of an abort listener was an uncaught exception.
      let open: unknown;
      try {
        open = drop(win?.record(failed, slow, time(1)));
      } catch {}
      if (!(open === true || consecutive >= threshold)) return;
    } else {
      if (failed || slow) bad++;
      else good++;
      if (good >= needed) {
        setState(CLOSED);
        return;
      }
      if (bad <= probes - needed) return;
    }
    // Trip. A failure carrying a server hint (Retry-After) sets the open period. Read like a predicate: a
    // getter that throws (a lazy `this.response.headers...` of a network error) is no hint; thrown from
    // here, it replaced fn's error and left the breaker closed for ever, or half-open with its slot taken.
    let hint: unknown;
    if (failed) emit(() => (hint = (subject as { retryAfterMs?: unknown }).retryAfterMs));
    // That getter, a custom window's record() or openFor made a transition (reset(), isolate()): it stands.
    // Tripping over it left a breaker open with 0 trips after reset(), or counted a trip an isolation never had;
    // and openFor is not asked for a trip that is not made (a backoff that counts or logs its trips saw one).
    if (g !== gen) return;
    const ms = Math.min(typeof hint === 'number' && hint >= 0 ? hint : period(given, trips + 1), maxOpen);
    if (g !== gen) return;
    trips++;
    openUntil = time(1) + ms;
    setState(OPEN);
  };

  // The hot path: a closed call without a caller signal or timing. `.then` with the generation's
  // handlers costs less than an async wrapper (one promise hop fewer) and needs no closure.
  function run<T>(fn: Fn<T>, signal?: AbortSignal | null): Promise<T> {
    if (state || signal || timed) return guarded(fn, signal);
    if (!context) fresh();
    // The handlers of the generation the call starts in: fn itself can make a transition (reset(), an
    // isolation released) and start a call that makes the next generation's, which would count this one.
    const settled = onValue;
    const failed = onError;
    let result: T | PromiseLike<T>;
    try {
      result = fn(context!);
    } catch (error) {
      result = Promise.reject(error);
    }
    return Promise.resolve(result).then(settled, failed) as Promise<T>;
  }

  /** A half-open probe (own signal and timeout), a call with the caller's signal, or a timed call. */
  async function guarded<T>(fn: Fn<T>, signal?: AbortSignal | null): Promise<T> {
    const g = gen;
    const from = state;
    let start = 0;
    // Whether fn was called: a clock that throws before (a probe's timer, a timed call's start) fails the
    // call with its error, uncounted, and frees the probe slot (decision 0126).
    let ran = 0;
    // A probe or a call with a caller signal gets its own controller; other closed calls share one.
    const own = from === HALF || signal ? new AbortController() : (controller ?? fresh());
    inFlight ??= new Set();
    inFlight.add(own);
    const forward = (): void => own.abort(signal?.reason);
    let probeTimer: TimerHandle | undefined;
    let settled = false;
    // Counts the call once: whichever comes first of its outcome and (a probe) its timeout.
    const settle = (outcome: Outcome, subject: unknown): void => {
      clear(clock, probeTimer);
      inFlight?.delete(own);
      // A stub's removeEventListener that throws must not replace fn's outcome nor keep a probe's slot (b8d13d2).
      try {
        signal?.removeEventListener('abort', forward);
      } catch {}
      if (!settled) {
        settled = true;
        // A call whose signal aborted (the caller's, or isolate(), which also reaches the shared signal of
        // closed calls, where we have no listener) is over for the breaker however fn ends, and counts by
        // the reason, whichever of the abort and fn's rejection with it came first: a caller's timeout is a
        // failure, anything else nothing. (A probe's own timeout has counted it before aborting.)
        if (own.signal.aborted) {
          subject = own.signal.reason;
          outcome = 2;
          // A reason whose properties cannot be read (as above) is no timeout: thrown from the abort
          // listener, it was an uncaught exception, and left the probe's slot taken.
          emit(() => (outcome = isTimeout(subject) ? 1 : 2));
        }
        record(g, from, start, outcome, subject);
      }
    };
    // Once its own controller aborts (the caller's signal, isolate(), the probe timeout), the call is
    // over for the breaker even if fn never settles: the probe timer and the caller's signal are freed at
    // once, and the probe slot too unless the reason was a caller's timeout (then a failed probe).
    if (own !== controller) own.signal.addEventListener('abort', () => settle(2, 0));
    try {
      // No `once` needed: a signal fires 'abort' at most once, and settle() removes the listener anyway. In the
      // try: a stub's addEventListener that throws fails the call with its error before fn runs, taking nothing.
      signal?.addEventListener('abort', forward);
      // A caller signal that is already aborted: reject with its reason without running fn, and count
      // nothing, even for a timeout (the dependency was never asked; the catch sees the signal aborted).
      if (signal?.aborted) throw signal.reason;
      if (timed) start = time();
      // Not unref'd, unlike the reporting timer: it settles a call somebody awaits, and unref'd it let Node exit
      // first when the probe waited on nothing else (review-35.test.ts).
      if (from === HALF)
        probeTimer = clock.setTimeout(() => {
          // Left armed by a clearTimeout that threw: a settled probe's signal stays as it is (a fetch
          // body still being read would fail).
          if (settled) return;
          // The reason AbortSignal.timeout() uses: a DOMException named TimeoutError.
          const error = new DOMException(`Probe timed out after ${probeTimeout} ms`, 'TimeoutError');
          settle(3, error);
          own.abort(error);
        }, probeTimeout);
      ran = 1;
      const value = await fn({ signal: own.signal });
      settle(0, value);
      return value;
    } catch (error) {
      settle(!ran || signal?.aborted ? 2 : 1, error);
      throw error;
    }
  }

  // The episode's error, with what a rejection now would carry: ms until the breaker admits a call again (the
  // error reads it live, so it is right whenever it is read, and 0 once calls are admitted again). While every
  // probe slot is taken (only ever in half-open), at least 1: past the last probe's deadline, a throttled
  // timer has not counted it yet, and 0 would send the caller straight back into this rejection. That reader
  // is made with the episode's error, not with the breaker: a closure each breaker held, rejecting or not.
  const rejection = (): CircuitOpenError =>
    (episode ??= openError(
      () =>
        isolations
          ? Infinity
          : Math.max(
              +(admitted >= probes),
              Math.ceil(
                (state === OPEN ? openUntil : admitted >= probes ? probeDeadline : -Infinity) - time(),
              ),
            ),
      !!isolations,
    ));

  /** Runs `fn` unless the breaker rejects it; `rejected` turns the rejection into the return value. */
  const admit = <R>(
    fn: unknown,
    signal: AbortSignal | null | undefined,
    rejected: (error: unknown) => Promise<R>,
  ): Promise<R> | undefined => {
    if (typeof fn !== 'function') return rejected(new InvalidArgumentError('fn', 'a function', fn));
    // Before a probe slot is taken: a signal we cannot listen to (or stop listening to: a stub without
    // removeEventListener failed the call as it settled, fn's value lost) would fail the call and leave the slot
    // (and the call's controller) held for ever.
    if (
      signal != null &&
      (typeof signal.addEventListener !== 'function' || typeof signal.removeEventListener !== 'function')
    )
      return rejected(new InvalidArgumentError('signal', 'an AbortSignal', signal));
    if (!state) return;
    // A clock whose now() throws rejects the call with its error (execute never throws), taking no slot.
    try {
      poll();
      // Closed again: the move to half-open ran onStateChange, whose hook may have closed the breaker (reset(),
      // an isolation made and released); the call then runs, not turned away by a closed breaker.
      if (!state) return;
      if (state === HALF && admitted < probes) {
        // The last admitted probe's timeout: by then every probe in flight has been counted.
        probeDeadline = time() + probeTimeout;
        admitted++;
        return;
      }
    } catch (error) {
      return rejected(error);
    }
    const error = rejection();
    if (onReject) emit(() => onReject(error));
    return rejected(error);
  };

  const snap = o.initialState;
  if (snap) {
    // A snapshot comes from storage: check it like any other input. Missing fields read as 0.
    state = STATES.indexOf(snap.state);
    // Numbers or numeric strings, read as numbers (not concatenated: '3' + 1); anything else (an array, a
    // boolean, an object with valueOf) becomes NaN and is refused, and so are counts that are not whole
    // (JSON's 1e999 is Infinity). No longer open than maxOpenFor from now: a timer cannot wait longer than
    // ~24.8 days (Node fires it after 1 ms instead, and re-arming would spin). Isolated only by `true`.
    // A blank string is no number either, though `+''` is 0 (an open period over, or no trips).
    const read = (value: unknown): number =>
      typeof value === 'number' || (typeof value === 'string' && value.trim())
        ? +(value as string)
        : value == null
          ? 0
          : Number.NaN;
    // A count: NaN unless whole (Infinity % 1 is NaN too), which fails `>= 0` below.
    const count = (value: unknown): number => (read(value) % 1 === 0 ? read(value) : Number.NaN);
    consecutive = count(snap.consecutiveFailures);
    trips = count(snap.trips);
    calls = count(snap.calls);
    failures = count(snap.failures);
    slowCalls = count(snap.slowCalls);
    isolations = +(snap.isolated === true);
    // openFor is asked only for an open period to come: asked for a closed, half-open or isolated snapshot, a
    // backoff that counts or logs its trips saw a trip at every restart.
    openUntil = Math.min(
      snap.openUntil == null
        ? time() + (state - OPEN || isolations ? 0 : period(given, trips || 1))
        : read(snap.openUntil),
      time() + maxOpen,
    );
    // The counts agree with each other: a window's failures include its slow calls, without one they need not.
    // openUntil only has to be a number (not NaN: it is at most now + maxOpen, so below Infinity): one below 0,
    // -Infinity (JSON's -1e999) included, is a period that has ended, or the snapshot of a breaker on a clock
    // that reads below 0, which restored as garbage.
    if (
      !(
        Math.min(
          state,
          consecutive,
          trips,
          openUntil < Infinity ? 0 : -1,
          slowCalls,
          failures - (win ? slowCalls : 0),
          calls - failures,
          calls - slowCalls,
        ) >= 0
      )
    )
      throw new InvalidArgumentError('initialState', 'a snapshot() of a breaker', snap);
    // Counts only: a window that holds them (restore is optional) decides nothing until the next call.
    // An async restore's rejection is dropped (left unhandled, it ends a Node process); a throw is createBreaker's.
    drop(win?.restore?.({ calls, failures, slowCalls }, time()));
    if (isolations) state = OPEN;
    else if (state === OPEN) arm();
  }

  const breaker = {
    execute: <T>(fn: Fn<T>, opts?: ExecuteOptions): Promise<T> =>
      admit<T>(fn, opts?.signal, rejectLater) ?? run(fn, opts?.signal),
    tryExecute: <T>(fn: Fn<T>, opts?: ExecuteOptions): Promise<BreakerResult<T>> =>
      admit(fn, opts?.signal, resolveFailure) ?? run(fn, opts?.signal).then(ok, fail),
    snapshot: (): BreakerSnapshot => {
      const now = poll();
      // A reading that is not a finite number is no time since the last (as in steady): NaN, Infinity or
      // -Infinity here was no finite openUntil.
      const read = clock.now();
      // User code first, the breaker's fields after: a window's counts() that makes a transition (reset(),
      // isolate()) left a picture of the breaker before it with the counts after. Asked again once then, so the
      // counts are of the window as the transition left it (reset() cleared it), and so when it made a call that
      // was counted at once (a timed call that threw): in consecutiveFailures, not in the counts.
      const g = gen;
      const c = calls;
      // An async counts' rejection is dropped, as restore's.
      let counted = drop(win?.counts(now));
      if (g - gen || c - calls) counted = drop(win?.counts(now));
      return {
        state: STATES[state]!,
        isolated: !!isolations,
        // On the clock as it reads now (the breaker's own time is ahead of it by any step back).
        openUntil: state === OPEN && !isolations ? openUntil - now + (read - read === 0 ? read : now) : null,
        trips,
        consecutiveFailures: consecutive,
        ...(counted ?? { calls, failures, slowCalls }),
      };
    },
    isolate(): () => void {
      let epoch = isolationEpoch;
      if (!isolations++) setState(OPEN);
      const reason = rejection();
      // Every call in flight, also those of earlier generations (a closed call still running when
      // the breaker tripped): isolating is for stopping traffic.
      for (const c of [controller, ...(inFlight ?? [])]) c?.abort(reason);
      controller = undefined;
      return () => {
        // Idempotent, and void after reset().
        if (epoch === isolationEpoch) {
          epoch = -1;
          if (!--isolations) setState(CLOSED);
        }
      };
    },
    reset(): void {
      isolations = 0;
      isolationEpoch++;
      // A fresh start: calls in flight are forgotten (their results ignored, isolate() no longer aborts
      // them), and closed calls get a new shared signal.
      controller = undefined;
      inFlight = undefined;
      setState(CLOSED);
    },
    [DISARM](peek?: 1 | 2): number {
      if (peek === 2) poll();
      else if (!peek) {
        disarmed = true;
        clear(clock, timer);
      }
      return state;
    },
    // Last: set first, the prototype and the symbol-keyed method moved the other methods out of the object into a
    // property array of their own (~30 B per breaker).
    __proto__: SHARED,
  } satisfies Omit<Breaker, 'state'> & {
    __proto__: typeof SHARED;
    [DISARM](peek?: 1 | 2): number;
  };
  return breaker as unknown as Breaker;
}
