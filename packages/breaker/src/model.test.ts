/**
 * Model-based tests: random command sequences drive a real breaker on the fake clock and a small
 * reference model side by side, and after every step state, snapshot, accept/reject decisions,
 * CircuitOpenError (identity per episode, `isolated`, live `retryAfterMs`), call results, the signals
 * handed to `fn` and the hooks must agree.
 *
 * The model is written from the README (the state machine, Windows, API) and the issue, not from the
 * sources: plain arrays and counters, no ring, no fast path, no timers of its own (an `advance` walks
 * the deadlines it knows in time order). A caller's signal aborts with a plain reason (nothing is counted)
 * or with a timeout (a failure through `isFailure`, decision 0029), or is already timed out at the call.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  type Breaker,
  type BreakerOptions,
  type BreakerSnapshot,
  type BreakerState,
  type CircuitOpenError,
  createBreaker,
  type FailureEvent,
  isCircuitOpenError,
  type SuccessEvent,
  slidingWindow,
} from '@integ/breaker';
import { type Clock, TimeoutError } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// ---------------------------------------------------------------------------------------------------
// Configurations and commands

interface WindowConfig {
  readonly type: 'count' | 'time';
  readonly size: number; // count: calls; time: buckets
  readonly duration: number; // time only
  readonly failureRate: number;
  readonly slowRate: number;
  readonly minimumCalls: number;
}

interface Config {
  readonly threshold: number;
  readonly openFor: number | 'backoff';
  readonly maxOpenFor: number | undefined;
  readonly window: WindowConfig | undefined;
  readonly slowMs: number | undefined;
  readonly probes: number;
  readonly ratio: number;
  readonly probeTimeout: number;
  /** Which hooks are set: none (lazy open -> half-open, fast closed path), onStateChange + onReject, all. */
  readonly hooks: 'none' | 'state' | 'all';
  /** isFailure / isResultFailure set (a `nonfail` error is then a success, a `bad` value a failure). */
  readonly predicates: boolean;
  readonly start: number;
}

// The backoff the `openFor: 'backoff'` configs use.
const backoff = (trip: number): number => 150 * 2 ** (trip - 1);

type How = 'ok' | 'bad' | 'fail' | 'nonfail' | 'abortErr';
type Cmd =
  | {
      readonly t: 'start';
      readonly api: 'execute' | 'tryExecute';
      readonly how: How | 'hang';
      readonly sync: boolean;
      /** A caller signal: none, one the caller may abort later, or one already aborted with a timeout. */
      readonly signal: false | true | 'timedOut';
      readonly honours: boolean;
      readonly hint: number | undefined;
    }
  | {
      readonly t: 'settle';
      readonly pick: number;
      readonly how: How | 'callerAbort' | 'callerTimeout';
      readonly hint: number | undefined;
    }
  | { readonly t: 'advance'; readonly ms: number }
  | { readonly t: 'isolate' }
  | { readonly t: 'release'; readonly pick: number }
  | { readonly t: 'reset' }
  | { readonly t: 'recreate' };

const hintArb = fc.option(fc.constantFrom(0, 50, 400, 5_000), { nil: undefined, freq: 3 });
// Amounts that land on and next to the configs' openFor, probeTimeout, slow and bucket edges.
const edges = [
  1, 49, 50, 51, 99, 100, 101, 149, 150, 151, 200, 250, 299, 300, 333, 334, 499, 500, 501, 999, 1000,
];
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      t: fc.constant('start' as const),
      api: fc.constantFrom('execute' as const, 'tryExecute' as const),
      how: fc.constantFrom<How | 'hang'>(
        'ok',
        'ok',
        'bad',
        'fail',
        'fail',
        'fail',
        'nonfail',
        'abortErr',
        'hang',
        'hang',
        'hang',
      ),
      sync: fc.boolean(),
      signal: fc.constantFrom<false | true | 'timedOut'>(false, false, true, true, 'timedOut'),
      honours: fc.boolean(),
      hint: hintArb,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('settle' as const),
      pick: fc.nat(),
      how: fc.constantFrom<How | 'callerAbort' | 'callerTimeout'>(
        'ok',
        'ok',
        'bad',
        'fail',
        'fail',
        'nonfail',
        'abortErr',
        'callerAbort',
        'callerAbort',
        'callerTimeout',
        'callerTimeout',
      ),
      hint: hintArb,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.oneof(
        fc.constantFrom(...edges),
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 0, max: 3_000 }),
        // Off the millisecond grid: retryAfterMs rounds up, durations compare exactly.
        fc.constantFrom(0.25, 0.5),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'isolate' as const }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reset' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'recreate' as const }) },
);

// ---------------------------------------------------------------------------------------------------
// The reference model

type AbortKind = 'caller' | 'isolate' | 'timeout';

interface ModelCall {
  readonly id: number;
  readonly gen: number;
  readonly from: BreakerState;
  readonly start: number;
  readonly deadline: number; // probes: when their timeout fires; others: Infinity
  readonly honours: boolean;
  /** Settled as far as the breaker is concerned (counted, or not counted because aborted). */
  counted: boolean;
  /** fn itself has settled (resolved or rejected); then the call's own promise has too. */
  done: boolean;
  aborted: AbortKind | undefined;
  /** Started before the last reset(). */
  forgotten?: boolean;
  /** What the call's promise settles with: [ok, label]. */
  result: [boolean, string] | undefined;
}

interface Outcome {
  readonly failed: boolean;
  readonly label: string; // the value or error, for the hooks and the call's result
  readonly hint: number | undefined;
}

type HookEntry = readonly unknown[];

/** What the runs of a family reached (so a family that never trips, say, fails instead of passing idly). */
const seen = new Set<string>();

class Model {
  state: BreakerState = 'closed';
  gen = 0;
  consecutive = 0;
  trips = 0;
  openUntil = 0;
  isolations = 0;
  epoch = 0;
  admitted = 0;
  good = 0;
  bad = 0;
  lastDeadline = 0;
  // Outcomes counted while closed: [time, failed, slow] (without a window only the totals are read).
  counted: [number, boolean, boolean][] = [];
  calls: ModelCall[] = [];
  stateLog: HookEntry[] = [];
  outcomeLog: HookEntry[] = [];
  rejects = 0;
  readonly needed: number;
  readonly maxOpen: number;

  constructor(
    readonly cfg: Config,
    public now: number,
  ) {
    // The smallest number of successes whose share of the probes reaches the ratio.
    let k = 1;
    while (k / cfg.probes < cfg.ratio) k++;
    this.needed = k;
    this.maxOpen = cfg.maxOpenFor ?? Math.max(typeof cfg.openFor === 'number' ? cfg.openFor : 0, 600_000);
  }

  go(to: BreakerState): void {
    const from = this.state;
    this.gen++;
    this.state = to;
    this.admitted = this.good = this.bad = 0;
    if (to === 'closed') {
      this.consecutive = this.trips = 0;
      this.counted = [];
    }
    seen.add(`${from}->${to}`);
    if (from !== to && this.cfg.hooks !== 'none') this.stateLog.push([to, from]);
  }

  /** The lazy move to half-open that every look (state, execute, snapshot) makes. */
  look(): void {
    if (this.state === 'open' && !this.isolations && this.now >= this.openUntil) this.go('half-open');
  }

  /** The counts the snapshot shows: the window's at `now`, or everything counted since the breaker closed. */
  counts(): { calls: number; failures: number; slowCalls: number } {
    const w = this.cfg.window;
    let held = this.counted;
    if (w?.type === 'count') held = held.slice(-w.size);
    if (w?.type === 'time') {
      // Buckets of duration / buckets ms from time 0; the window holds the current one and the
      // buckets - 1 before it. Integer arithmetic: no rounding at the edges.
      const bucket = (t: number): number => Math.floor((t * w.size) / w.duration);
      const all = held.length;
      held = held.filter(([t]) => bucket(t) > bucket(this.now) - w.size);
      if (held.length < all) seen.add('bucket expired');
    }
    return {
      calls: held.length,
      // In a window a slow call counts as a failure; without one, failures are errors only.
      failures: held.filter(([, failed, slow]) => failed || (w !== undefined && slow)).length,
      slowCalls: held.filter(([, , slow]) => slow).length,
    };
  }

  retryAfter(): number {
    if (this.isolations) return Infinity;
    if (this.state === 'open') return Math.max(0, Math.ceil(this.openUntil - this.now));
    if (this.state === 'half-open' && this.admitted >= this.cfg.probes)
      return Math.max(0, Math.ceil(this.lastDeadline - this.now));
    return 0;
  }

  /** Whether a call made now runs ('closed' or 'half-open', the state it runs in) or is rejected. */
  admit(): BreakerState | 'rejected' {
    this.look();
    if (this.state === 'closed') return 'closed';
    if (this.state === 'half-open' && this.admitted < this.cfg.probes) {
      this.admitted++;
      this.lastDeadline = this.now + this.cfg.probeTimeout;
      return 'half-open';
    }
    this.rejects++;
    seen.add(`reject ${this.isolations ? 'isolated' : this.state}`);
    return 'rejected';
  }

  start(id: number, honours: boolean, timedOut = false): ModelCall | 'timedOut' | undefined {
    const from = this.admit();
    if (from === 'rejected') return undefined;
    if (timedOut) {
      // A caller signal already timed out: fn does not run, the call rejects with its reason, and
      // nothing is counted (the dependency was never asked); a probe slot is free again.
      seen.add(`timed out before the call ${from}`);
      if (from === 'half-open') this.admitted--;
      return 'timedOut';
    }
    const call: ModelCall = {
      id,
      gen: this.gen,
      from,
      start: this.now,
      deadline: from === 'half-open' ? this.now + this.cfg.probeTimeout : Infinity,
      honours,
      counted: false,
      done: false,
      aborted: undefined,
      result: undefined,
    };
    this.calls.push(call);
    return call;
  }

  /** fn settled with `how`. */
  settle(call: ModelCall, how: How, label: string, hint: number | undefined): void {
    call.done = true;
    call.result = [how === 'ok' || how === 'bad', label];
    if (how === 'abortErr') {
      this.abort(call);
      return;
    }
    const predicates = this.cfg.predicates;
    const failed = how === 'fail' || (how === 'bad' && predicates) || (how === 'nonfail' && !predicates);
    // Only a failure carries a server hint.
    this.count(call, { failed, label, hint: how === 'fail' ? hint : undefined });
  }

  /** fn's signal aborts while fn is pending: fn, if it honours it, rejects with the reason. */
  cut(call: ModelCall, kind: AbortKind, what = 'abort'): void {
    if (call.aborted || call.done) return;
    seen.add(`${what} ${kind} ${call.gen === this.gen ? '' : 'stale '}${call.from}`);
    call.aborted = kind;
    if (call.honours) {
      call.done = true;
      // fn rejects with its signal's reason: the caller's own (labelled by call), or the breaker's.
      call.result = [false, kind === 'caller' ? `reason:${call.id}` : kind];
    }
  }

  /** The call stops counting without an outcome: an AbortError, the caller's signal, isolate(). */
  abort(call: ModelCall, kind?: AbortKind): void {
    if (kind) this.cut(call, kind);
    if (call.counted) return;
    call.counted = true;
    // Aborts are not outcomes; an aborted probe frees its slot for someone else.
    if (call.from === 'half-open' && call.gen === this.gen) this.admitted--;
  }

  /**
   * The caller's signal aborts with a timeout: over for the breaker at once, as an abort, but counted as
   * a failure with the reason (unless `isFailure` turns it down: then a success, like any error).
   */
  callerTimeout(call: ModelCall, failed: boolean): void {
    this.cut(call, 'caller', 'timeout');
    this.count(call, { failed, label: `reason:${call.id}`, hint: undefined });
  }

  count(call: ModelCall, { failed, label, hint }: Outcome): void {
    if (call.counted) return;
    call.counted = true;
    const durationMs = this.now - call.start;
    const slow = durationMs > (this.cfg.slowMs ?? Infinity);
    if (this.cfg.hooks === 'all')
      this.outcomeLog.push(
        failed ? ['failure', call.from, durationMs, slow, label] : ['success', call.from, durationMs, slow],
      );
    if (slow) seen.add(`slow ${call.from}`);
    // Results of calls that started before a transition are ignored.
    if (call.gen !== this.gen) {
      seen.add('stale result');
      return;
    }
    if (this.state === 'closed') {
      this.consecutive = failed ? this.consecutive + 1 : 0;
      this.counted.push([this.now, failed, slow]);
      let trip = this.consecutive >= this.cfg.threshold;
      const w = this.cfg.window;
      if (w) {
        const c = this.counts();
        if (
          c.calls >= w.minimumCalls &&
          (c.failures / c.calls >= w.failureRate || c.slowCalls / c.calls >= w.slowRate)
        ) {
          seen.add(c.failures / c.calls >= w.failureRate ? 'failure rate trip' : 'slow rate trip');
          trip = true;
        }
      }
      if (!trip) return;
    } else {
      // Half-open: a slow probe is a failed probe; decide as soon as the outcome is certain.
      if (failed || slow) this.bad++;
      else this.good++;
      if (this.good >= this.needed) {
        this.go('closed');
        return;
      }
      const undecided = this.cfg.probes - this.good - this.bad;
      if (this.good + undecided >= this.needed) return;
    }
    this.trips++;
    if (failed && hint !== undefined) seen.add('hint');
    if (this.trips > 1) seen.add('trip 2+');
    const period =
      failed && hint !== undefined
        ? hint
        : typeof this.cfg.openFor === 'number'
          ? this.cfg.openFor
          : backoff(this.trips);
    this.openUntil = this.now + Math.min(period, this.maxOpen);
    this.go('open');
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      // The next deadline: the end of the open period, or a probe's timeout (in admission order on ties).
      let next = this.state === 'open' && !this.isolations ? this.openUntil : Infinity;
      let probe: ModelCall | undefined;
      for (const call of this.calls)
        if (!call.counted && call.deadline < Infinity && call.deadline <= until && call.deadline < next) {
          next = call.deadline;
          probe = call;
        }
      if (next > until) break;
      this.now = Math.max(this.now, next);
      if (probe) {
        // A probe that has not settled after probeTimeout counts as failed and its signal aborts.
        seen.add('probe timeout');
        this.count(probe, { failed: true, label: 'timeout', hint: undefined });
        if (!probe.done) {
          probe.aborted = 'timeout';
          if (probe.honours) {
            probe.done = true;
            probe.result = [false, 'timeout'];
          }
        }
      } else this.look();
    }
    this.now = until;
  }

  isolate(): void {
    if (!this.isolations) this.go('open');
    this.isolations++;
    // Holds the circuit open: aborts calls in flight.
    for (const call of this.calls)
      if (!call.done && !call.aborted && !call.forgotten) this.abort(call, 'isolate');
  }

  release(epoch: number): void {
    if (epoch === this.epoch && !--this.isolations) this.go('closed');
  }

  reset(): void {
    this.isolations = 0;
    this.epoch++;
    // A fresh start: calls in flight are forgotten, isolate() no longer aborts them.
    for (const call of this.calls) call.forgotten = true;
    this.go('closed');
  }

  snapshot(): BreakerSnapshot {
    this.look();
    return {
      state: this.state,
      isolated: this.isolations > 0,
      openUntil: this.state === 'open' && !this.isolations ? this.openUntil : null,
      trips: this.trips,
      consecutiveFailures: this.consecutive,
      ...this.counts(),
    };
  }

  /** A model of a breaker started from `snap` (`initialState`): counts carry over, no probe in flight. */
  static restore(cfg: Config, now: number, snap: BreakerSnapshot): Model {
    const m = new Model(cfg, now);
    seen.add(`restore ${snap.isolated ? 'isolated' : snap.state}`);
    m.state = snap.state;
    m.trips = snap.trips;
    m.consecutive = snap.consecutiveFailures;
    m.openUntil = snap.openUntil ?? 0;
    // The counts (decision 0124), as outcomes at `now`: without a window in any order (only totals are
    // read), in a time window all in the current bucket. A count window's are the newest `size` of `calls`
    // outcomes spread evenly: the j-th failure at ceil((j + 1) * calls / failures) - 1, the k-th slow call at
    // the ceil((k + 1) * failures / slowCalls) - 1-th failure.
    const { calls: c, failures: f, slowCalls: s } = snap;
    if (cfg.window?.type === 'count') {
      const failAt = new Set(Array.from({ length: f }, (_, j) => Math.ceil(((j + 1) * c) / f) - 1));
      const slowAt = new Set(Array.from({ length: s }, (_, k) => Math.ceil(((k + 1) * f) / s) - 1));
      let j = 0;
      for (let i = 0; i < c; i++) {
        const failed = failAt.has(i);
        m.counted.push([now, failed, failed && slowAt.has(j)]);
        if (failed) j++;
      }
      m.counted = m.counted.slice(-cfg.window.size);
    } else m.counted = Array.from({ length: c }, (_, i) => [now, i < f, i < s]);
    if (c) seen.add('restore counts');
    if (snap.isolated) {
      m.isolations = 1;
      m.state = 'open';
    }
    return m;
  }
}

// ---------------------------------------------------------------------------------------------------
// The real side

interface RealCall {
  readonly model: ModelCall;
  ran: boolean;
  signal: AbortSignal | undefined;
  caller: AbortController | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  result: [boolean, unknown] | undefined;
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The label a hook or a result carries: the value itself, an error's label, or what the abort was. */
function labelOf(x: unknown, callerReasons: ReadonlyMap<unknown, string>): string {
  if (typeof x === 'string') return x;
  if (callerReasons.has(x)) return callerReasons.get(x)!;
  if (isCircuitOpenError(x)) return x.isolated ? 'isolate' : 'open';
  if (x instanceof DOMException && x.name === 'TimeoutError') return 'timeout';
  return (x as { label?: string }).label ?? '?';
}

function optionsOf(
  cfg: Config,
  clock: Clock,
  hooks: { state: HookEntry[]; outcome: HookEntry[]; rejects: unknown[] },
  callerReasons: ReadonlyMap<unknown, string>,
): BreakerOptions {
  const w = cfg.window;
  return {
    clock,
    failureThreshold: cfg.threshold,
    openFor: cfg.openFor === 'backoff' ? backoff : cfg.openFor,
    ...(cfg.maxOpenFor === undefined ? {} : { maxOpenFor: cfg.maxOpenFor }),
    ...(cfg.slowMs === undefined ? {} : { slowCallDuration: cfg.slowMs }),
    halfOpenProbes: cfg.probes,
    halfOpenSuccessRatio: cfg.ratio,
    probeTimeout: cfg.probeTimeout,
    ...(w && {
      window: slidingWindow({
        type: w.type,
        ...(w.type === 'count' ? { size: w.size } : { buckets: w.size, duration: w.duration }),
        failureRateThreshold: w.failureRate,
        slowCallRateThreshold: w.slowRate,
        minimumCalls: w.minimumCalls,
      }),
    }),
    ...(cfg.predicates && {
      isFailure: (e: unknown) => (e as { nonFailure?: boolean }).nonFailure !== true,
      isResultFailure: (v: unknown) => typeof v === 'string' && v.startsWith('bad'),
    }),
    ...(cfg.hooks !== 'none' && {
      onStateChange: (to: BreakerState, from: BreakerState) => hooks.state.push([to, from]),
      onReject: (error: CircuitOpenError) => hooks.rejects.push(error),
    }),
    ...(cfg.hooks === 'all' && {
      onSuccess: ({ state, durationMs, slow }: SuccessEvent) =>
        hooks.outcome.push(['success', state, durationMs, slow]),
      onFailure: ({ state, durationMs, slow, error }: FailureEvent) =>
        hooks.outcome.push(['failure', state, durationMs, slow, labelOf(error, callerReasons)]),
    }),
  };
}

async function run(cfg: Config, cmds: readonly Cmd[]): Promise<void> {
  const clock = createFakeClock({ now: cfg.start });
  let hooks = { state: [] as HookEntry[], outcome: [] as HookEntry[], rejects: [] as unknown[] };
  const callerReasons = new Map<unknown, string>();
  let breaker: Breaker = createBreaker(optionsOf(cfg, clock, hooks, callerReasons));
  let model = new Model(cfg, cfg.start);
  let calls: RealCall[] = [];
  let releases: { release: () => void; epoch: number }[] = [];
  // The error of each episode (a generation of the model) and the generation it belongs to.
  let episodes = new Map<number, CircuitOpenError>();
  let nextId = 0;

  const outcome = (how: How, id: number, hint: number | undefined): [boolean, unknown, string] => {
    const label = `${how}:${id}`;
    if (how === 'ok') return [true, label, label];
    if (how === 'bad') return [true, `bad:${id}`, `bad:${id}`];
    const error = how === 'abortErr' ? new DOMException('aborted', 'AbortError') : new Error(label);
    Object.assign(
      error,
      { label },
      how === 'nonfail' && { nonFailure: true },
      how === 'fail' && hint !== undefined && { retryAfterMs: hint },
    );
    return [false, error, label];
  };

  // A caller's timeout in the shapes the breaker must recognise: @integ/core's TimeoutError, the
  // DOMException of AbortSignal.timeout(), an error known only by its code (a minifier renames classes).
  // Every fourth is one the predicates' isFailure turns down (then a success, like any error it turns down).
  const timeoutOf = (id: number): object => {
    const shapes = [
      () => new TimeoutError(100, `Attempt ${id}`),
      () => new DOMException('signal timed out', 'TimeoutError'),
      () => ({ code: 'ERR_TIMEOUT' }),
    ];
    const reason = Object.assign(
      shapes[id % 3]!(),
      { label: `reason:${id}` },
      id % 4 === 0 && { nonFailure: true },
    );
    callerReasons.set(reason, reason.label);
    return reason;
  };
  const timeoutFails = (id: number): boolean => !(cfg.predicates && id % 4 === 0);

  const step = async (cmd: Cmd): Promise<void> => {
    switch (cmd.t) {
      case 'start': {
        const id = nextId++;
        const caller = cmd.signal === true ? new AbortController() : undefined;
        const timedOut = cmd.signal === 'timedOut' ? timeoutOf(id) : undefined;
        const started = model.start(id, cmd.honours, timedOut !== undefined);
        const mc = typeof started === 'object' ? started : undefined;
        const rejectedIn = model.gen;
        const rc: RealCall = {
          model: mc ?? ({ id } as ModelCall),
          ran: false,
          signal: undefined,
          caller,
          resolve: () => {},
          reject: () => {},
          result: undefined,
        };
        const fn = ({ signal }: { signal: AbortSignal }): unknown => {
          rc.ran = true;
          rc.signal = signal;
          if (cmd.how === 'hang')
            return new Promise((resolve, reject) => {
              rc.resolve = resolve;
              rc.reject = reject;
              if (cmd.honours) signal.addEventListener('abort', () => reject(signal.reason));
            });
          const [ok, subject] = outcome(cmd.how, id, cmd.hint);
          if (cmd.sync) {
            if (ok) return subject;
            throw subject;
          }
          return ok ? Promise.resolve(subject) : Promise.reject(subject);
        };
        const opts = caller ? { signal: caller.signal } : timedOut && { signal: AbortSignal.abort(timedOut) };
        if (cmd.api === 'execute')
          breaker.execute(fn, opts).then(
            (v) => (rc.result = [true, v]),
            (e) => (rc.result = [false, e]),
          );
        else
          breaker.tryExecute(fn, opts).then((r) => (rc.result = r.ok ? [true, r.value] : [false, r.error]));
        expect(rc.ran, 'admitted').toBe(mc !== undefined);
        if (mc && cmd.how !== 'hang') {
          const [ok, , label] = outcome(cmd.how, id, cmd.hint);
          model.settle(mc, cmd.how, label, ok ? undefined : cmd.hint);
        }
        await flush();
        if (started === 'timedOut') expect(rc.result?.[1]).toBe(timedOut);
        else if (!mc) {
          // Rejected at once with the episode's one CircuitOpenError.
          const error = rc.result?.[1];
          expect(rc.result?.[0]).toBe(false);
          expect(isCircuitOpenError(error)).toBe(true);
          const known = episodes.get(rejectedIn);
          if (known) expect(error).toBe(known);
          else {
            expect([...episodes.values()]).not.toContain(error);
            episodes.set(rejectedIn, error as CircuitOpenError);
          }
          expect((error as CircuitOpenError).isolated).toBe(model.isolations > 0);
          if (cfg.hooks !== 'none') expect(hooks.rejects.at(-1)).toBe(error);
        } else calls.push(rc);
        break;
      }
      case 'settle': {
        const pending = calls.filter((c) => !c.model.done);
        const rc = pending[cmd.pick % pending.length];
        if (!rc) return;
        if (cmd.how === 'callerAbort') {
          if (!rc.caller) return;
          const reason = { label: `reason:${rc.model.id}` };
          callerReasons.set(reason, reason.label);
          model.abort(rc.model, 'caller');
          rc.caller.abort(reason);
        } else if (cmd.how === 'callerTimeout') {
          if (!rc.caller) return;
          const { id } = rc.model;
          model.callerTimeout(rc.model, timeoutFails(id));
          rc.caller.abort(timeoutOf(id));
        } else {
          const [ok, subject, label] = outcome(cmd.how, rc.model.id, cmd.hint);
          model.settle(rc.model, cmd.how, label, ok ? undefined : cmd.hint);
          if (ok) rc.resolve(subject);
          else rc.reject(subject);
        }
        await flush();
        break;
      }
      case 'advance':
        model.advance(cmd.ms);
        await clock.advance(cmd.ms);
        break;
      case 'isolate': {
        model.isolate();
        releases.push({ release: breaker.isolate(), epoch: model.epoch });
        await flush();
        break;
      }
      case 'release': {
        // Mostly one not released yet; every fourth pick may repeat a release (it must do nothing).
        const open = cmd.pick % 4 ? releases.filter((x) => x.epoch !== -1) : releases;
        const r = open[cmd.pick % open.length];
        if (!r) return;
        // Idempotent: a second call of the same release does nothing.
        if (r.epoch !== -1) model.release(r.epoch);
        r.epoch = -1;
        r.release();
        await flush();
        break;
      }
      case 'reset':
        model.reset();
        breaker.reset();
        await flush();
        break;
      case 'recreate': {
        // A serverless restart: the snapshot through JSON, a new breaker and a new model from it. The
        // old breaker's calls and release functions are its own; they leave the test with it.
        const snap = JSON.parse(JSON.stringify(breaker.snapshot())) as BreakerSnapshot;
        expect(snap).toEqual(model.snapshot());
        hooks = { state: [], outcome: [], rejects: [] };
        breaker = createBreaker({ ...optionsOf(cfg, clock, hooks, callerReasons), initialState: snap });
        model = Model.restore(cfg, clock.now(), snap);
        calls = [];
        releases = [];
        episodes = new Map();
        break;
      }
    }
  };

  for (const cmd of cmds) {
    await step(cmd);
    // The same look on both sides (reading state moves an ended open period to half-open).
    model.look();
    expect(clock.now()).toBe(model.now);
    expect(breaker.state).toBe(model.state);
    expect(breaker.snapshot()).toEqual(model.snapshot());
    expect(hooks.state).toEqual(model.stateLog);
    expect(hooks.outcome).toEqual(model.outcomeLog);
    expect(hooks.rejects.length).toBe(cfg.hooks === 'none' ? 0 : model.rejects);
    // Every episode's error reads the breaker's retryAfterMs live.
    for (const error of episodes.values()) expect(error.retryAfterMs).toBe(model.retryAfter());
    for (const rc of calls) {
      const m = rc.model;
      // A call's promise settles exactly when its fn does, with what fn settled with.
      expect(rc.result === undefined, `call ${m.id} settled`).toBe(!m.done);
      if (rc.result) expect([rc.result[0], labelOf(rc.result[1], callerReasons)]).toEqual(m.result);
      else {
        // The signal fn holds aborts when the breaker gives up on the call, with the reason why.
        expect(rc.signal?.aborted, `call ${m.id} signal`).toBe(m.aborted !== undefined);
        if (m.aborted)
          expect(labelOf(rc.signal?.reason, callerReasons)).toBe(
            m.aborted === 'caller' ? `reason:${m.id}` : m.aborted,
          );
      }
    }
    calls = calls.filter((rc) => !rc.model.done);
    model.calls = model.calls.filter((c) => !c.done);
  }
}

// ---------------------------------------------------------------------------------------------------
// Config families

const windowArb = (type: 'count' | 'time', slowRates = [0.5, 1, Infinity]): fc.Arbitrary<WindowConfig> =>
  fc
    .record({
      size: type === 'count' ? fc.integer({ min: 1, max: 6 }) : fc.constantFrom(1, 3, 4, 7),
      duration: fc.constantFrom(600, 999, 1_000),
      failureRate: fc.constantFrom(0.5, 0.75, 1, Infinity),
      slowRate: fc.constantFrom(...slowRates),
      minimumCalls: fc.integer({ min: 1, max: 6 }),
    })
    .map((w) => ({
      ...w,
      type,
      minimumCalls: type === 'count' ? Math.min(w.minimumCalls, w.size) : w.minimumCalls,
    }));

const configArb = (over: { [K in keyof Config]?: fc.Arbitrary<Config[K]> }): fc.Arbitrary<Config> =>
  fc.record({
    threshold: fc.constantFrom(1, 2, 3, 5),
    openFor: fc.constantFrom<number | 'backoff'>(100, 1_000),
    maxOpenFor: fc.constant(undefined),
    window: fc.constant(undefined),
    slowMs: fc.constant(undefined),
    probes: fc.constant(1),
    ratio: fc.constant(1),
    probeTimeout: fc.constantFrom(100, 500),
    hooks: fc.constantFrom('none' as const, 'state' as const, 'all' as const),
    predicates: fc.boolean(),
    start: fc.constantFrom(0, 123_456),
    ...over,
  }) as fc.Arbitrary<Config>;

// Every family must reach these (and its own extras), so a generator that stops reaching a state fails.
const common = [
  'closed->open',
  'open->half-open',
  'half-open->closed',
  'half-open->open',
  'reject open',
  'reject isolated',
  'restore open',
  'restore half-open',
  'restore isolated',
  'restore counts',
  'stale result',
  'abort caller closed',
  'abort isolate stale closed',
  'timeout caller closed',
  'timeout caller stale closed',
  'timed out before the call closed',
  'hint',
];

const families: [string, fc.Arbitrary<Config>, string[]][] = [
  ['consecutive failures only', configArb({}), ['reject half-open']],
  [
    'a count window',
    configArb({ threshold: fc.constantFrom(3, Infinity), window: windowArb('count') }),
    ['failure rate trip'],
  ],
  [
    'a time window',
    configArb({ threshold: fc.constantFrom(3, Infinity), window: windowArb('time') }),
    ['failure rate trip', 'bucket expired'],
  ],
  [
    'slow calls',
    configArb({
      threshold: fc.constantFrom(2, Infinity),
      slowMs: fc.constantFrom(50, 100),
      window: fc.option(fc.oneof(windowArb('count', [0.5, 0.75]), windowArb('time', [0.5, 0.75])), {
        nil: undefined,
      }),
      probes: fc.constantFrom(1, 3),
      ratio: fc.constantFrom(1, 2 / 3),
      // Room between slowCallDuration and the probe timeout for a slow probe.
      probeTimeout: fc.constant(500),
    }),
    ['slow closed', 'slow half-open', 'slow rate trip', 'failure rate trip'],
  ],
  [
    'halfOpenProbes 1 and 3 with success ratios',
    configArb({
      threshold: fc.constantFrom(1, 2),
      probes: fc.constantFrom(1, 3),
      ratio: fc.constantFrom(1, 2 / 3, 0.5, 1 / 3),
      slowMs: fc.option(fc.constant(100), { nil: undefined }),
    }),
    [
      'probe timeout',
      'reject half-open',
      'abort caller half-open',
      'abort isolate stale half-open',
      'timeout caller half-open',
      'timed out before the call half-open',
    ],
  ],
  [
    'a backoff openFor, server hints and maxOpenFor',
    configArb({
      threshold: fc.constantFrom(1, 2),
      openFor: fc.constant('backoff' as const),
      maxOpenFor: fc.option(fc.constantFrom(300, 1_000), { nil: undefined }),
      probes: fc.constantFrom(1, 3),
      ratio: fc.constantFrom(1, 2 / 3),
    }),
    ['trip 2+', 'probe timeout'],
  ],
];

const { INTEG_MODEL_SEED, INTEG_MODEL_RUNS } = process.env;

describe('createBreaker against a reference model', () => {
  families.forEach(([name, config, extra], i) => {
    it(`agrees step by step with ${name}`, async () => {
      seen.clear();
      await fc.assert(
        fc.asyncProperty(
          config,
          fc.array(cmdArb, { minLength: 1, maxLength: 80, size: 'max' }),
          (cfg, cmds) => run(cfg, cmds),
        ),
        // Fixed seeds: CI runs the same sequences every time. To explore further, run with other
        // seeds and more runs: INTEG_MODEL_SEED=7 INTEG_MODEL_RUNS=2000 (about 1 s per 250 runs).
        {
          seed: Number(INTEG_MODEL_SEED ?? 4_2026 + i),
          numRuns: Number(INTEG_MODEL_RUNS ?? 300),
        },
      );
      const reached = [...common, ...extra];
      expect(reached.filter((event) => !seen.has(event))).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// The disagreements the model found, as examples

describe('isolate() and the calls in flight', () => {
  const hang =
    (started: AbortSignal[]) =>
    ({ signal }: { signal: AbortSignal }) => {
      started.push(signal);
      return new Promise<string>(() => {});
    };

  it('aborts calls that started before the breaker tripped, not only those of the current state', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, probeTimeout: 1_000, openFor: 100 });
    const signals: AbortSignal[] = [];
    void breaker.execute(hang(signals)); // closed, shared signal
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {}); // trips
    await clock.advance(100);
    void breaker.execute(hang(signals)); // the probe
    await breaker.execute(() => 'never').catch(() => {}); // rejected: the slot is taken
    breaker.isolate();
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
  });

  it('forgets calls started before reset(): isolate() afterwards leaves them running', async () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    const signals: AbortSignal[] = [];
    void breaker.execute(hang(signals));
    breaker.reset();
    void breaker.execute(hang(signals));
    breaker.isolate();
    expect(signals.map((s) => s.aborted)).toEqual([false, true]);
  });

  it('reports no onSuccess or onFailure for a call it aborted, however fn ends', async () => {
    const outcomes: string[] = [];
    const breaker = createBreaker({
      clock: createFakeClock(),
      onSuccess: () => outcomes.push('success'),
      onFailure: () => outcomes.push('failure'),
    });
    let settle!: (value: string) => void;
    const ignoring = breaker.execute(() => new Promise<string>((resolve) => (settle = resolve)));
    const honouring = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    breaker.isolate();
    settle('late');
    await expect(ignoring).resolves.toBe('late');
    await expect(honouring).rejects.toSatisfy(isCircuitOpenError);
    expect(outcomes).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Memory: the time window's buckets are a fixed ring

// `gc()` for this test only: the heap is measured after a full collection, so what the window retains
// is all that can have grown.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const retainedAfter = (work: () => void): number => {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  work();
  gc();
  gc();
  return process.memoryUsage().heapUsed - before;
};

describe('slidingWindow (time) memory', () => {
  it('keeps a constant number of buckets whatever the call pattern', () => {
    // A pattern of gaps (within a bucket, across one, across the whole window) and bursts, repeated
    // until 200,000 calls have landed in up to 200,000 distinct buckets.
    const pattern = fc.array(
      fc.record({
        gap: fc.oneof(
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: 0, max: 40 }),
          fc.integer({ min: 0, max: 5_000 }),
        ),
        burst: fc.integer({ min: 1, max: 4 }),
        failed: fc.boolean(),
        slow: fc.boolean(),
      }),
      { minLength: 1, maxLength: 20 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom(1, 4, 10, 60),
        fc.constantFrom(10, 1_000, 60_000),
        pattern,
        (buckets, duration, steps) => {
          // A bucket is 1 ms at least.
          const factory = slidingWindow({
            type: 'time',
            buckets,
            duration: Math.max(duration, buckets),
            minimumCalls: 1e6,
          });
          const drive = (window: ReturnType<typeof factory>): void => {
            let now = 0;
            for (let calls = 0; calls < 200_000; ) {
              for (const { gap, burst, failed, slow } of steps) {
                now += gap;
                for (let i = 0; i < burst; i++, calls++) window.record(failed, slow, now);
              }
              window.counts(now);
            }
          };
          drive(factory()); // warm up, so compiled code is not counted
          // The smaller of two measurements: a collection can leave a few hundred kB of noise, never
          // in the same direction twice, while a leak shows every time.
          const windows = [factory(), factory()];
          const grown = Math.min(...windows.map((window) => retainedAfter(() => drive(window))));
          // The window holds the last `buckets` buckets and nothing else: a Map entry per bucket or a
          // number per call would hold megabytes by now.
          expect(grown).toBeLessThan(768 * 1024);
          for (const window of windows) expect(window.counts(Number.MAX_SAFE_INTEGER).calls).toBe(0);
        },
      ),
      { seed: 2026, numRuns: 12 },
    );
    // ~2 s alone, 9 s in a loaded CI run: the default 20 s is too close.
  }, 60_000);
});
