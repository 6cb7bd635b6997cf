/**
 * A randomized model test of createQueue on `memoryStore()` and `sqliteStore({ path: ':memory:' })` side by
 * side. fast-check draws a queue configuration and a command sequence (push and pushMany with random JSON
 * payloads and options, next() alone or several at once, ack/fail/extend by current, expired, stale and
 * settled holders, time passing, redrive, close and reopen) over two queues sharing each store, all on one
 * fake clock. A reference model written from the README, DESIGN.md and decisions 0030 and 0033 (not from
 * the sources) predicts every answer; after every step each store's jobs (`list()`) and `stats()` of both
 * queues must equal the model's. Counters check that every rule below is exercised.
 *
 * Model rules:
 * - push: a job `{ id, timestamp (ISO 8601 of now), payload (its JSON), status: 'pending', attempts: 0,
 *   maxAttempts (push's, else queue's, else 3), priority (0), key (null), runAt (now + delay), lastError: null }`.
 *   A key held by a pending or processing job of the same queue returns that job unchanged; pushMany does the
 *   same for each payload in order.
 * - next(): first every processing job of the queue whose lease ended (`leaseUntil <= now`) on its last
 *   attempt becomes dead ("lease expired"). Then the claimable jobs are the pending ones with `runAt <= now`
 *   and the processing ones whose lease ended with attempts left; the first by priority (higher first), then
 *   runAt, then push order is leased: processing, attempts + 1, token + 1 (0 before the first claim),
 *   `leaseUntil = now + leaseMs`, `stalled` when it was taken from an expired lease. None: null. Concurrent
 *   calls get distinct jobs, the same set as calls one after another.
 * - A holder's ack/fail/extend apply while its token is the job's and the job is processing (also after its
 *   lease ended, if nobody re-claimed it); otherwise LeaseLostError and nothing changes. A second ack/fail
 *   on one leased job (whatever the first did) is JobSettledError, and so is extend after it.
 * - ack: done. fail(err, { retry, delay }): with attempts left and `retry ?? !final` pending again at
 *   `now + (delay ?? hint ?? backoff(attempts))` (retry's formulas: constant d, linear min(max, d + step(n-1)),
 *   exponential min(max, d factor^(n-1)), jitter 'full' d * r and 'equal' d/2 + d r / 2 with r = random()),
 *   at most 8.64e15; else dead; lastError holds the error's message either way. `final`: the error is marked
 *   `retryable: false` and is neither a RetryError nor one of the queue's own errors of another queue, store or job
 *   (QueueClosedError, StoreUnavailableError, LeaseLostError drawn; decision 0184); `hint`: its `retryAfterMs` (a
 *   RetryError's: its cause's) when a number >= 0, capped by the queue's `maxRetryAfter` (60 000), not jittered
 *   (decision 0181). extend(ms): leaseUntil = now + ms.
 * - redrive({ ids, limit }): dead jobs of the queue in push order (only `ids` when given), each back to
 *   pending with attempts 0 and runAt now, skipping one whose key an active job holds, until `limit` moved;
 *   resolves the count. lastError stays (store contract).
 * - close({ timeout: 0 }): every unsettled job taken with that queue object's next() goes back to pending
 *   (attempts - 1, runAt now) if its holder's token is still current; those holders are settled; push and
 *   next reject with QueueClosedError. The test then opens a new queue object on the same store.
 * - stats(): counts by status, `delayed` = pending with runAt > now, total, `oldestPendingAgeMs` = now minus
 *   the timestamp of the oldest due pending job, 0 when none.
 * - Fractions of a ms in delay, leaseMs, extend(ms), fail's delay and a backoff are rounded up (README, whole ms).
 *   The clock itself only moves by whole ms here: SQLite keeps integer times (decision 0034).
 * Below the model: bad input (the typed error, nothing changed, the lease kept) and the model's findings as examples.
 */

import { isDeepStrictEqual } from 'node:util';
import { isIntegError } from '@integ/core';
import {
  type BackoffSpec,
  createQueue,
  type Job,
  type LeasedJob,
  LeaseLostError,
  memoryStore,
  type PushOptions,
  type Queue,
  QueueClosedError,
  type QueueStats,
  type QueueStore,
  StoreUnavailableError,
} from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { RetryError } from '@integ/retry';
import { createFakeClock, type FakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const START = Date.UTC(2030, 0, 1);
const RANDOM = 0.5;
const QUEUE_NAMES = ['q0', 'q1'] as const;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// ---------------------------------------------------------------------------------------------------------
// Generators

type Status = 'pending' | 'processing' | 'done' | 'dead';

interface Config {
  readonly attempts: number | undefined;
  readonly backoff: BackoffSpec | undefined;
  readonly leaseMs: number | undefined;
  readonly maxRetryAfter: number | undefined;
}

/**
 * What a failure says of itself (decision 0181): nothing, `retryable: true`, `retryable: false` (final), a
 * RetryError of an inner retry() (marked `retryable: false`, not final; its cause carries the hint) or one of the
 * queue's own errors about another queue, store or job (`queueClosed`: a QueueClosedError, StoreUnavailableError
 * or LeaseLostError by message; marked `retryable: false`, not final, decision 0184).
 */
type Mark = 'none' | 'retryable' | 'final' | 'retryError' | 'queueClosed';

type Cmd =
  | {
      readonly t: 'push';
      readonly q: number;
      readonly payload: unknown;
      readonly opts: PushOptions | undefined;
    }
  | {
      readonly t: 'pushMany';
      readonly q: number;
      readonly payloads: readonly unknown[];
      readonly opts: PushOptions | undefined;
    }
  | { readonly t: 'next'; readonly q: number; readonly n: number; readonly leaseMs: number | undefined }
  | { readonly t: 'ack'; readonly h: number }
  | {
      readonly t: 'fail';
      readonly h: number;
      readonly message: string;
      readonly retry: boolean | undefined;
      readonly delay: number | undefined;
      readonly mark: Mark;
      /** The failure's `retryAfterMs`, when it has one (any value: only a number >= 0 is a hint). */
      readonly hint: unknown;
    }
  | { readonly t: 'extend'; readonly h: number; readonly ms: number }
  | { readonly t: 'advance'; readonly ms: number }
  | {
      readonly t: 'redrive';
      readonly q: number;
      readonly ids: readonly number[] | undefined;
      readonly limit: number | undefined;
    }
  | { readonly t: 'close'; readonly q: number };

// JSON values whose round trip is themselves (no -0, no undefined, no '__proto__' key).
const scalarArb = fc.oneof(
  fc.string({ maxLength: 6, unit: 'grapheme' }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
  fc.boolean(),
  fc.constant(null),
);
const { payload: payloadArb } = fc.letrec((tie) => ({
  payload: fc.oneof(
    { depthSize: 'small' },
    scalarArb,
    fc.array(tie('payload'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('to', 'n', 'é', '', 'a b', 'constructor'), tie('payload'), {
      maxKeys: 3,
      noNullPrototype: true,
    }),
  ),
}));

// Fractions of a ms (delays, leases, extend): the queue rounds them up to whole ms on every store.
const fractionArb = fc.integer({ min: 1, max: 20 }).map((n) => n + 0.25);

// Jittered delays are multiples of 4, so d * 0.5 and d * 0.75 are whole ms.
const msArb = fc.integer({ min: 0, max: 100 }).map((n) => n * 4);
const jitterArb = fc.constantFrom('none', 'full', 'equal') as fc.Arbitrary<'none' | 'full' | 'equal'>;
const backoffArb: fc.Arbitrary<BackoffSpec> = fc.oneof(
  msArb,
  msArb.map((delay) => ({ type: 'constant' as const, delay })),
  fc.record(
    { type: fc.constant('linear' as const), delay: msArb, step: msArb, max: msArb, jitter: jitterArb },
    { requiredKeys: ['type', 'delay'] },
  ),
  fc.record(
    {
      type: fc.constant('exponential' as const),
      delay: msArb,
      factor: fc.constantFrom(1, 2, 3),
      max: msArb,
      jitter: jitterArb,
    },
    { requiredKeys: ['type', 'delay', 'jitter'] },
  ),
);

const pushOptionsArb: fc.Arbitrary<PushOptions | undefined> = fc.option(
  fc.record(
    {
      delay: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_500 }), fractionArb),
      priority: fc.integer({ min: -2, max: 2 }),
      key: fc.constantFrom('k1', 'k2'),
      attempts: fc.constantFrom(1, 1, 2, 4),
      backoff: backoffArb,
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const qArb = fc.constantFrom(0, 0, 0, 1);
const handleArb = fc.nat({ max: 40 });

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('push' as const),
      q: qArb,
      payload: payloadArb,
      opts: pushOptionsArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('pushMany' as const),
      q: qArb,
      payloads: fc.array(payloadArb, { maxLength: 4 }),
      opts: pushOptionsArb,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('next' as const),
      q: qArb,
      n: fc.constantFrom(1, 1, 1, 2, 3),
      leaseMs: fc.option(fc.oneof(fc.integer({ min: 1, max: 1_000 }), fractionArb), { nil: undefined }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('ack' as const), h: handleArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('fail' as const),
      h: handleArb,
      message: fc.constantFrom('boom', 'timeout talking to smtp', 'é!'),
      retry: fc.option(fc.boolean(), { nil: undefined }),
      // Half without: the backoff and the error's hint apply then.
      delay: fc.option(fc.oneof(fc.integer({ min: 0, max: 800 }), fractionArb), { nil: undefined, freq: 2 }),
      mark: fc.constantFrom<Mark>(
        'none',
        'none',
        'none',
        'retryable',
        'final',
        'final',
        'retryError',
        'queueClosed',
      ),
      hint: fc.option(
        fc.oneof(
          fc.constant(0),
          fc.integer({ min: 1, max: 2_000 }),
          fractionArb,
          fc.constantFrom(Infinity, 1e12),
          // No hint: not a number >= 0.
          fc.constantFrom(-1, Number.NaN, '500'),
        ),
        { nil: undefined, freq: 2 },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('extend' as const),
      h: handleArb,
      ms: fc.oneof(fc.integer({ min: 1, max: 1_000 }), fractionArb),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 2_500 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('redrive' as const),
      q: qArb,
      ids: fc.option(fc.array(fc.nat({ max: 30 }), { maxLength: 4 }), { nil: undefined, freq: 2 }),
      limit: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined, freq: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('close' as const), q: qArb }) },
);

const configArb: fc.Arbitrary<Config> = fc.record({
  attempts: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  backoff: fc.option(backoffArb, { nil: undefined }),
  leaseMs: fc.option(fc.oneof(fc.integer({ min: 1, max: 1_000 }), fractionArb), { nil: undefined }),
  maxRetryAfter: fc.option(fc.oneof(fc.integer({ min: 0, max: 1_500 }), fractionArb, fc.constant(Infinity)), {
    nil: undefined,
  }),
});

// ---------------------------------------------------------------------------------------------------------
// The model

interface MJob {
  readonly seq: number;
  readonly queue: number;
  readonly payload: unknown;
  readonly createdAt: number;
  readonly priority: number;
  readonly key: string | null;
  readonly maxAttempts: number;
  readonly backoff: BackoffSpec | undefined;
  status: Status;
  attempts: number;
  runAt: number;
  /** What the job's lastError must contain, or null. */
  lastError: string | null;
  token: number;
  leaseUntil: number | null;
}

interface Claim {
  readonly job: MJob;
  readonly stalled: boolean;
}

const DEFAULT_BACKOFF_MODEL: BackoffSpec = {
  type: 'exponential',
  delay: 1000,
  factor: 2,
  max: 3_600_000,
  jitter: 'none',
};
const LEASE_EXPIRED = 'lease expired';
// The last instant a Date holds: a retry due later is due then (README).
const MAX_MS = 8.64e15;

function jittered(d: number, jitter: 'none' | 'full' | 'equal' | undefined): number {
  return jitter === 'full' ? d * RANDOM : jitter === 'equal' ? d / 2 + (d * RANDOM) / 2 : d;
}

/** The wait after failed attempt `n` (1-based), by @integ/retry's README formulas. */
function backoffDelay(spec: BackoffSpec, n: number): number {
  if (typeof spec === 'number') return spec;
  switch (spec.type) {
    case 'constant':
      return spec.delay;
    case 'linear':
      return jittered(
        Math.min(spec.max ?? 30_000, spec.delay + (spec.step ?? spec.delay) * (n - 1)),
        spec.jitter,
      );
    case 'exponential':
      return jittered(
        Math.min(spec.max ?? 30_000, spec.delay * (spec.factor ?? 2) ** (n - 1)),
        spec.jitter ?? 'full',
      );
    default:
      throw new Error('not generated');
  }
}

class Model {
  readonly jobs: MJob[] = [];
  now = START;

  constructor(readonly config: Config) {}

  private isActive(job: MJob): boolean {
    return job.status === 'pending' || job.status === 'processing';
  }

  push(queue: number, payload: unknown, opts: PushOptions | undefined): { job: MJob; created: boolean } {
    const key = opts?.key ?? null;
    const holder =
      key === null
        ? undefined
        : this.jobs.find((j) => j.queue === queue && j.key === key && this.isActive(j));
    if (holder !== undefined) return { job: holder, created: false };
    const job: MJob = {
      seq: this.jobs.length,
      queue,
      payload: JSON.parse(JSON.stringify(payload)),
      createdAt: this.now,
      priority: opts?.priority ?? 0,
      key,
      maxAttempts: opts?.attempts ?? this.config.attempts ?? 3,
      backoff: opts?.backoff,
      status: 'pending',
      attempts: 0,
      runAt: this.now + Math.ceil(opts?.delay ?? 0),
      lastError: null,
      token: 0,
      leaseUntil: null,
    };
    this.jobs.push(job);
    return { job, created: true };
  }

  private expired(job: MJob): boolean {
    return job.status === 'processing' && (job.leaseUntil as number) <= this.now;
  }

  /** Last attempts whose lease ended become dead; returns how many. */
  reap(queue: number): number {
    let n = 0;
    for (const job of this.jobs)
      if (job.queue === queue && this.expired(job) && job.attempts >= job.maxAttempts) {
        job.status = 'dead';
        job.leaseUntil = null;
        job.lastError = LEASE_EXPIRED;
        n++;
      }
    return n;
  }

  claim(queue: number, leaseMs: number): Claim | null {
    const candidates = this.jobs.filter(
      (j) =>
        j.queue === queue &&
        ((j.status === 'pending' && j.runAt <= this.now) || (this.expired(j) && j.attempts < j.maxAttempts)),
    );
    candidates.sort((a, b) => b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq);
    const job = candidates[0];
    if (job === undefined) return null;
    const stalled = job.status === 'processing';
    job.status = 'processing';
    job.attempts += 1;
    job.token += 1;
    job.leaseUntil = this.now + Math.ceil(leaseMs);
    return { job, stalled };
  }

  holds(job: MJob, token: number): boolean {
    return job.status === 'processing' && job.token === token;
  }

  ack(job: MJob): void {
    job.status = 'done';
    job.leaseUntil = null;
  }

  /**
   * Returns whether the job will run again. Only `retryable: false` of a failure that is neither a RetryError
   * nor one of the queue's own errors (0184) is final, unless `retry` is given; a `retryAfterMs` number >= 0 (a RetryError's:
   * that of its cause) replaces the backoff, capped by `maxRetryAfter` (60 000), unless `delay` is given.
   */
  fail(
    job: MJob,
    message: string,
    retry: boolean | undefined,
    delay: number | undefined,
    mark: Mark = 'none',
    hint: unknown = undefined,
  ): boolean {
    job.lastError = message;
    job.leaseUntil = null;
    if ((retry ?? mark !== 'final') && job.attempts < job.maxAttempts) {
      const cap = this.config.maxRetryAfter ?? 60_000;
      job.status = 'pending';
      job.runAt = Math.min(
        MAX_MS,
        this.now +
          (delay !== undefined
            ? Math.ceil(delay)
            : typeof hint === 'number' && hint >= 0
              ? Math.ceil(Math.min(hint, cap))
              : Math.ceil(
                  backoffDelay(job.backoff ?? this.config.backoff ?? DEFAULT_BACKOFF_MODEL, job.attempts),
                )),
      );
      return true;
    }
    job.status = 'dead';
    return false;
  }

  /** Returns [moved, skipped because of a key, whether the limit left dead jobs behind]. */
  redrive(
    queue: number,
    ids: ReadonlySet<number> | undefined,
    limit: number | undefined,
  ): [number, number, boolean] {
    let moved = 0;
    let skipped = 0;
    for (const job of this.jobs) {
      if (job.queue !== queue || job.status !== 'dead' || (ids !== undefined && !ids.has(job.seq))) continue;
      if (limit !== undefined && moved >= limit) return [moved, skipped, true];
      if (
        job.key !== null &&
        this.jobs.some((j) => j.queue === queue && j.key === job.key && this.isActive(j))
      ) {
        skipped++;
        continue;
      }
      job.status = 'pending';
      job.attempts = 0;
      job.runAt = this.now;
      moved++;
    }
    return [moved, skipped, false];
  }

  release(job: MJob): void {
    job.status = 'pending';
    job.attempts = Math.max(0, job.attempts - 1);
    job.runAt = this.now;
    job.leaseUntil = null;
  }

  stats(queue: number): QueueStats {
    const counts = { pending: 0, processing: 0, done: 0, dead: 0 };
    let delayed = 0;
    let oldest: number | undefined;
    for (const job of this.jobs) {
      if (job.queue !== queue) continue;
      counts[job.status] += 1;
      if (job.status !== 'pending') continue;
      if (job.runAt > this.now) delayed++;
      else if (oldest === undefined || job.createdAt < oldest) oldest = job.createdAt;
    }
    return {
      ...counts,
      delayed,
      total: counts.pending + counts.processing + counts.done + counts.dead,
      oldestPendingAgeMs: oldest === undefined ? 0 : this.now - oldest,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Running both stores against the model

interface Side {
  readonly name: string;
  readonly store: QueueStore;
  readonly queues: Queue<unknown>[];
  /** Model seq -> this store's id. */
  readonly ids: Map<number, string>;
  readonly seqOf: Map<string, number>;
}

interface Holder {
  readonly q: number;
  readonly generation: number;
  readonly seq: number;
  readonly token: number;
  /** ack or fail was called, or close() returned the job. */
  settled: boolean;
  /** The leased job per side. */
  readonly real: LeasedJob<unknown>[];
}

const seen = new Set<string>();

const iso = (ms: number): string => new Date(ms).toISOString();

let lastRejection: unknown;

/** 'ok' or the IntegError code a call rejected with (anything else is a failure of the test). */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    lastRejection = error;
    if (isIntegError(error)) return error.code;
    throw error;
  }
}

/**
 * A real job as the test compares it: `lastError` is 'set' when it holds the model's text (`expected`; any text is
 * shown in full when the model has none), `timestamp` is flagged when not ISO 8601.
 */
const shape = (job: Job<unknown>, expected: string | null) => ({
  id: job.id,
  timestamp: ISO.test(job.timestamp) ? job.timestamp : `not ISO 8601: ${job.timestamp}`,
  payload: job.payload,
  status: job.status,
  attempts: job.attempts,
  maxAttempts: job.maxAttempts,
  priority: job.priority,
  key: job.key,
  runAt: job.runAt,
  lastError:
    job.lastError === null ||
    (expected !== null &&
      (expected === LEASE_EXPIRED ? /lease.*expired/i.test(job.lastError) : job.lastError.includes(expected)))
      ? job.lastError && 'set'
      : job.lastError,
});

/** The model's job in the shape {@link shape} gives a real one. */
const modelShape = (side: Side, job: MJob) => ({
  id: side.ids.get(job.seq),
  timestamp: iso(job.createdAt),
  payload: job.payload,
  status: job.status,
  attempts: job.attempts,
  maxAttempts: job.maxAttempts,
  priority: job.priority,
  key: job.key,
  runAt: iso(job.runAt),
  lastError: job.lastError === null ? null : 'set',
});

function expectJob(side: Side, actual: Job<unknown>, job: MJob): void {
  expect(shape(actual, job.lastError), `${side.name}: job #${job.seq}`).toEqual(modelShape(side, job));
}

/**
 * `expect(actual).toEqual(expected)`, called only when the two differ (node's strict deep equality, which implies
 * toEqual's): an expect per job and step was half the test's time (about 90,000 jobs compared).
 */
function agree(actual: unknown, expected: unknown, message: string): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual, message).toEqual(expected);
}

async function checkAll(model: Model, sides: readonly Side[]): Promise<void> {
  for (const side of sides)
    for (let q = 0; q < QUEUE_NAMES.length; q++) {
      const queue = side.queues[q] as Queue<unknown>;
      const listed = await queue.list({ limit: 10_000 });
      // Nothing lost, nothing duplicated: exactly the model's jobs, in push order, each as the model has it.
      agree(
        listed.map((j) => shape(j, model.jobs[side.seqOf.get(j.id) as number]?.lastError ?? null)),
        model.jobs.filter((j) => j.queue === q).map((j) => modelShape(side, j)),
        `${side.name} ${QUEUE_NAMES[q]}: jobs`,
      );
      agree(await queue.stats(), model.stats(q), `${side.name} ${QUEUE_NAMES[q]}: stats`);
    }
}

function makeQueue(store: QueueStore, q: number, config: Config, clock: FakeClock): Queue<unknown> {
  return createQueue<unknown>({
    name: QUEUE_NAMES[q] as string,
    store,
    clock,
    random: () => RANDOM,
    ...(config.attempts === undefined ? {} : { attempts: config.attempts }),
    ...(config.backoff === undefined ? {} : { backoff: config.backoff }),
    ...(config.leaseMs === undefined ? {} : { leaseMs: config.leaseMs }),
    ...(config.maxRetryAfter === undefined ? {} : { maxRetryAfter: config.maxRetryAfter }),
  });
}

/** The failure a `fail` command passes, and the text its lastError must contain. */
function failure(message: string, mark: Mark, hint: unknown): [error: unknown, lastError: string] {
  const fields = hint === undefined ? {} : { retryAfterMs: hint };
  switch (mark) {
    case 'none':
      return [Object.assign(new Error(message), fields), message];
    case 'retryable':
    case 'final':
      return [Object.assign(new Error(message), { retryable: mark === 'retryable' }, fields), message];
    case 'retryError':
      return [
        new RetryError(2, [new Error('first'), Object.assign(new Error(message), fields)]),
        'Retry gave up',
      ];
    case 'queueClosed':
      // The queue's own errors about another queue, store or job: marked retryable: false, none final (0184).
      // Chosen by the message already drawn, so the draws (and the paths seed 3 reaches) stay as they were.
      if (message === 'boom') return [Object.assign(new StoreUnavailableError(message), fields), message];
      if (message === 'é!')
        return [Object.assign(new LeaseLostError(message, 1, 'ack'), fields), `Cannot ack job ${message}`];
      return [Object.assign(new QueueClosedError(message), fields), `Queue "${message}" is closed`];
  }
}

async function run(config: Config, cmds: readonly Cmd[]): Promise<void> {
  const clock = createFakeClock({ now: START });
  const model = new Model(config);
  const sides: Side[] = [
    { name: 'memory', store: memoryStore() },
    { name: 'sqlite', store: sqliteStore({ path: ':memory:' }) },
  ].map(({ name, store }) => ({
    name,
    store,
    queues: QUEUE_NAMES.map((_, q) => makeQueue(store, q, config, clock)),
    ids: new Map(),
    seqOf: new Map(),
  }));
  const generation = [0, 0];
  const holders: Holder[] = [];
  // Biased to recent holders, which are more often live.
  const holderAt = (h: number): Holder | undefined =>
    holders[holders.length - 1 - (h % Math.max(1, holders.length))];

  const expectPushed = (side: Side, actual: Job<unknown>, job: MJob, created: boolean): void => {
    if (created) {
      expect(side.seqOf.has(actual.id), `${side.name}: new id ${actual.id} is fresh`).toBe(false);
      side.ids.set(job.seq, actual.id);
      side.seqOf.set(actual.id, job.seq);
    }
    expectJob(side, actual, job);
  };

  try {
    for (const cmd of cmds) {
      switch (cmd.t) {
        case 'push': {
          const { job, created } = model.push(cmd.q, cmd.payload, cmd.opts);
          seen.add(created ? 'push' : 'push: key taken');
          for (const side of sides)
            expectPushed(side, await (side.queues[cmd.q] as Queue).push(cmd.payload, cmd.opts), job, created);
          break;
        }
        case 'pushMany': {
          const results = cmd.payloads.map((p) => model.push(cmd.q, p, cmd.opts));
          if (results.length > 1 && cmd.opts?.key !== undefined)
            seen.add('pushMany: key taken within the batch');
          for (const side of sides) {
            const jobs = await (side.queues[cmd.q] as Queue).pushMany(cmd.payloads, cmd.opts);
            expect(jobs.length).toBe(results.length);
            jobs.forEach((actual, i) => {
              const r = results[i] as { job: MJob; created: boolean };
              expectPushed(side, actual, r.job, r.created);
            });
          }
          break;
        }
        case 'next': {
          const leaseMs = cmd.leaseMs ?? config.leaseMs ?? 30_000;
          if (model.reap(cmd.q) > 0) seen.add('next: last attempt reaped');
          const claims: Claim[] = [];
          for (let i = 0; i < cmd.n; i++) {
            const claim = model.claim(cmd.q, leaseMs);
            if (claim !== null) claims.push(claim);
          }
          if (claims.length === 0) seen.add('next: null');
          if (claims.some((c) => c.stalled)) seen.add('next: stalled');
          if (cmd.n > 1 && claims.length > 1) seen.add('next: concurrent');
          if (claims.some((c) => c.job.attempts > 1 && !c.stalled)) seen.add('next: retry');
          const reals: Map<number, LeasedJob<unknown>>[] = [];
          for (const side of sides) {
            const queue = side.queues[cmd.q] as Queue;
            const got = await Promise.all(
              Array.from({ length: cmd.n }, () =>
                queue.next(cmd.leaseMs === undefined ? undefined : { leaseMs: cmd.leaseMs }),
              ),
            );
            const leased = got.filter((j): j is LeasedJob<unknown> => j !== null);
            const bySeq = new Map(leased.map((j) => [side.seqOf.get(j.id) as number, j]));
            expect(
              [...bySeq.keys()].sort((a, b) => a - b),
              `${side.name}: next() x${cmd.n} leased`,
            ).toEqual(claims.map((c) => c.job.seq).sort((a, b) => a - b));
            expect(leased.length, `${side.name}: no job leased twice`).toBe(bySeq.size);
            for (const { job, stalled } of claims) {
              const actual = bySeq.get(job.seq) as LeasedJob<unknown>;
              expectJob(side, actual, job);
              expect(
                { token: actual.token, leaseUntil: actual.leaseUntil, stalled: actual.stalled },
                `${side.name}: lease of job #${job.seq}`,
              ).toEqual({ token: job.token, leaseUntil: job.leaseUntil, stalled });
            }
            reals.push(bySeq);
          }
          for (const { job } of claims)
            holders.push({
              q: cmd.q,
              generation: generation[cmd.q] as number,
              seq: job.seq,
              token: job.token,
              settled: false,
              real: reals.map((bySeq) => bySeq.get(job.seq) as LeasedJob<unknown>),
            });
          break;
        }
        case 'ack':
        case 'fail':
        case 'extend': {
          const holder = holderAt(cmd.h);
          if (holder === undefined) break;
          const job = model.jobs[holder.seq] as MJob;
          let expected: string;
          if (holder.settled) {
            expected = 'ERR_JOB_SETTLED';
            seen.add(`${cmd.t}: settled`);
          } else if (!model.holds(job, holder.token)) {
            expected = 'ERR_LEASE_LOST';
            seen.add(
              `${cmd.t}: ${job.token === holder.token ? 'lease gone (reaped or returned)' : 'stale token'}`,
            );
          } else {
            expected = 'ok';
            if ((job.leaseUntil as number) <= model.now) seen.add(`${cmd.t}: lease ended, nobody re-claimed`);
            if (cmd.t === 'ack') {
              model.ack(job);
              seen.add('ack');
            } else if (cmd.t === 'fail') {
              const lastAttempt = job.attempts >= job.maxAttempts;
              const hinted = typeof cmd.hint === 'number' && cmd.hint >= 0 && cmd.delay === undefined;
              const retried = model.fail(
                job,
                failure(cmd.message, cmd.mark, cmd.hint)[1],
                cmd.retry,
                cmd.delay,
                cmd.mark,
                cmd.hint,
              );
              seen.add(retried ? 'fail: retry' : 'fail: dead');
              if (!lastAttempt && cmd.retry === undefined && cmd.mark === 'final')
                seen.add('fail: final, dead at once');
              if (!lastAttempt && cmd.retry === true && cmd.mark === 'final')
                seen.add('fail: retry: true over a final error');
              if (retried && (cmd.mark === 'retryError' || cmd.mark === 'queueClosed'))
                seen.add(`fail: ${cmd.mark} marked retryable: false, retried`);
              if (retried && hinted) seen.add('fail: retry at the hint');
              if (retried && hinted && cmd.hint === 0) seen.add('fail: retry at a hint of 0, at once');
              if (retried && hinted && (cmd.hint as number) > (config.maxRetryAfter ?? 60_000))
                seen.add('fail: hint capped at maxRetryAfter');
              if (retried && cmd.hint !== undefined && !hinted && cmd.delay === undefined)
                seen.add('fail: no hint (not a number >= 0), backoff');
              if (retried && cmd.hint !== undefined && cmd.delay !== undefined)
                seen.add('fail: delay over the hint');
            } else {
              job.leaseUntil = model.now + Math.ceil(cmd.ms);
              seen.add('extend');
            }
          }
          if (cmd.t !== 'extend') holder.settled = true;
          for (const [i, side] of sides.entries()) {
            const real = holder.real[i] as LeasedJob<unknown>;
            const call =
              cmd.t === 'ack'
                ? real.ack()
                : cmd.t === 'fail'
                  ? real.fail(
                      failure(cmd.message, cmd.mark, cmd.hint)[0],
                      cmd.retry === undefined && cmd.delay === undefined
                        ? undefined
                        : {
                            ...(cmd.retry === undefined ? {} : { retry: cmd.retry }),
                            ...(cmd.delay === undefined ? {} : { delay: cmd.delay }),
                          },
                    )
                  : real.extend(cmd.ms);
            const got = await outcome(call);
            expect(got, `${side.name}: ${cmd.t} of job #${holder.seq} (token ${holder.token})`).toBe(
              expected,
            );
            if (expected === 'ERR_LEASE_LOST') expect(lastRejection).toBeInstanceOf(LeaseLostError);
            if (cmd.t === 'extend' && expected === 'ok') expect(real.leaseUntil).toBe(job.leaseUntil);
          }
          break;
        }
        case 'advance': {
          model.now += cmd.ms;
          await clock.advance(cmd.ms);
          break;
        }
        case 'redrive': {
          const dead = model.jobs.filter((j) => j.queue === cmd.q && j.status === 'dead');
          if (dead.length > 0) seen.add('redrive: dead jobs');
          // Ids of this queue's dead jobs mostly, in any order; the last one drawn may be any job (of either queue).
          const pool = dead.length > 0 ? dead : model.jobs;
          const picked =
            cmd.ids === undefined || model.jobs.length === 0
              ? undefined
              : new Set(
                  cmd.ids.map((n, i) =>
                    i === 3 ? n % model.jobs.length : (pool[n % pool.length] as MJob).seq,
                  ),
                );
          const [moved, skipped, cut] = model.redrive(cmd.q, picked, cmd.limit);
          if (moved > 0) seen.add('redrive: moved');
          if (skipped > 0) seen.add('redrive: key taken');
          if (picked === undefined && skipped > 0 && cmd.limit !== undefined && skipped + moved > cmd.limit)
            seen.add('redrive: limit reached past a taken key');
          if (cut && picked !== undefined) seen.add('redrive: ids cut by the limit');
          for (const side of sides) {
            const ids =
              picked === undefined ? undefined : [...picked].map((seq) => side.ids.get(seq) as string);
            const n = await (side.queues[cmd.q] as Queue).redrive({
              ...(ids === undefined ? {} : { ids }),
              ...(cmd.limit === undefined ? {} : { limit: cmd.limit }),
            });
            expect(n, `${side.name}: redrive count`).toBe(moved);
          }
          break;
        }
        case 'close': {
          for (const holder of holders) {
            if (holder.q !== cmd.q || holder.generation !== generation[cmd.q] || holder.settled) continue;
            const job = model.jobs[holder.seq] as MJob;
            // A lease this queue object has seen end (it claimed the job again, or reaped it) is not close()'s to
            // settle: its holder's calls still say LeaseLostError.
            if (!model.holds(job, holder.token)) continue;
            holder.settled = true;
            model.release(job);
            seen.add('close: returned a job');
          }
          generation[cmd.q] = (generation[cmd.q] as number) + 1;
          for (const side of sides) {
            const queue = side.queues[cmd.q] as Queue;
            await queue.close({ timeout: 0 });
            expect(await outcome(queue.push(1)), `${side.name}: push after close`).toBe('ERR_QUEUE_CLOSED');
            expect(await outcome(queue.next()), `${side.name}: next after close`).toBe('ERR_QUEUE_CLOSED');
            side.queues[cmd.q] = makeQueue(side.store, cmd.q, config, clock);
          }
          break;
        }
      }
      await checkAll(model, sides);
    }
  } finally {
    for (const side of sides) {
      for (const queue of side.queues) await queue.close({ timeout: 0 });
      await side.store.close();
    }
  }
}

const { INTEG_MODEL_SEED, INTEG_MODEL_RUNS } = process.env;

describe('createQueue against a reference model (memory and sqlite side by side)', () => {
  it('agrees step by step with the README', async () => {
    seen.clear();
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(cmdArb, { minLength: 1, maxLength: 60, size: 'max' }), run),
      // Fixed seed: CI runs the same sequences every time. To explore further:
      // INTEG_MODEL_SEED=7 INTEG_MODEL_RUNS=1000 corepack pnpm vitest run packages/queue/src/queue.model.test.ts
      { seed: Number(INTEG_MODEL_SEED ?? 3), numRuns: Number(INTEG_MODEL_RUNS ?? 400) },
    );
    const every = [
      'push',
      'push: key taken',
      'pushMany: key taken within the batch',
      'next: null',
      'next: stalled',
      'next: concurrent',
      'next: retry',
      'next: last attempt reaped',
      'ack',
      'ack: settled',
      'ack: stale token',
      'ack: lease gone (reaped or returned)',
      'ack: lease ended, nobody re-claimed',
      'fail: retry',
      'fail: dead',
      'fail: settled',
      'fail: stale token',
      'fail: final, dead at once',
      'fail: retry: true over a final error',
      'fail: retryError marked retryable: false, retried',
      'fail: queueClosed marked retryable: false, retried',
      'fail: retry at the hint',
      'fail: retry at a hint of 0, at once',
      'fail: hint capped at maxRetryAfter',
      'fail: no hint (not a number >= 0), backoff',
      'fail: delay over the hint',
      'extend',
      'extend: settled',
      'extend: stale token',
      'extend: lease ended, nobody re-claimed',
      'redrive: dead jobs',
      'redrive: moved',
      'redrive: key taken',
      'redrive: limit reached past a taken key',
      'redrive: ids cut by the limit',
      'close: returned a job',
    ];
    const missing = every.filter((path) => !seen.has(path));
    // The fixed seed reaches every path; another seed may miss the rarest (a redrive whose limit is reached
    // only because a taken key was skipped), which its own example below covers.
    if (INTEG_MODEL_SEED === undefined) expect(missing).toEqual([]);
    else if (missing.length > 0) console.warn('paths not reached with this seed:', missing);
    // 400 sequences over two stores: about 10 s alone, past the 20 s default while other packages' suites share
    // the machine's cores.
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------------
// Bad input: the documented typed error, and nothing changes

type Seg = string | number;
type BadLeaf =
  | 'function'
  | 'bigint'
  | 'symbol'
  | 'NaN'
  | 'Infinity'
  | 'Date'
  | 'Map'
  | 'class'
  | 'undefined'
  | 'cycle';

const leafOf = (leaf: BadLeaf, root: () => unknown): unknown => {
  switch (leaf) {
    case 'function':
      return () => 1;
    case 'bigint':
      return 10n;
    case 'symbol':
      return Symbol('s');
    case 'NaN':
      return Number.NaN;
    case 'Infinity':
      return Number.NEGATIVE_INFINITY;
    case 'Date':
      return new Date(0);
    case 'Map':
      return new Map([[1, 2]]);
    case 'class':
      return new (class Point {
        x = 1;
      })();
    case 'undefined':
      return undefined;
    case 'cycle':
      return root();
  }
};

/** A valid JSON structure with `leaf` at `segs`, with valid siblings before it at every level. */
function withLeaf(segs: readonly Seg[], leaf: BadLeaf): unknown {
  let root: unknown;
  const build = (i: number): unknown => {
    if (i === segs.length) return leafOf(leaf, () => root);
    const seg = segs[i] as Seg;
    if (typeof seg === 'number') return [...Array.from({ length: seg }, () => 'ok'), build(i + 1)];
    const object: Record<string, unknown> = { ok: 1 };
    object[seg] = build(i + 1);
    return object;
  };
  root = build(0);
  if (leaf === 'cycle') {
    // The leaf refers back to the root, so it is set once the root exists.
    let parent = root as Record<Seg, unknown>;
    for (const seg of segs.slice(0, -1)) parent = parent[seg] as Record<Seg, unknown>;
    parent[segs[segs.length - 1] as Seg] = root;
  }
  return root;
}

type Bad =
  | {
      readonly t: 'payload';
      readonly segs: readonly Seg[];
      readonly leaf: BadLeaf;
      readonly many: readonly [number, number] | undefined;
    }
  | { readonly t: 'size'; readonly text: string; readonly many: readonly [number, number] | undefined }
  | { readonly t: 'deep' }
  | { readonly t: 'pushOption'; readonly name: string; readonly opts: unknown; readonly many: boolean }
  | { readonly t: 'pushMany'; readonly payloads: unknown }
  | { readonly t: 'next'; readonly leaseMs: unknown }
  | { readonly t: 'extend'; readonly ms: unknown }
  | { readonly t: 'failDelay'; readonly delay: unknown }
  | { readonly t: 'redrive'; readonly name: string; readonly opts: unknown };

const BAD_PUSH_OPTIONS: readonly (readonly [string, unknown])[] = [
  ['delay', { delay: -1 }],
  ['delay', { delay: Number.NaN }],
  ['delay', { delay: Number.POSITIVE_INFINITY }],
  ['delay', { delay: '5' }],
  ['delay', { delay: 8.64e15 }],
  ['priority', { priority: 1.5 }],
  ['priority', { priority: Number.NaN }],
  ['priority', { priority: '1' }],
  ['priority', { priority: 2 ** 53 }],
  ['key', { key: '' }],
  ['key', { key: 'k'.repeat(513) }],
  ['key', { key: 5 }],
  ['attempts', { attempts: 0 }],
  ['attempts', { attempts: 1001 }],
  ['attempts', { attempts: 1.5 }],
  ['attempts', { attempts: '3' }],
  ['backoff', { backoff: () => 1 }],
  ['backoff', { backoff: { type: 'fibonacci', delay: 1 } }],
  ['backoff.delay', { backoff: { type: 'exponential' } }],
  ['backoff.delay', { backoff: { type: 'linear', delay: -5 } }],
  ['backoff', { backoff: -1 }],
  ['factor', { backoff: { type: 'exponential', delay: 100, factor: 0.5 } }],
  ['jitter', { backoff: { type: 'exponential', delay: 100, jitter: 'half' } }],
  ['max', { backoff: { type: 'linear', delay: 100, max: -1 } }],
  ['backoff.delay', { backoff: { type: 'constant', delay: Number.NaN } }],
  ['backoff', { backoff: null }],
  ['backoff', { backoff: 'fast' }],
  ['push options', 5],
  ['push options', 'x'],
  ['push options', null],
];
const BAD_MS: readonly unknown[] = [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '5', null];

const manyArb = fc.option(fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 })), { nil: undefined });
const badArb: fc.Arbitrary<Bad> = fc.oneof(
  fc.record({
    t: fc.constant('payload' as const),
    segs: fc.array(fc.oneof(fc.constantFrom('to', 'n', 'x y'), fc.nat({ max: 2 })), { maxLength: 3 }),
    leaf: fc.constantFrom<BadLeaf>(
      'function',
      'bigint',
      'symbol',
      'NaN',
      'Infinity',
      'Date',
      'Map',
      'class',
      'undefined',
      'cycle',
    ),
    many: manyArb,
  }),
  fc.record({
    t: fc.constant('size' as const),
    text: fc
      .array(fc.constantFrom('a', 'é', '€', '😀', '"', '\n', '\u0001', '\\'), { maxLength: 40 })
      .map((chars) => chars.join('')),
    many: manyArb,
  }),
  fc.constant({ t: 'deep' as const }),
  fc
    .record({
      t: fc.constant('pushOption' as const),
      pick: fc.constantFrom(...BAD_PUSH_OPTIONS),
      many: fc.boolean(),
    })
    .map(({ pick: [name, opts], many }) => ({ t: 'pushOption' as const, name, opts, many })),
  fc.record({
    t: fc.constant('pushMany' as const),
    payloads: fc.constantFrom<unknown>('abc', 5, { length: 1 }, null, new Array(10_001).fill(1)),
  }),
  fc.record({ t: fc.constant('next' as const), leaseMs: fc.constantFrom(...BAD_MS) }),
  fc.record({ t: fc.constant('extend' as const), ms: fc.constantFrom(...BAD_MS) }),
  fc.record({ t: fc.constant('failDelay' as const), delay: fc.constantFrom(-1, Number.NaN, 8.64e15, '5') }),
  fc
    .constantFrom<readonly [string, unknown]>(
      ['limit', { limit: 0 }],
      ['limit', { limit: 1.5 }],
      ['limit', { limit: '2' }],
      ['ids', { ids: '1' }],
      ['ids', { ids: [1] }],
      ['ids', { ids: 5 }],
    )
    .map(([name, opts]) => ({ t: 'redrive' as const, name, opts })),
);

const pathOf = (segs: readonly Seg[]): string =>
  `payload${segs.map((seg) => (typeof seg === 'number' ? `[${seg}]` : `.${seg}`)).join('')}`;

async function dump(queue: Queue<unknown>): Promise<unknown> {
  return { jobs: await queue.list({ limit: 10_000 }), stats: await queue.stats() };
}

async function runBad(maxPayloadBytes: number, bads: readonly Bad[]): Promise<void> {
  const clock = createFakeClock({ now: START });
  for (const store of [memoryStore(), sqliteStore({ path: ':memory:' })]) {
    const queue = createQueue<unknown>({ name: 'q', store, clock, maxPayloadBytes });
    try {
      await queue.pushMany([1, 2]);
      const dead = (await queue.next()) as LeasedJob<unknown>;
      await dead.fail(new Error('x'), { retry: false });
      const held = (await queue.next({ leaseMs: 1_000 })) as LeasedJob<unknown>;
      for (const bad of bads) {
        const before = await dump(queue);
        let call: () => Promise<unknown>;
        // What the call must throw: [code, what the message names or the payload path, index in pushMany]
        let expected: readonly [string, string, number | undefined] | undefined;
        // The payload a call that succeeds must have stored.
        let accepted: readonly [unknown, number] | undefined;
        const inBatch = (payload: unknown, many: readonly [number, number] | undefined) => {
          if (many === undefined) return { call: () => queue.push(payload), index: undefined };
          const payloads = [...Array<number>(many[0]).fill(7), payload, ...Array<number>(many[1]).fill(8)];
          return { call: () => queue.pushMany(payloads), index: many[0] };
        };
        switch (bad.t) {
          case 'payload': {
            const segs = bad.leaf === 'cycle' && bad.segs.length === 0 ? ['self'] : bad.segs;
            const payload = withLeaf(segs, bad.leaf);
            const { call: c, index } = inBatch(payload, bad.many);
            call = c;
            // An undefined object property is dropped, as JSON.stringify does; elsewhere undefined is refused.
            if (bad.leaf === 'undefined' && typeof segs[segs.length - 1] === 'string') {
              const bytes = Buffer.byteLength(JSON.stringify(payload));
              expected =
                bytes > maxPayloadBytes ? ['ERR_PAYLOAD_TOO_LARGE', `${bytes} bytes`, index] : undefined;
              accepted = [JSON.parse(JSON.stringify(payload)), index ?? 0];
            } else expected = ['ERR_PAYLOAD_INVALID', pathOf(segs), index];
            break;
          }
          case 'size': {
            const bytes = Buffer.byteLength(JSON.stringify(bad.text));
            const { call: c, index } = inBatch(bad.text, bad.many);
            call = c;
            accepted = [bad.text, index ?? 0];
            expected =
              bytes > maxPayloadBytes ? ['ERR_PAYLOAD_TOO_LARGE', `${bytes} bytes`, index] : undefined;
            break;
          }
          case 'deep': {
            let deep: unknown = 1;
            for (let i = 0; i < 300; i++) deep = [deep];
            call = () => queue.push(deep);
            expected = ['ERR_PAYLOAD_INVALID', 'nested', undefined];
            break;
          }
          case 'pushOption':
            call = () =>
              bad.many
                ? queue.pushMany([1, 2], bad.opts as PushOptions)
                : queue.push(1, bad.opts as PushOptions);
            expected = ['ERR_INVALID_ARGUMENT', bad.name, undefined];
            break;
          case 'pushMany':
            call = () => queue.pushMany(bad.payloads as unknown[]);
            expected = ['ERR_INVALID_ARGUMENT', 'payloads', undefined];
            break;
          case 'next':
            call = () => queue.next({ leaseMs: bad.leaseMs as number });
            expected = ['ERR_INVALID_ARGUMENT', 'leaseMs', undefined];
            break;
          case 'extend':
            call = () => held.extend(bad.ms as number);
            expected = ['ERR_INVALID_ARGUMENT', 'extend', undefined];
            break;
          case 'failDelay':
            call = () => held.fail(new Error('x'), { delay: bad.delay as number });
            expected = ['ERR_INVALID_ARGUMENT', 'delay', undefined];
            break;
          case 'redrive':
            call = () => queue.redrive(bad.opts as { limit: number });
            expected = ['ERR_INVALID_ARGUMENT', bad.name, undefined];
            break;
        }
        let error: unknown;
        let result: unknown;
        try {
          result = await call();
        } catch (e) {
          error = e;
        }
        const what = `${'driver' in store ? 'sqlite' : 'memory'}: ${JSON.stringify(bad)?.slice(0, 200)}`;
        if (expected === undefined) {
          expect(error, what).toBeUndefined();
          const [payload, index] = accepted as readonly [unknown, number];
          const job = (Array.isArray(result) ? result[index] : result) as Job<unknown>;
          expect((await queue.get(job.id))?.payload, what).toEqual(payload);
          continue;
        }
        const [code, names, index] = expected;
        expect(isIntegError(error) ? error.code : error, what).toBe(code);
        if (code === 'ERR_PAYLOAD_INVALID' && bad.t === 'payload')
          expect((error as { path?: unknown }).path, what).toBe(names);
        else expect((error as Error).message, what).toContain(names);
        expect((error as { index?: unknown }).index, what).toBe(index);
        expect(await dump(queue), `${what}: nothing changed`).toEqual(before);
      }
      // The holder is untouched by its refused calls: it still holds the lease and can settle the job.
      await held.extend(10);
      await held.ack();
      expect((await queue.get(held.id))?.status).toBe('done');
    } finally {
      await queue.close({ timeout: 0 });
      await store.close();
    }
  }
}

describe('bad input', () => {
  it('throws the documented typed error and leaves the store and the lease unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 8, max: 120 }),
        fc.array(badArb, { minLength: 1, maxLength: 25 }),
        runBad,
      ),
      { seed: Number(INTEG_MODEL_SEED ?? 5_2027), numRuns: Number(INTEG_MODEL_RUNS ?? 60) },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// What the model found, as examples (each failed before its fix)

const stores = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
] as const;

describe.each(stores)('found by the model (%s)', (_, createStore) => {
  const setup = (options?: { attempts?: number }) => {
    const clock = createFakeClock({ now: START });
    const store = createStore();
    const queue = createQueue<string>({ name: 'q', store, clock, ...options });
    return { clock, store, queue };
  };

  it('gives an expired lease no precedence over a due job of higher priority', async () => {
    const { clock, store, queue } = setup();
    await queue.push('low');
    await queue.next({ leaseMs: 100 }); // 'low' is held, then its holder stalls
    await queue.push('high', { priority: 1 });
    await clock.advance(100);
    expect((await queue.next())?.payload).toBe('high');
    const stalled = await queue.next();
    expect([stalled?.payload, stalled?.stalled]).toEqual(['low', true]);
    await store.close();
  });

  it('redrive({ limit }) skips a dead job whose key is taken without counting it', async () => {
    const { store, queue } = setup({ attempts: 1 });
    await queue.push('a', { key: 'k' });
    await (await queue.next())?.fail(new Error('x'));
    await queue.push('b');
    await (await queue.next())?.fail(new Error('x'));
    await queue.push('a again', { key: 'k' }); // takes the key of the first dead job
    expect(await queue.redrive({ limit: 1 })).toBe(1);
    expect((await queue.list({ status: 'dead' })).map((j) => j.payload)).toEqual(['a']);
    await store.close();
  });

  it('redrive({ ids, limit }) moves dead jobs in push order, whatever the order of ids', async () => {
    const { store, queue } = setup({ attempts: 1 });
    const [a, b] = await queue.pushMany(['a', 'b']);
    for (let i = 0; i < 2; i++) await (await queue.next())?.fail(new Error('x'));
    expect(await queue.redrive({ ids: [b?.id as string, a?.id as string], limit: 1 })).toBe(1);
    expect((await queue.list({ status: 'dead' })).map((j) => j.payload)).toEqual(['b']);
    await store.close();
  });

  it('refuses redrive ids that are not an array of strings', async () => {
    const { store, queue } = setup({ attempts: 1 });
    await queue.pushMany(['a', 'b']);
    for (let i = 0; i < 2; i++) await (await queue.next())?.fail(new Error('x'));
    for (const ids of ['12', [1]])
      await expect(queue.redrive({ ids: ids as unknown as string[] })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        argument: 'ids',
      });
    expect((await queue.stats()).dead).toBe(2);
    await store.close();
  });

  it('leaves the lease to its holder when fail() refuses its delay', async () => {
    const { store, queue } = setup();
    await queue.push('a');
    const job = (await queue.next()) as LeasedJob<string>;
    await expect(job.fail(new Error('x'), { delay: -1 })).rejects.toMatchObject({ argument: 'fail delay' });
    await job.fail(new Error('x'), { delay: 5 });
    expect((await queue.get(job.id))?.status).toBe('pending');
    await store.close();
  });

  it('rounds fractions of a ms up in delays and leases', async () => {
    const { clock, store, queue } = setup();
    await queue.push('a', { delay: 0.5 });
    expect(await queue.next()).toBe(null);
    await clock.advance(1);
    const job = (await queue.next({ leaseMs: 1.5 })) as LeasedJob<string>;
    expect(job.leaseUntil).toBe(START + 3);
    await job.extend(0.5 + 1);
    expect(job.leaseUntil).toBe(START + 3);
    await clock.advance(1);
    expect(await queue.next()).toBe(null); // held until START + 3
    await store.close();
  });

  it('starts the jobs of one worker claim in claim order, an expired lease in its place', async () => {
    const { clock, store, queue } = setup();
    await queue.push('low');
    await queue.next({ leaseMs: 100 }); // its holder stalls
    await queue.push('high', { priority: 1 });
    await clock.advance(100);
    const started: [string, number][] = [];
    const worker = queue.process(
      (job) => {
        started.push([job.payload, job.leaseUntil]);
        return new Promise(() => {});
      },
      { concurrency: 2, leaseMs: 1.5 },
    );
    for (let i = 0; i < 20 && started.length < 2; i++) await clock.advance(0);
    // A worker's lease is rounded up to whole ms too.
    expect(started).toEqual([
      ['high', START + 102],
      ['low', START + 102],
    ]);
    void worker.close({ timeout: 0 });
    await queue.close({ timeout: 0 });
    await store.close();
  });

  it("names the spec's field when a backoff delay is out of range", async () => {
    const { store, queue } = setup();
    await expect(queue.push('a', { backoff: { type: 'linear', delay: -5 } })).rejects.toMatchObject({
      argument: 'backoff.delay',
    });
    await expect(queue.push('a', { backoff: -1 })).rejects.toMatchObject({ argument: 'backoff' });
    await store.close();
  });
});
