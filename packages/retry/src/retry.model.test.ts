/**
 * A randomized model test of retry() and withRetry(): fast-check draws every option at once (attempts, each
 * backoff and jitter, timeout, deadline, a caller signal aborted at any moment, sync/async/never-settling
 * predicates, a budget shared by concurrent calls, server hints, hooks) and a script of what `fn` does on
 * each attempt. Everything runs on one fake clock. A small reference model, written from the README, says
 * what each call must do, event by event and at which fake time: the calls of fn, retryIf, retryOnResult and
 * the backoff, the attempt signal's aborts, budget requests, onRetry/onGiveUp payloads, cancelled bodies and
 * the settled outcome; the budget's answers are checked against their own model. The test fails when the two
 * disagree, and it counts the paths it went through so that each one is known to be exercised.
 *
 * Model rules (README): an attempt ends at the first of: fn (and retryOnResult, part of the attempt)
 * settling, its cut `min(timeout, time left to the deadline)` (TimeoutError; the deadline's when the time left
 * is not longer), or the caller's abort (its reason); a value fn returns after that is not judged. Same-time
 * order follows the timers' creation: the caller's abort (scheduled first) beats everything, the deadline's
 * timer (armed when the call starts) beats the attempt's timeout, a cut beats fn's timer. A failure is retried unless it is an abort or `retryable: false`, or retryIf says no; the last
 * attempt gives up with 'attempts'; the wait is the server's hint (retryAfterMs >= 0, else retry-after-ms,
 * else Retry-After seconds or HTTP-date relative to now) capped by maxRetryAfter, or else the backoff (results
 * above 2^31 - 1 capped, non-delays rejected with InvalidArgumentError); a wait >= the time left gives up with
 * 'deadline'; then the budget; then onRetry, the body of the Response retryOnResult rejected (or threw on) is
 * cancelled, and the wait runs. That body is cancelled too when the caller's abort cuts the retryIf judging it.
 * Throwing hooks, predicates and backoffs reject with their error, without onGiveUp, and cancel the body of the
 * Response turned down just before (0171), as a throwing onGiveUp does on any give-up but an abort (0172); a throwing retryOnResult is the attempt's failure. Decision 0016 says why the budget's answers are an input here.
 */
import { getEventListeners } from 'node:events';
import { type Clock, InvalidArgumentError, TimeoutError } from '@integ/core';
import {
  type AttemptContext,
  type Backoff,
  type BackoffContext,
  constant,
  decorrelated,
  exponential,
  type Jitter,
  linear,
  RejectedResultError,
  type RetryBudget,
  RetryError,
  type RetryOptions,
  retry,
  retryBudget,
  withRetry,
} from '@integ/retry';
import { createFakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

// ---------------------------------------------------------------------------------------------------------
// Scenarios

type HeaderHint = {
  readonly kind: 'headers';
  readonly on: 'self' | 'response';
  readonly plain: boolean;
  readonly ms: string | undefined;
  readonly ra:
    | { readonly seconds: number }
    | { readonly date: number }
    | { readonly junk: string }
    | undefined;
};
type Hint = { readonly kind: 'none' } | { readonly kind: 'retryAfterMs'; readonly ms: number } | HeaderHint;
type ErrorSpec =
  | { readonly kind: 'plain'; readonly hint: Hint }
  | { readonly kind: 'notRetryable' | 'abortError' | 'primitive' }
  | { readonly kind: 'response'; readonly hint: HeaderHint };
type ValueSpec = { readonly kind: 'plain' } | { readonly kind: 'response'; readonly hint: HeaderHint };
type Judge =
  | { readonly mode: 'sync'; readonly answer: boolean }
  | { readonly mode: 'async'; readonly after: number; readonly answer: boolean }
  | { readonly mode: 'never' }
  | { readonly mode: 'throw' };
type Decide = Judge | { readonly mode: 'reject'; readonly after: number };
interface Step {
  /** 'abort': fn aborts the caller's signal itself, then hangs */
  readonly fn: 'value' | 'reject' | 'throw' | 'hang' | 'abort';
  /** ms until fn settles; 0 = without a timer (a plain value when `sync`, else an already settled promise) */
  readonly after: number;
  readonly sync: boolean;
  /** fn rejects with its signal's reason when the signal aborts (else it ignores it) */
  readonly honour: boolean;
  readonly error: ErrorSpec;
  readonly value: ValueSpec;
  /** what retryOnResult does with this attempt's value */
  readonly judge: Judge;
  /** what retryIf does with this attempt's failure */
  readonly decide: Decide;
}
type BackoffSpec =
  | { readonly kind: 'default' }
  | { readonly kind: 'constant'; readonly ms: number }
  | {
      readonly kind: 'linear';
      readonly initial: number | undefined;
      readonly step: number | undefined;
      readonly max: number | undefined;
      readonly jitter: Jitter | undefined;
    }
  | {
      readonly kind: 'exponential';
      readonly initial: number | undefined;
      readonly factor: number | undefined;
      readonly max: number | undefined;
      readonly jitter: Jitter | undefined;
    }
  | { readonly kind: 'decorrelated'; readonly initial: number | undefined; readonly max: number | undefined }
  | {
      readonly kind: 'custom';
      readonly at: number;
      readonly bad: 'none' | 'huge' | 'nan' | 'negative' | 'string' | 'throw';
    };
interface CallSpec {
  readonly mode: 'retry' | 'withRetry';
  readonly startAt: number;
  readonly attempts: number | undefined;
  readonly backoff: BackoffSpec;
  readonly timeout: number | undefined;
  readonly deadline: number | undefined;
  readonly signal:
    | { readonly abortAt: number | 'before' | 'never'; readonly reason: 'default' | 'error' | 'string' }
    | undefined;
  readonly retryIf: boolean;
  readonly retryOnResult: boolean;
  readonly budget: boolean;
  readonly maxRetryAfter: number | undefined;
  /** onRetry throws at its `throwAt`-th call, aborts the caller's signal at its `abortAt`-th (0: never) */
  readonly onRetry: { readonly throwAt: number; readonly abortAt: number } | undefined;
  readonly onGiveUp: { readonly throws: boolean } | undefined;
  readonly steps: readonly Step[];
  readonly seed: number;
}
interface Scenario {
  readonly calls: readonly CallSpec[];
  readonly budget: { readonly ratio: number; readonly minPerSecond: number; readonly ttl: number };
}

/** The fake clock starts here (a whole second, so HTTP-dates are exact). */
const E = 1_000_000;
const MAX_DELAY = 2 ** 31 - 1;
/** What fn does after its script runs out: fail plainly after 25 ms (so `attempts: Infinity` moves time). */
const FILLER: Step = {
  fn: 'reject',
  after: 25,
  sync: false,
  honour: true,
  error: { kind: 'plain', hint: { kind: 'none' } },
  value: { kind: 'plain' },
  judge: { mode: 'sync', answer: false },
  decide: { mode: 'sync', answer: true },
};
const stepOf = (spec: CallSpec, attempt: number): Step => spec.steps[attempt - 1] ?? FILLER;

const opt = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 3 });
const jitterArb = fc.constantFrom<Jitter>('none', 'full', 'equal');
const headerHintArb: fc.Arbitrary<HeaderHint> = fc.record({
  kind: fc.constant('headers' as const),
  on: fc.constantFrom('self' as const, 'response' as const),
  plain: fc.boolean(),
  ms: opt(fc.constantFrom('0', '30', '250', 'x1')),
  ra: opt(
    fc.oneof(
      fc.integer({ min: 0, max: 2 }).map((seconds) => ({ seconds })),
      fc.integer({ min: 0, max: 3 }).map((date) => ({ date })),
      fc.constantFrom('soon', 'Wed, 21 Oct 2015').map((junk) => ({ junk })),
    ),
  ),
});
const hintArb: fc.Arbitrary<Hint> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: -50, max: 700 }).map((ms) => ({ kind: 'retryAfterMs' as const, ms })),
  },
  { weight: 2, arbitrary: headerHintArb },
);
const errorArb: fc.Arbitrary<ErrorSpec> = fc.oneof(
  { weight: 8, arbitrary: hintArb.map((hint) => ({ kind: 'plain' as const, hint })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'notRetryable' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'abortError' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'primitive' as const }) },
  {
    weight: 2,
    arbitrary: headerHintArb.map((hint) => ({
      kind: 'response' as const,
      hint: { ...hint, on: 'self' as const, plain: false },
    })),
  },
);
const valueArb: fc.Arbitrary<ValueSpec> = fc.oneof(
  fc.constant({ kind: 'plain' as const }),
  headerHintArb.map((hint) => ({
    kind: 'response' as const,
    hint: { ...hint, on: 'self' as const, plain: false },
  })),
);
const answerArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(true) },
  { weight: 1, arbitrary: fc.constant(false) },
);
const afterArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 150 }));
const judgeArb: fc.Arbitrary<Judge> = fc.oneof(
  { weight: 3, arbitrary: answerArb.map((answer) => ({ mode: 'sync' as const, answer })) },
  {
    weight: 3,
    arbitrary: fc.record({ mode: fc.constant('async' as const), after: afterArb, answer: answerArb }),
  },
  { weight: 1, arbitrary: fc.constant({ mode: 'never' as const }) },
  { weight: 1, arbitrary: fc.constant({ mode: 'throw' as const }) },
);
const decideArb: fc.Arbitrary<Decide> = fc.oneof(
  { weight: 8, arbitrary: judgeArb },
  { weight: 1, arbitrary: afterArb.map((after) => ({ mode: 'reject' as const, after })) },
);
const stepArb: fc.Arbitrary<Step> = fc.record({
  fn: fc.constantFrom(
    'value' as const,
    'value' as const,
    'reject' as const,
    'reject' as const,
    'reject' as const,
    'throw' as const,
    'hang' as const,
    'hang' as const,
    'abort' as const,
  ),
  after: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })),
  sync: fc.boolean(),
  honour: fc.boolean(),
  error: errorArb,
  value: valueArb,
  judge: judgeArb,
  decide: decideArb,
});
const backoffArb: fc.Arbitrary<BackoffSpec> = fc.oneof(
  fc.constant({ kind: 'default' as const }),
  fc.record({ kind: fc.constant('constant' as const), ms: fc.integer({ min: 0, max: 200 }) }),
  fc.record({
    kind: fc.constant('linear' as const),
    initial: opt(fc.integer({ min: 0, max: 120 })),
    step: opt(fc.integer({ min: 0, max: 120 })),
    max: opt(fc.integer({ min: 0, max: 400 })),
    jitter: opt(jitterArb),
  }),
  fc.record({
    kind: fc.constant('exponential' as const),
    initial: opt(fc.integer({ min: 0, max: 120 })),
    factor: opt(fc.constantFrom(1, 1.5, 2, 3)),
    max: opt(fc.integer({ min: 0, max: 600 })),
    jitter: opt(jitterArb),
  }),
  fc.record({
    kind: fc.constant('decorrelated' as const),
    initial: opt(fc.integer({ min: 0, max: 120 })),
    max: opt(fc.integer({ min: 0, max: 600 })),
  }),
  fc.record({
    kind: fc.constant('custom' as const),
    at: fc.integer({ min: 1, max: 5 }),
    bad: fc.constantFrom(
      'none' as const,
      'none' as const,
      'huge' as const,
      'nan' as const,
      'negative' as const,
      'string' as const,
      'throw' as const,
    ),
  }),
);
const callArb: fc.Arbitrary<CallSpec> = fc
  .record({
    mode: fc.oneof(
      { weight: 4, arbitrary: fc.constant('retry' as const) },
      { weight: 1, arbitrary: fc.constant('withRetry' as const) },
    ),
    startAt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 })),
    attempts: fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: 1, max: 6 }),
      fc.constant(Number.POSITIVE_INFINITY),
    ),
    backoff: backoffArb,
    timeout: opt(fc.integer({ min: 1, max: 300 })),
    deadline: opt(fc.integer({ min: 1, max: 1500 })),
    signal: opt(
      fc.record({
        abortAt: fc.oneof(
          { weight: 1, arbitrary: fc.constant('before' as const) },
          { weight: 2, arbitrary: fc.constant('never' as const) },
          { weight: 6, arbitrary: fc.integer({ min: 1, max: 1500 }) },
        ),
        reason: fc.constantFrom('default' as const, 'error' as const, 'string' as const),
      }),
    ),
    retryIf: fc.boolean(),
    retryOnResult: fc.boolean(),
    budget: fc.boolean(),
    maxRetryAfter: opt(fc.integer({ min: 0, max: 800 })),
    onRetry: opt(
      fc.record({ throwAt: fc.integer({ min: 0, max: 8 }), abortAt: fc.integer({ min: 0, max: 6 }) }),
    ),
    onGiveUp: opt(fc.record({ throws: fc.oneof(fc.constant(false), fc.constant(false), fc.constant(true)) })),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }),
    seed: fc.integer(),
  })
  .map(sanitize);

/** Drops the combinations that would never settle (nothing can cut what never ends) or cannot exist. */
function sanitize(spec: CallSpec): CallSpec {
  const abortAt = spec.signal?.abortAt;
  const rescued = typeof abortAt === 'number';
  const cut = rescued || spec.timeout !== undefined || spec.deadline !== undefined;
  return {
    ...spec,
    attempts: spec.attempts === Number.POSITIVE_INFINITY && spec.deadline === undefined ? 6 : spec.attempts,
    onRetry:
      spec.onRetry && !(rescued || abortAt === 'never') ? { ...spec.onRetry, abortAt: 0 } : spec.onRetry,
    steps: spec.steps.map((step) => ({
      ...step,
      fn:
        (step.fn === 'hang' && !cut) || (step.fn === 'abort' && !(rescued || abortAt === 'never'))
          ? 'reject'
          : step.fn,
      // withRetry's fn gets its own arguments, not the attempt's signal
      honour: step.honour && spec.mode === 'retry',
      judge: step.judge.mode === 'never' && !cut ? { mode: 'async', after: 10, answer: true } : step.judge,
      decide:
        step.decide.mode === 'never' && !rescued ? { mode: 'async', after: 10, answer: true } : step.decide,
    })),
  };
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  calls: fc.array(callArb, { minLength: 1, maxLength: 3 }),
  budget: fc.record({
    ratio: fc.constantFrom(0, 0.1, 0.25, 0.5),
    minPerSecond: fc.integer({ min: 0, max: 8 }),
    ttl: fc.integer({ min: 100, max: 2000 }),
  }),
});

// ---------------------------------------------------------------------------------------------------------
// What a run records, normalized so the model can write the same thing

type Ev = { readonly type: string; readonly t: number } & Record<string, unknown>;

/** Objects the scenario created, by name: the model refers to them by these names. */
const labels = new WeakMap<object, string>();
/** The callers' signals of the running scenario: a platform-made abort reason is named after its call. */
let callers: { signal: AbortSignal; name: string }[] = [];
const label = <T extends object>(value: T, name: string): T => {
  labels.set(value, name);
  return value;
};

/** A comparable form: scenario objects by name, retry's own errors by their documented fields. */
function norm(x: unknown): unknown {
  if ((typeof x === 'object' && x !== null) || typeof x === 'function') {
    const name = labels.get(x) ?? callers.find((c) => c.signal.aborted && c.signal.reason === x)?.name;
    if (name !== undefined) return name;
    if (x instanceof RejectedResultError)
      return { rejected: norm(x.value), code: x.code, retryable: x.retryable };
    if (x instanceof RetryError)
      return {
        class: x.constructor.name,
        code: x.code,
        attempts: x.attempts,
        reason: x.reason,
        errors: x.errors.map(norm),
        cause: norm(x.cause),
        retryable: x.retryable,
        // the message says how many attempts and why, never the failure's message (it may hold secrets)
        message:
          x.message.includes(`${x.attempts} attempt`) &&
          x.message.includes(x.reason) &&
          !x.message.includes('secret'),
      };
    if (x instanceof TimeoutError)
      return `timeout:${x.timeoutMs}:${/deadline/i.test(x.message) ? 'deadline' : 'attempt'}:${x.retryable}`;
    if (x instanceof InvalidArgumentError) return `invalid:${x.argument}`;
    return `unknown:${Object.prototype.toString.call(x)}`;
  }
  return `p:${String(x)}`;
}

const headerEntries = (h: HeaderHint): [string, string][] => {
  const entries: [string, string][] = [];
  if (h.ms !== undefined) entries.push(['retry-after-ms', h.ms]);
  const ra = h.ra;
  if (ra)
    entries.push([
      'retry-after',
      'seconds' in ra
        ? String(ra.seconds)
        : 'date' in ra
          ? new Date(E + ra.date * 1000).toUTCString()
          : ra.junk,
    ]);
  return entries;
};

/** The user-written backoff of the scenarios: reads its whole context, misbehaves from attempt `at` on. */
function customBackoff(spec: Extract<BackoffSpec, { kind: 'custom' }>, name: string): Backoff {
  return ({ attempt, previousDelay, random }: BackoffContext) => {
    if (attempt >= spec.at)
      switch (spec.bad) {
        case 'huge':
          return 3e9;
        case 'nan':
          return Number.NaN;
        case 'negative':
          return -1;
        case 'string':
          return '5' as unknown as number;
        case 'throw':
          throw label(new Error(`secret backoff ${name}`), name);
        case 'none':
      }
    return Math.floor(random() * 60) + 10 * (attempt % 3) + (previousDelay > 100 ? 1 : 0);
  };
}

// ---------------------------------------------------------------------------------------------------------
// The run: every call of the scenario on one fake clock

interface BudgetEntry {
  readonly call: number;
  readonly t: number;
  readonly answer?: boolean;
}

let sharedSignal: AbortSignal;
const seenSignals = new WeakSet<AbortSignal>();

async function runScenario(
  scenario: Scenario,
): Promise<{ traces: Ev[][]; budgetLog: BudgetEntry[]; abortedAt: number[] }> {
  const clock = createFakeClock({ now: E });
  callers = [];
  const shared = retryBudget({ ...scenario.budget, clock });
  const budgetLog: BudgetEntry[] = [];
  const traces: Ev[][] = scenario.calls.map(() => []);
  // where in its trace each call's caller aborted
  const abortedAt: number[] = scenario.calls.map(() => Number.POSITIVE_INFINITY);
  const aborters: (() => void)[] = [];

  scenario.calls.forEach((spec, i) => {
    const trace = traces[i] as Ev[];
    const push = (type: string, fields: Record<string, unknown> = {}): void => {
      trace.push({ type, t: clock.now(), ...fields });
    };
    const controller = spec.signal ? new AbortController() : undefined;
    if (controller) callers.push({ signal: controller.signal, name: `abort${i}` });
    const abortCaller = (): void => {
      if (!controller || controller.signal.aborted) return;
      abortedAt[i] = trace.length;
      const reason = spec.signal?.reason;
      controller.abort(
        reason === 'error'
          ? label(new Error(`secret stop ${i}`), `abort${i}`)
          : reason === 'string'
            ? `stop${i}`
            : undefined,
      );
    };
    aborters.push(abortCaller);

    // retry's own timers, counted apart from the scenario's (fn's delays, slow predicates)
    const live = new Set<unknown>();
    const own: Clock = {
      now: () => clock.now(),
      setTimeout: (callback, ms) => {
        const handle = clock.setTimeout(() => {
          live.delete(handle);
          callback();
        }, ms);
        live.add(handle);
        return handle;
      },
      clearTimeout: (handle) => {
        live.delete(handle);
        clock.clearTimeout(handle);
      },
    };
    const budget: RetryBudget = {
      recordRequest() {
        budgetLog.push({ call: i, t: clock.now() });
        push('recordRequest');
        shared.recordRequest();
      },
      tryRetry() {
        const answer = shared.tryRetry();
        budgetLog.push({ call: i, t: clock.now(), answer });
        push('tryRetry', { answer });
        return answer;
      },
      available: () => shared.available(),
    };

    const later = <T>(ms: number, settle: () => T): Promise<Awaited<T>> =>
      new Promise((resolve, reject) =>
        clock.setTimeout(() => {
          try {
            resolve(settle() as Awaited<T>);
          } catch (error) {
            reject(error);
          }
        }, ms),
      );
    const makeError = (step: Step, k: number): unknown => {
      const name = `e${i}.${k}`;
      const spec = step.error;
      switch (spec.kind) {
        case 'primitive':
          return `secret-${name}`;
        case 'notRetryable':
          return label(Object.assign(new Error(`secret ${name}`), { retryable: false }), name);
        case 'abortError':
          return label(Object.assign(new Error(`secret ${name}`), { name: 'AbortError' }), name);
        case 'response':
          return label(
            new Response(null, { status: 503, headers: new Headers(headerEntries(spec.hint)) }),
            name,
          );
        case 'plain': {
          const hint = spec.hint;
          const headers =
            hint.kind !== 'headers'
              ? undefined
              : hint.plain
                ? Object.fromEntries(headerEntries(hint))
                : new Headers(headerEntries(hint));
          const fields =
            hint.kind === 'retryAfterMs'
              ? { retryAfterMs: hint.ms }
              : hint.kind === 'headers'
                ? hint.on === 'self'
                  ? { headers }
                  : { response: { headers } }
                : {};
          return label(Object.assign(new Error(`secret ${name}`), fields), name);
        }
      }
    };
    const makeValue = (step: Step, k: number): unknown => {
      const name = `v${i}.${k}`;
      if (step.value.kind === 'plain') return label({ value: name }, name);
      const body = new ReadableStream({
        start: (controller) => controller.enqueue(new Uint8Array([1, 2, 3])),
        cancel: () => push('cancel', { value: name }),
      });
      return label(
        new Response(body, { status: 503, headers: new Headers(headerEntries(step.value.hint)) }),
        name,
      );
    };

    const signals: AbortSignal[] = [];
    let calls = 0;
    const body = (k: number, signal: AbortSignal | undefined): unknown => {
      const step = stepOf(spec, k);
      if (signal)
        signal.addEventListener('abort', () =>
          push('signalAbort', { attempt: k, reason: norm(signal.reason) }),
        );
      const honour = (reject: (reason: unknown) => void, timer?: unknown): void => {
        if (step.honour && signal)
          signal.addEventListener('abort', () => {
            clock.clearTimeout(timer);
            reject(signal.reason);
          });
      };
      switch (step.fn) {
        case 'throw':
          throw makeError(step, k);
        case 'abort':
          abortCaller();
          return new Promise((_, reject) => honour(reject));
        case 'hang':
          return new Promise((_, reject) => honour(reject));
        case 'value':
          if (step.after === 0) return step.sync ? makeValue(step, k) : Promise.resolve(makeValue(step, k));
          break;
        case 'reject':
          if (step.after === 0) return Promise.reject(makeError(step, k));
      }
      return new Promise((resolve, reject) => {
        const timer = clock.setTimeout(
          () => (step.fn === 'value' ? resolve(makeValue(step, k)) : reject(makeError(step, k))),
          step.after,
        );
        honour(reject, timer);
      });
    };
    const fn = (context: AttemptContext): unknown => {
      const n = ++calls;
      const { signal } = context;
      const kind = signal === sharedSignal ? 'shared' : seenSignals.has(signal) ? 'reused' : 'fresh';
      seenSignals.add(signal);
      signals[n] = signal;
      const plain = Object.keys(context).join() === 'attempt,signal';
      push('call', { attempt: context.attempt, signal: kind, ok: plain && context.attempt === n });
      return body(n, signal === sharedSignal ? undefined : signal);
    };
    const self = { name: `this${i}` };
    function wrapped(this: unknown, a: number, b: string): unknown {
      const n = ++calls;
      push('call', { attempt: n, signal: 'none', ok: this === self && a === i && b === 'x' });
      return body(n, undefined);
    }
    // The predicates' context is the attempt's (the signal fn got, when fn gets one).
    const sameSignal = (context: AttemptContext): boolean =>
      spec.mode === 'withRetry' || signals[context.attempt] === context.signal;
    const settleLater = <T>(after: number, settle: () => T): T | Promise<Awaited<T>> =>
      after === 0
        ? (() => {
            try {
              return Promise.resolve(settle());
            } catch (error) {
              return Promise.reject(error);
            }
          })()
        : later(after, settle);

    let retries = 0;
    const options: RetryOptions<unknown> = {
      clock: own,
      random: seededRandom(spec.seed),
      attempts: spec.attempts,
      backoff: makeBackoff(spec, i, (fields) => push('backoff', fields)),
      timeout: spec.timeout,
      deadline: spec.deadline,
      signal: controller?.signal,
      budget: spec.budget ? budget : undefined,
      maxRetryAfter: spec.maxRetryAfter,
      retryIf: spec.retryIf
        ? (error, context) => {
            const k = context.attempt;
            const decide = stepOf(spec, k).decide;
            push('retryIf', {
              attempt: k,
              error: norm(error),
              aborted: context.signal.aborted,
              same: sameSignal(context),
            });
            const thrown = (): never => {
              throw label(new Error(`secret pred ${i}.${k}`), `pred${i}.${k}`);
            };
            switch (decide.mode) {
              case 'sync':
                return decide.answer;
              case 'throw':
                return thrown();
              case 'never':
                return new Promise<boolean>(() => {});
              case 'async':
                return settleLater(decide.after, () => decide.answer);
              case 'reject':
                return settleLater(decide.after, thrown);
            }
          }
        : undefined,
      retryOnResult: spec.retryOnResult
        ? (value, context) => {
            const k = context.attempt;
            const judge = stepOf(spec, k).judge;
            push('retryOnResult', { attempt: k, value: norm(value), same: sameSignal(context) });
            switch (judge.mode) {
              case 'sync':
                return judge.answer;
              case 'throw':
                throw label(new Error(`secret judge ${i}.${k}`), `judge${i}.${k}`);
              case 'never':
                return new Promise<boolean>(() => {});
              case 'async':
                return settleLater(judge.after, () => judge.answer);
            }
          }
        : undefined,
      onRetry: spec.onRetry
        ? ({ attempt, delay, error }) => {
            push('onRetry', { attempt, delay, error: norm(error) });
            retries++;
            if (spec.onRetry?.throwAt === retries) throw label(new Error(`secret hook ${i}`), `onRetry${i}`);
            if (spec.onRetry?.abortAt === retries) abortCaller();
          }
        : undefined,
      onGiveUp: spec.onGiveUp
        ? ({ attempts, error, reason }) => {
            push('onGiveUp', { attempts, error: norm(error), reason });
            if (spec.onGiveUp?.throws) throw label(new Error(`secret hook ${i}`), `onGiveUp${i}`);
          }
        : undefined,
    };

    const settled = (fields: Record<string, unknown>): void =>
      push('settle', {
        ...fields,
        timers: live.size,
        listeners: controller ? getEventListeners(controller.signal, 'abort').length : 0,
      });
    clock.setTimeout(() => {
      const promise =
        spec.mode === 'retry'
          ? retry(fn, options)
          : withRetry(wrapped, options as RetryOptions<Awaited<unknown>>).call(self, i, 'x');
      promise.then(
        (value) => settled({ ok: true, value: norm(value) }),
        (error: unknown) => settled({ ok: false, error: norm(error) }),
      );
    }, spec.startAt);
  });
  // Scheduled after every start, so a caller's abort and a start at the same time run start first.
  scenario.calls.forEach((spec, i) => {
    const abortAt = spec.signal?.abortAt;
    if (abortAt === 'before') (aborters[i] as () => void)();
    else if (typeof abortAt === 'number') clock.setTimeout(aborters[i] as () => void, spec.startAt + abortAt);
  });
  await clock.runAll(100_000);
  expect(clock.pendingTimers).toBe(0);
  return { traces, budgetLog, abortedAt };
}

function makeBackoff(
  spec: CallSpec,
  i: number,
  record?: (fields: Record<string, unknown>) => void,
): Backoff | undefined {
  const b = spec.backoff;
  switch (b.kind) {
    case 'default':
      return undefined;
    case 'constant':
      return constant(b.ms);
    case 'linear':
      return linear({ initial: b.initial, step: b.step, max: b.max, jitter: b.jitter });
    case 'exponential':
      return exponential({ initial: b.initial, factor: b.factor, max: b.max, jitter: b.jitter });
    case 'decorrelated':
      return decorrelated({ initial: b.initial, max: b.max });
    case 'custom': {
      const inner = customBackoff(b, `backoff${i}`);
      return (context) => {
        record?.({ attempt: context.attempt, previousDelay: context.previousDelay });
        return inner(context);
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The reference model, from the README

const reached = new Map<string, number>();
const reach = (key: string): void => {
  reached.set(key, (reached.get(key) ?? 0) + 1);
};

/** The documented delay of a backoff (README formulas), drawing from the model's copy of `random`. */
function modelBackoff(spec: CallSpec, i: number, context: BackoffContext): unknown {
  const b = spec.backoff;
  const { attempt, previousDelay, random } = context;
  const spread = (d: number, jitter: Jitter): number =>
    jitter === 'none' ? d : jitter === 'full' ? d * random() : d / 2 + (d / 2) * random();
  switch (b.kind) {
    case 'default':
      reach('backoff:default');
      return spread(Math.min(30_000, 100 * 2 ** (attempt - 1)), 'full');
    case 'constant':
      reach('backoff:constant');
      return b.ms;
    case 'linear': {
      const initial = b.initial ?? 100;
      reach(`backoff:linear:${b.jitter ?? 'none'}`);
      return spread(
        Math.min(b.max ?? 30_000, initial + (b.step ?? initial) * (attempt - 1)),
        b.jitter ?? 'none',
      );
    }
    case 'exponential':
      reach(`backoff:exponential:${b.jitter ?? 'full'}`);
      return spread(
        Math.min(b.max ?? 30_000, (b.initial ?? 100) * (b.factor ?? 2) ** (attempt - 1)),
        b.jitter ?? 'full',
      );
    case 'decorrelated': {
      // random_between(initial, previousDelay x 3), the first retry using initial as the previous delay
      const initial = b.initial ?? 100;
      const upper = Math.max(initial, 3 * (previousDelay > 0 ? previousDelay : initial));
      reach('backoff:decorrelated');
      return Math.min(b.max ?? 30_000, initial + (upper - initial) * random());
    }
    case 'custom':
      reach('backoff:custom');
      return customBackoff(b, `backoff${i}`)(context);
  }
}

/** The server's hint on a header carrier (README "Server hints" and `parseRetryAfter`). */
function headerHint(h: HeaderHint, now: number): number | undefined {
  if (h.ms !== undefined && /^\d+$/.test(h.ms)) {
    reach('hint:retry-after-ms');
    return Number(h.ms);
  }
  const ra = h.ra;
  if (ra && 'seconds' in ra) {
    reach('hint:seconds');
    return ra.seconds * 1000;
  }
  if (ra && 'date' in ra) {
    reach(E + ra.date * 1000 <= now ? 'hint:past-date' : 'hint:date');
    return Math.max(0, E + ra.date * 1000 - now);
  }
  return undefined;
}

type Failure =
  | { readonly from: 'fn'; readonly step: Step }
  | { readonly from: 'value'; readonly step: Step }
  | { readonly from: 'other'; readonly judged?: Step };

function hintOf(failure: Failure, now: number): number | undefined {
  if (failure.from === 'other') return undefined;
  let hint: number | undefined;
  if (failure.from === 'value') {
    if (failure.step.value.kind === 'plain') return undefined;
    hint = headerHint(failure.step.value.hint, now);
    if (hint !== undefined) reach('hint:rejected-response');
  } else {
    const error = failure.step.error;
    if (error.kind === 'response') {
      hint = headerHint(error.hint, now);
      if (hint !== undefined) reach('hint:thrown-response');
    } else if (error.kind === 'plain' && error.hint.kind === 'retryAfterMs') {
      // a numeric retryAfterMs; a negative one is no wait the server could mean
      if (error.hint.ms >= 0) reach('hint:retryAfterMs');
      hint = error.hint.ms >= 0 ? error.hint.ms : undefined;
    } else if (error.kind === 'plain' && error.hint.kind === 'headers') {
      hint = headerHint(error.hint, now);
      if (hint !== undefined) reach(`hint:${error.hint.on}:${error.hint.plain ? 'plain-object' : 'Headers'}`);
    }
    if (
      (error.kind === 'plain' || error.kind === 'response') &&
      error.hint.kind !== 'none' &&
      hint === undefined
    )
      reach('hint:ignored');
  }
  return hint;
}

const isRetryableSpec = (error: ErrorSpec): boolean =>
  error.kind !== 'notRetryable' && error.kind !== 'abortError';

/** What one call must do, event by event. `answers` are the budget's answers to this call, in order. */
function model(spec: CallSpec, i: number, answers: readonly boolean[], cutValues = new Set<string>()): Ev[] {
  const ev: Ev[] = [];
  const start = E + spec.startAt;
  let t = start;
  const push = (type: string, fields: Record<string, unknown> = {}): void => {
    ev.push({ type, t, ...fields });
  };
  const reasonName = spec.signal?.reason === 'string' ? `p:stop${i}` : `abort${i}`;
  const settle = (ok: boolean, outcome: unknown): Ev[] => {
    // nothing of retry's left behind: no timer of its own, no listener on the caller's signal
    push('settle', { ok, ...(ok ? { value: outcome } : { error: outcome }), timers: 0, listeners: 0 });
    return ev;
  };
  if (spec.mode === 'withRetry') reach('mode:withRetry');
  if (spec.signal?.abortAt === 'before') {
    // fn is never called, nothing is recorded in the budget, onGiveUp is not called
    reach('aborted:before');
    return settle(false, reasonName);
  }
  if (spec.budget) push('recordRequest');
  const guarded = spec.signal !== undefined || spec.timeout !== undefined || spec.deadline !== undefined;
  const timeout = spec.timeout ?? Number.POSITIVE_INFINITY;
  const deadline = spec.deadline ?? Number.POSITIVE_INFINITY;
  const expiresAt = start + deadline;
  const attempts = spec.attempts ?? 3;
  const abortAt = spec.signal?.abortAt;
  let A = typeof abortAt === 'number' ? E + (spec.startAt + abortAt) : Number.POSITIVE_INFINITY;
  const random = seededRandom(spec.seed);
  const errors: unknown[] = [];
  let previousDelay = 0;
  let attempt = 0;
  let budgetAnswer = 0;
  let retries = 0;
  // The value of the last attempt whose unread body retry still holds (a Response turned down, or whose
  // retryOnResult threw), until it is cancelled or handed over.
  let held: string | undefined;
  if (spec.attempts === Number.POSITIVE_INFINITY) reach('attempts:Infinity');

  const giveUp = (reason: string, error: unknown, thrown: unknown): Ev[] => {
    reach(`outcome:${reason}`);
    if (spec.onGiveUp) {
      push('onGiveUp', { attempts: attempt, error, reason });
      if (spec.onGiveUp.throws) {
        reach('throws:onGiveUp');
        // The hook's error carries no value: the body retry held is cancelled (an abort cancelled it already).
        if (held !== undefined && reason !== 'aborted') {
          reach('cancel:body-on-giveup-throw');
          push('cancel', { value: held });
        }
        return settle(false, `onGiveUp${i}`);
      }
    }
    return settle(false, thrown);
  };
  const retryError = (reason: string): unknown => ({
    class: reason === 'budget' ? 'RetryBudgetError' : 'RetryError',
    code: reason === 'budget' ? 'ERR_RETRY_BUDGET_EXHAUSTED' : 'ERR_RETRY_EXHAUSTED',
    attempts: attempt,
    reason,
    errors: errors.slice(-100),
    cause: errors[errors.length - 1],
    retryable: false,
    message: true,
  });

  for (;;) {
    attempt++;
    if (t >= A) throw new Error(`model: attempt ${attempt} would start at or after the abort`);
    push('call', {
      attempt,
      signal: spec.mode === 'withRetry' ? 'none' : guarded ? 'fresh' : 'shared',
      ok: true,
    });
    const step = stepOf(spec, attempt);
    reach(`fn:${step.fn}${step.fn === 'hang' ? (step.honour ? ':honour' : ':ignore') : ''}`);
    // When fn's own part is over (fn's value reaches retryOnResult at `valueAt`) and when the attempt is.
    let valueAt = Number.POSITIVE_INFINITY;
    let done = Number.POSITIVE_INFINITY;
    let result: { ok: true } | { ok: false; error: unknown; failure: Failure } = { ok: true };
    const fnAt = step.fn === 'throw' || step.after === 0 ? t : t + step.after;
    if (step.fn === 'abort') {
      reach('aborted:in-fn');
      A = t;
    }
    if (step.fn === 'throw' || step.fn === 'reject') {
      done = fnAt;
      const error = step.error.kind === 'primitive' ? `p:secret-e${i}.${attempt}` : `e${i}.${attempt}`;
      result = { ok: false, error, failure: { from: 'fn', step } };
    } else if (step.fn === 'value') {
      if (step.after === 0 && step.sync) reach('fn:sync-value');
      if (spec.retryOnResult) {
        valueAt = fnAt;
        const judge = step.judge;
        done =
          judge.mode === 'never'
            ? done
            : judge.mode === 'async' && judge.after > 0
              ? fnAt + judge.after
              : fnAt;
        if (judge.mode === 'throw')
          result = { ok: false, error: `judge${i}.${attempt}`, failure: { from: 'other', judged: step } };
        else if (judge.mode !== 'never' && judge.answer)
          result = {
            ok: false,
            error: { rejected: `v${i}.${attempt}`, code: 'ERR_RETRY_RESULT_REJECTED', retryable: true },
            failure: { from: 'value', step },
          };
      } else done = fnAt;
    }
    const cutAt = guarded ? t + Math.min(timeout, expiresAt - t) : Number.POSITIVE_INFINITY;
    // At a tie the deadline's timer, armed when the call started, fires before the attempt's.
    const byDeadline = expiresAt - t <= timeout;
    // The caller's abort beats everything at the same time (its timer is the oldest), a cut beats fn.
    if (Math.min(A, cutAt, done) === Number.POSITIVE_INFINITY)
      throw new Error('model: this attempt never ends');
    // retryOnResult is called when fn's value comes while the attempt still runs (a timer of fn's that
    // fires with the cut or the abort comes after them)
    if (valueAt < Math.min(A, cutAt))
      ev.push({ type: 'retryOnResult', t: valueAt, attempt, value: `v${i}.${attempt}`, same: true });
    let error: unknown;
    let failure: Failure = { from: 'other' };
    let cut = false;
    // A value of an attempt that was cut or aborted (its fn or its retryOnResult settles later) has its body
    // cancelled whenever it comes: those cancels are checked apart (cutValues), in a unit test.
    if (Math.min(A, cutAt) <= done) cutValues.add(`v${i}.${attempt}`);
    if (A <= cutAt && A <= done) {
      t = A;
      if (spec.mode === 'retry') push('signalAbort', { attempt, reason: reasonName });
      reach(valueAt < A ? 'aborted:retryOnResult' : 'aborted:attempt');
      errors.push(reasonName);
      return giveUp('aborted', reasonName, reasonName);
    }
    if (cutAt <= done) {
      t = cutAt;
      error = `timeout:${byDeadline ? deadline : timeout}:${byDeadline ? 'deadline' : 'attempt'}:true`;
      reach(byDeadline ? 'cut:deadline' : 'cut:timeout');
      if (valueAt < cutAt) reach('cut:retryOnResult');
      if (spec.mode === 'retry') push('signalAbort', { attempt, reason: error });
      cut = true;
    } else {
      t = done;
      if (result.ok) {
        reach('outcome:value');
        return settle(true, `v${i}.${attempt}`);
      }
      error = result.error;
      failure = result.failure;
      if (failure.from === 'value') reach('retryOnResult:rejects');
      if (spec.retryOnResult && step.fn === 'value' && step.judge.mode === 'throw')
        reach('retryOnResult:throws');
    }
    errors.push(error);

    // A Response turned down, or whose retryOnResult threw: retry holds its unread body until it retries.
    const unread =
      (failure.from === 'value' || (failure.from === 'other' && failure.judged !== undefined)) &&
      step.value.kind === 'response';
    held = unread ? `v${i}.${attempt}` : undefined;
    // A throwing hook, predicate or backoff rejects with its own error, which carries no value: that body too.
    const thrown = (outcome: string): Ev[] => {
      if (unread) {
        reach('cancel:body-on-throw');
        push('cancel', { value: `v${i}.${attempt}` });
      }
      return settle(false, outcome);
    };
    let retryable = cut || failure.from !== 'fn' || isRetryableSpec(step.error);
    if (retryable && spec.retryIf) {
      push('retryIf', { attempt, error, aborted: cut, same: true });
      const decide = step.decide;
      const at =
        (decide.mode === 'async' || decide.mode === 'reject') && decide.after > 0 ? t + decide.after : t;
      if (decide.mode === 'throw') {
        reach('throws:retryIf');
        return thrown(`pred${i}.${attempt}`);
      }
      if (decide.mode === 'never' || A <= at) {
        // the caller's abort cuts a pending retryIf short; the caller gets its reason, so nobody can read the
        // body of a value turned down just before: it is cancelled
        t = A;
        reach('aborted:retryIf');
        if (unread) {
          reach('cancel:body-on-abort');
          push('cancel', { value: `v${i}.${attempt}` });
        }
        return giveUp('aborted', error, reasonName);
      }
      t = at;
      if (decide.mode === 'reject') {
        reach('rejects:retryIf');
        return thrown(`pred${i}.${attempt}`);
      }
      if (t >= expiresAt) reach('deadline:passed-in-retryIf');
      retryable = decide.answer;
    }
    if (!retryable) return giveUp('not-retryable', error, error);
    if (attempt >= attempts) return giveUp('attempts', error, retryError('attempts'));

    const hint = hintOf(failure, t);
    let delay: number;
    if (hint === undefined) {
      if (spec.backoff.kind === 'custom') push('backoff', { attempt, previousDelay });
      let raw: unknown;
      try {
        raw = modelBackoff(spec, i, { attempt, previousDelay, random });
      } catch {
        reach('throws:backoff');
        return thrown(`backoff${i}`);
      }
      // a backoff's result must be a number >= 0; above 2^31 - 1 it is capped
      if (typeof raw !== 'number' || !(raw >= 0)) {
        reach('invalid:backoff');
        return thrown('invalid:backoff result');
      }
      delay = Math.min(raw, MAX_DELAY);
      if (raw > MAX_DELAY) reach('backoff:capped');
    } else {
      delay = Math.min(hint, spec.maxRetryAfter ?? 60_000, MAX_DELAY);
      if (hint > (spec.maxRetryAfter ?? 60_000)) reach('hint:capped');
    }
    // a wait that reaches the deadline gives up now
    if (delay >= expiresAt - t) {
      if (hint !== undefined) reach('hint:past-deadline');
      return giveUp('deadline', error, retryError('deadline'));
    }
    if (spec.budget) {
      const answer = answers[budgetAnswer++];
      push('tryRetry', { answer });
      if (answer !== true) return giveUp('budget', error, retryError('budget'));
      reach('budget:granted');
    }
    retries++;
    let hookAborted = false;
    if (spec.onRetry) {
      push('onRetry', { attempt, delay, error });
      if (spec.onRetry.throwAt === retries) {
        reach('throws:onRetry');
        return thrown(`onRetry${i}`);
      }
      if (spec.onRetry.abortAt === retries) {
        hookAborted = true;
        A = t;
      }
    }
    // A value turned down, or whose retryOnResult threw, is nobody's once retried: its body is cancelled.
    if (unread) {
      reach('cancel:body');
      push('cancel', { value: `v${i}.${attempt}` });
      held = undefined;
    }
    if (hookAborted) {
      reach('aborted:hook');
      return giveUp('aborted', error, reasonName);
    }
    if (delay === 0) reach('delay:zero');
    if (delay > 0) {
      if (A <= t + delay) {
        t = A;
        reach('aborted:wait');
        return giveUp('aborted', error, reasonName);
      }
      t = t + delay;
    }
    previousDelay = delay;
    if (t >= expiresAt) return giveUp('deadline', error, retryError('deadline'));
  }
}

/** The budget's rule (README, decision 0014), replayed over every call's requests in the order they came. */
function checkBudget(log: readonly BudgetEntry[], options: Scenario['budget']): void {
  const width = options.ttl / 10;
  const kept: { t: number; retry: boolean }[] = [];
  for (const entry of log) {
    const bucket = Math.floor(entry.t / width);
    const window = kept.filter((k) => Math.floor(k.t / width) > bucket - 10);
    if (entry.answer === undefined) {
      kept.push({ t: entry.t, retry: false });
      continue;
    }
    const calls = window.filter((k) => !k.retry).length;
    const retries = window.length - calls;
    const allowed = retries + 1 <= options.ratio * calls + (options.minPerSecond * options.ttl) / 1000 + 1e-9;
    if (entry.answer !== allowed)
      throw new Error(
        `budget answered ${entry.answer} at ${entry.t} with ${calls} calls and ${retries} retries in the window`,
      );
    if (allowed) kept.push({ t: entry.t, retry: true });
    else reach('budget:refused');
  }
}

// ---------------------------------------------------------------------------------------------------------

const EVERY_PATH = [
  'outcome:value',
  'outcome:attempts',
  'outcome:deadline',
  'outcome:budget',
  'outcome:not-retryable',
  'outcome:aborted',
  'aborted:before',
  'aborted:attempt',
  'aborted:retryOnResult',
  'aborted:retryIf',
  'aborted:wait',
  'aborted:hook',
  'aborted:in-fn',
  'throws:onRetry',
  'throws:onGiveUp',
  'throws:retryIf',
  'rejects:retryIf',
  'throws:backoff',
  'cancel:body-on-throw',
  'cancel:body-on-giveup-throw',
  'invalid:backoff',
  'cut:timeout',
  'cut:deadline',
  'cut:retryOnResult',
  'deadline:passed-in-retryIf',
  'retryOnResult:rejects',
  'retryOnResult:throws',
  'cancel:body',
  'cancel:body-on-abort',
  'fn:value',
  'fn:sync-value',
  'fn:reject',
  'fn:throw',
  'fn:hang:honour',
  'fn:hang:ignore',
  'hint:retryAfterMs',
  'hint:retry-after-ms',
  'hint:seconds',
  'hint:date',
  'hint:past-date',
  'hint:self:Headers',
  'hint:self:plain-object',
  'hint:response:Headers',
  'hint:response:plain-object',
  'hint:thrown-response',
  'hint:rejected-response',
  'hint:capped',
  'hint:ignored',
  'hint:past-deadline',
  'backoff:default',
  'backoff:constant',
  'backoff:linear:none',
  'backoff:linear:full',
  'backoff:linear:equal',
  'backoff:exponential:none',
  'backoff:exponential:full',
  'backoff:exponential:equal',
  'backoff:decorrelated',
  'backoff:custom',
  'backoff:capped',
  'delay:zero',
  'budget:granted',
  'budget:refused',
  'attempts:Infinity',
  'mode:withRetry',
];

describe('retry() against a model of its README (fast-check, fake clock)', () => {
  beforeAll(async () => {
    sharedSignal = await retry(({ signal }) => signal);
  });

  it('every combination of options and fn behaviours does what the model says, event by event', async () => {
    reached.clear();
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const { traces, budgetLog, abortedAt } = await runScenario(scenario);
        checkBudget(budgetLog, scenario.budget);
        scenario.calls.forEach((spec, i) => {
          const trace = traces[i] as Ev[];
          // model-free invariants first: never more calls than attempts, none at/after the deadline, none
          // after the caller's abort (by position in the trace: a hook can abort at the instant fn started)
          const starts = trace.flatMap((e, at) => (e.type === 'call' ? [{ ...e, at }] : []));
          expect(starts.length).toBeLessThanOrEqual(spec.attempts ?? 3);
          for (const start of starts) {
            expect(start.t).toBeLessThan(E + spec.startAt + (spec.deadline ?? Number.POSITIVE_INFINITY));
            expect(start.at).toBeLessThan(abortedAt[i] as number);
          }
          expect(trace.filter((e) => e.type === 'settle')).toHaveLength(1);
          const answers = trace
            .filter((e) => e.type === 'tryRetry')
            .map((e) => (e as { answer?: boolean }).answer === true);
          const cutValues = new Set<string>();
          const expected = model(spec, i, answers, cutValues);
          const late = (e: Ev): boolean =>
            e.type === 'cancel' && cutValues.has((e as { value?: string }).value as string);
          expect(trace.filter((e) => !late(e))).toEqual(expected);
        });
      }),
      { seed: 20_261_124, numRuns: 3000 },
    );
    const missing = EVERY_PATH.filter((key) => !reached.has(key));
    expect(missing).toEqual([]);
  });

  it('does not call retryOnResult for a value that comes after its attempt was cut (found by the model)', async () => {
    const clock = createFakeClock();
    const judged: unknown[] = [];
    const settled = retry(
      // ignores its signal: each attempt's value comes 100 ms after it started, after its 50 ms timeout
      ({ attempt }) => new Promise((resolve) => clock.setTimeout(() => resolve(attempt), 100)),
      {
        clock,
        timeout: 50,
        attempts: 2,
        backoff: constant(0),
        retryOnResult: (value) => {
          judged.push(value);
          return false;
        },
      },
    ).catch((error: unknown) => error);
    await clock.runAll();
    expect(await settled).toMatchObject({ reason: 'attempts', attempts: 2 });
    expect(judged).toEqual([]);
  });
});
