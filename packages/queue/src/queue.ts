/**
 * `createQueue`: the policy layer over a {@link QueueStore}. It validates and serialises payloads,
 * turns attempts and backoff into store transitions, hands out fenced leases and runs workers.
 * Delivery is at-least-once: a job runs again when its lease expires before it is settled.
 */
import {
  type Clock,
  InvalidArgumentError,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
} from '@integ/core';
import { type Backoff, isRetryError } from '@integ/retry';
import { type BackoffSpec, DEFAULT_BACKOFF, delayAfter, MAX_MS, toBackoff } from './backoff.js';
import { JobSettledError, LeaseLostError, QueueClosedError, StoreCorruptError } from './errors.js';
import { checkFunction, guard } from './internal/check.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, serializePayload } from './internal/payload.js';
import { redact } from './internal/redact.js';
import type { FailOptions, Handler, Job, LeasedJob } from './job.js';
import {
  type ClaimedRecord,
  JOB_STATUSES,
  type JobRecord,
  type JobStatus,
  type NewJobRecord,
  type QueueStore,
} from './store.js';
import { createWorker, type ProcessOptions, type Worker } from './worker.js';

/** Default lease length: 30 s. */
export const DEFAULT_LEASE_MS: number = 30_000;
const DEFAULT_CLOSE_TIMEOUT = 10_000;
// As @integ/retry's `maxRetryAfter`: a server's hint longer than this is cut to it.
const DEFAULT_MAX_RETRY_AFTER = 60_000;

/** Default attempts per job (first run included), as in @integ/retry. */
export const DEFAULT_ATTEMPTS: number = 3;

const MAX_ATTEMPTS = 1000;
const MAX_KEY_LENGTH = 512;
const MAX_ERROR_LENGTH = 4096;
// Causes kept in lastError after the error itself: a RetryError, the fetch failure it gave up on, that one's
// system error (undici's `fetch failed` has the ECONNRESET as cause), and one more.
const MAX_CAUSES = 3;
const MAX_BATCH = 10_000;
// A job whose record cannot be read (a payload that is not JSON: a damaged row, a faulty custom store): it is
// dead-lettered at claim with this as lastError, and logged; hooks cannot be given a payload, so none fire.
const CORRUPT = 'StoreCorruptError: the stored payload is not JSON';
// Text that is not well-formed UTF-16 has no UTF-8 form: SQLite keeps U+FFFD for a lone surrogate, so a name or
// key would not come back as given (get() of such a queue found no job). Payloads are safe: JSON escapes it.
// A NUL ends text for node:sqlite (a queue 'a\0b' found none of its jobs, a key came back cut) and Postgres refuses it.
const LONE_SURROGATE = /[\p{Cs}\0]/u;

/**
 * The payload of a stored job. One that is not JSON (a damaged row, a faulty custom store) is a StoreCorruptError
 * naming the job: V8's SyntaxError quotes the text, where tokens often are, so it is not kept, not even as `cause`.
 */
function parse<T>(record: JobRecord): T {
  try {
    return JSON.parse(record.payload) as T;
  } catch {
    throw new StoreCorruptError(
      `The stored payload of job ${record.id}`,
      {},
      'is not valid JSON (a damaged row?); repair or delete it',
    );
  }
}

/** Hooks: typed callbacks, cheap when unused. A hook that throws (or whose promise rejects) is logged and ignored. */
export interface QueueHooks<T> {
  /** A job was acknowledged. */
  readonly onCompleted?: ((job: Job<T>) => void) | undefined;
  /** An attempt failed; `job.status` is `'pending'` when it will be retried, `'dead'` otherwise. */
  readonly onFailed?: ((job: Job<T>, error: unknown) => void) | undefined;
  /**
   * A job is now dead: it ran out of attempts (after a failure or an expired last lease), or failed with an
   * error marked `retryable: false`.
   */
  readonly onDead?: ((job: Job<T>, error: unknown) => void) | undefined;
  /** A job whose lease expired was delivered again (its previous holder stalled or crashed). */
  readonly onStalled?: ((job: Job<T>) => void) | undefined;
}

/** Options of {@link createQueue}. */
export interface QueueOptions<T = unknown> extends QueueHooks<T> {
  /** The queue's name: jobs of one store are partitioned by it. */
  readonly name: string;
  /** Where jobs live: `memoryStore()`, `sqliteStore({ path })`, ... */
  readonly store: QueueStore;
  /** Where time comes from (job times, leases, polling). @default systemClock */
  readonly clock?: Clock | undefined;
  /** Uniform random in [0, 1) for backoff jitter. @default Math.random */
  readonly random?: (() => number) | undefined;
  /** Default attempts per job, first run included. @default 3 */
  readonly attempts?: number | undefined;
  /**
   * Default backoff between attempts, for jobs pushed without one: a {@link BackoffSpec}, or any
   * @integ/retry `Backoff` function (`exponential({ ... })`): the queue's default lives in code, so it
   * need not be serialisable. @default { type: 'exponential', delay: 1000, factor: 2, max: 3600000, jitter: 'none' }
   */
  readonly backoff?: BackoffSpec | Backoff | undefined;
  /** Default lease for `next()` and `process()`, in ms. @default 30000 */
  readonly leaseMs?: number | undefined;
  /**
   * Cap on a failure's `retryAfterMs` (a server's Retry-After, a CircuitOpenError), which replaces the backoff
   * for that retry, in ms; `Infinity` for none. As @integ/retry's option of that name. @default 60000
   */
  readonly maxRetryAfter?: number | undefined;
  /** Largest payload accepted, in bytes of UTF-8 JSON. @default 1048576 (1 MiB) */
  readonly maxPayloadBytes?: number | undefined;
  /** Where warnings go (hook errors, store errors in workers). @default silentLogger */
  readonly logger?: Logger | undefined;
}

/** Options of {@link Queue.push}. */
export interface PushOptions {
  /** Not before this many ms from now. @default 0 */
  readonly delay?: number | undefined;
  /** Higher runs first (an integer). @default 0 */
  readonly priority?: number | undefined;
  /** Deduplication key: while a job with this key is pending or processing, push returns that job. */
  readonly key?: string | undefined;
  /** Runs allowed in total, first run included (1 to 1000). @default the queue's `attempts` (3) */
  readonly attempts?: number | undefined;
  /** Delay between attempts, stored with the job. @default the queue's `backoff` */
  readonly backoff?: BackoffSpec | undefined;
}

/** Options of {@link Queue.next}. */
export interface NextOptions {
  /** Lease length in ms. @default the queue's `leaseMs` (30000) */
  readonly leaseMs?: number | undefined;
}

/** Counts by status, plus the age of the oldest pending job. */
export interface QueueStats {
  readonly pending: number;
  readonly processing: number;
  readonly done: number;
  readonly dead: number;
  /** Pending jobs not due yet (included in `pending`). */
  readonly delayed: number;
  /** All jobs kept by the store for this queue. */
  readonly total: number;
  /** Age in ms of the oldest pending job that is due (now - its timestamp); 0 when there is none. */
  readonly oldestPendingAgeMs: number;
}

/** Options of {@link Queue.list}. */
export interface ListJobsOptions {
  readonly status?: JobStatus | undefined;
  /** @default 100 */
  readonly limit?: number | undefined;
  /** @default 0 */
  readonly offset?: number | undefined;
}

/** Options of {@link Queue.redrive}. */
export interface RedriveJobsOptions {
  /** Only these dead jobs, at most 10,000 per call (like `pushMany`). @default every dead job */
  readonly ids?: readonly string[] | undefined;
  readonly limit?: number | undefined;
}

/** Options of {@link Queue.clean}. */
export interface CleanJobsOptions {
  /** Which finished jobs to delete. */
  readonly status: 'done' | 'dead';
  /** Only jobs finished more than this many ms ago. */
  readonly olderThan: number;
}

/** Options of {@link Queue.close}. */
export interface CloseOptions {
  /** How long to wait for running jobs before returning them to pending, in ms. @default 10000 */
  readonly timeout?: number | undefined;
}

/** A queue. Create it with {@link createQueue}. */
export interface Queue<T = unknown> {
  readonly name: string;
  /** The store the queue uses (it is not closed by `close()`). */
  readonly store: QueueStore;
  /**
   * Adds a job; resolves once the store has committed it.
   * @throws {PayloadError} / {@link PayloadTooLargeError} for a payload that is not JSON or too large
   * @throws {InvalidArgumentError} for a bad option; {@link QueueClosedError} after `close()`
   */
  push(payload: T, options?: PushOptions): Promise<Job<T>>;
  /** Adds several jobs atomically (all or none) with the same options. */
  pushMany(payloads: readonly T[], options?: PushOptions): Promise<Job<T>[]>;
  /** Leases the next due job, or resolves `null` when none is due. */
  next(options?: NextOptions): Promise<LeasedJob<T> | null>;
  /** Starts a worker that runs `handler` for each job. */
  process(handler: Handler<T>, options?: ProcessOptions): Worker;
  /** Counts by status. */
  stats(): Promise<QueueStats>;
  /** One job by id, or `null`. */
  get(id: string): Promise<Job<T> | null>;
  /** Jobs in insertion order, optionally of one status (e.g. the dead letters). */
  list(options?: ListJobsOptions): Promise<Job<T>[]>;
  /** Moves dead jobs back to pending with fresh attempts; resolves how many moved. */
  redrive(options?: RedriveJobsOptions): Promise<number>;
  /** Deletes `done` (or `dead`) jobs finished more than `olderThan` ms ago; resolves how many. */
  clean(options: CleanJobsOptions): Promise<number>;
  /**
   * Stops every worker (graceful, see {@link CloseOptions}) and refuses further pushes. Idempotent: later calls
   * return the first call's promise.
   */
  close(options?: CloseOptions): Promise<void>;
}

/** What workers need from their queue; not public API. */
export interface QueueInternals<T> {
  readonly name: string;
  readonly clock: Clock;
  readonly leaseMs: number;
  warn(details: object, message: string): void;
  claim(limit: number, leaseMs: number): Promise<LeasedJobImpl<T>[]>;
  /** `wake(at)` is called when a job may be due at `at` (ms), or now when `at` is absent. */
  subscribe(wake: (at?: number) => void): () => void;
}

function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new InvalidArgumentError(name, `an integer from ${min} to ${max}`, value);
  return value;
}

// A timer's bound (setTimeout fires at once past 2^31 - 1 ms); a delay or an age is stored, not timed, and has its own.
function checkMs(name: string, value: unknown, min = 0, max = 2_147_483_647): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    throw new InvalidArgumentError(name, `a number of ms from ${min} to ${max}`, value);
  // Whole ms, rounded up (a job never runs early, a lease is never shorter than asked): stores keep integers.
  return Math.ceil(value);
}

/**
 * The record to store: property by property, since on Node 20 `{ ...job, payload }` took about as many instructions
 * as storing the job did (decision 0202).
 */
const withPayload = (job: Omit<NewJobRecord, 'payload'>, payload: string): NewJobRecord => ({
  payload,
  priority: job.priority,
  key: job.key,
  maxAttempts: job.maxAttempts,
  backoff: job.backoff,
  runAt: job.runAt,
});

let isoMs = Number.NaN;
let isoText = '';
/** ISO 8601 of `ms`, memoised for the last value: a batch of jobs shares one timestamp. */
function iso(ms: number): string {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
}

/**
 * Describes a failure for storage: name and message, bounded, no stack (it may hold paths), credentials
 * redacted (decision 0035), then its `cause` chain up to {@link MAX_CAUSES} links, each error once (a cycle ends
 * there): a wrapper such as RetryError ('see .cause') rarely says what failed (decision 0183). A non-Error object
 * is stored by kind: its fields (a response's headers, a request's config) are where tokens live. Never throws,
 * whatever getters the error has.
 */
export function describeError(error: unknown): string {
  let text = '';
  for (const seen: unknown[] = []; ; ) {
    let part = '';
    let cause: unknown;
    const type = typeof error;
    try {
      if (error !== null && (type === 'object' || type === 'function')) {
        const { name, message } = error as { name?: unknown; message?: unknown };
        if (typeof message === 'string' || error instanceof Error) {
          const detail = typeof message === 'string' ? message : '';
          const kind = typeof name === 'string' ? name : '';
          part = kind && detail ? `${kind}: ${detail}` : kind || detail || 'Error';
          cause = (error as { cause?: unknown }).cause;
        }
        // Worded so redact() leaves it whole: 'secrets: fail' read as a credential pair and became 'secrets: [redacted]'.
        else
          part = `a non-Error ${type} (its fields are not kept, they may hold secrets; fail with an Error)`;
      } else part = String(error);
    } catch {
      // A throwing getter (or a proxy) must not make fail() throw after the lease was settled. A `cause` that
      // cannot be read ends the chain; the part already read is kept.
      part ||= 'an error whose name or message could not be read';
    }
    // Only what the cut can keep: four messages of 2^27 characters joined passed V8's longest string (a RangeError).
    text += part.slice(0, MAX_ERROR_LENGTH + 1);
    // Bounded before the cut: at most MAX_CAUSES + 1 parts, however long or cyclic the chain.
    seen.push(error);
    if (cause == null || seen.includes(cause)) break;
    text += '; cause: ';
    if (seen.length > MAX_CAUSES) {
      text += '…';
      break;
    }
    error = cause;
  }
  // Text every store keeps as is: node:sqlite read a NUL as the end ('a\0b' came back 'a'), SQLite writes a lone
  // surrogate as U+FFFD (the memory store kept it). Before the cut, so the bound holds.
  text = text.replace(/[\p{Cs}\0]/gu, (c) => (c > '\0' ? '\uFFFD' : '\\0'));
  // Cut before redacting (bounded work), dropping the word the cut split so no half secret escapes.
  const cut = text.length > MAX_ERROR_LENGTH;
  if (cut) text = text.slice(0, MAX_ERROR_LENGTH).replace(/\S*$/, '');
  text = redact(text);
  return cut ? `${text}…` : text;
}

// The queue's own errors about its machinery (decision 0184): a handler that rethrows one from another queue or
// job (a closed queue or store at shutdown, another job's lease or settlement) says nothing about this job. Payload
// errors stay final: they are about data the handler made from the job. Exact codes, read on any error (an array's
// includes(): smaller than a pattern, the strings shared with the classes).
const QUEUES_OWN: readonly unknown[] = [
  'ERR_QUEUE_CLOSED',
  'ERR_LEASE_LOST',
  'ERR_JOB_SETTLED',
  'ERR_STORE_UNAVAILABLE',
  'ERR_STORE_CORRUPT',
];

/**
 * What a failure says of itself (decision 0181): whether it is final (`retryable: false`), and the delay a
 * server asked for (`retryAfterMs`), capped. Not final: a RetryError, whose `retryable: false` keeps an outer
 * retry() from multiplying an inner one's attempts within one call (its failures were retryable; the queue's
 * attempts are durable and spaced), so its last failure's hint counts; and the queue's own errors of another queue,
 * store or job ({@link QUEUES_OWN}: shutdown or another operation, not this job's fault). A failure whose fields
 * cannot be read says nothing.
 */
function judge(error: unknown, cap: number): [final: boolean, hint: number | undefined] {
  try {
    const gaveUp = isRetryError(error);
    const e = error as {
      code?: unknown;
      retryable?: unknown;
      retryAfterMs?: unknown;
      cause?: { retryAfterMs?: unknown };
    };
    const ms = (gaveUp ? e.cause : e)?.retryAfterMs;
    return [
      e?.retryable === false && !gaveUp && !QUEUES_OWN.includes(e.code),
      // Not jittered: the server said when. Whole ms, rounded up, as every delay (a job never runs early).
      typeof ms === 'number' && ms >= 0 ? Math.ceil(Math.min(ms, cap)) : undefined,
    ];
  } catch {
    return [false, undefined];
  }
}

/** The leased job handed out by `next()` and to handlers. */
export class LeasedJobImpl<T> implements LeasedJob<T> {
  readonly id: string;
  readonly timestamp: string;
  readonly payload: T;
  status: JobStatus;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly priority: number;
  readonly key: string | null;
  runAt: string;
  lastError: string | null;
  readonly token: number;
  leaseUntil: number;
  readonly stalled: boolean;
  /** The handler's signal when run by a worker (set by the worker). */
  signal!: AbortSignal;
  /**
   * Set once settled: `1` when `release()` (close) returned the job to pending, `'lost'` when the store fenced an
   * `ack()`/`fail()` off (its lease was lost), else `true`. A refused `release()` leaves it unset.
   */
  settled: boolean | 1 | 'lost' = false;
  /** close()'s release in flight: its holder's own calls wait for the store's answer, then say what it was. */
  #releasing: Promise<unknown> | undefined;
  readonly #record: JobRecord;
  readonly #owner: QueueCore<T>;

  constructor(owner: QueueCore<T>, record: ClaimedRecord) {
    this.#owner = owner;
    this.#record = record;
    this.id = record.id;
    this.timestamp = iso(record.createdAt);
    this.payload = parse(record);
    this.status = 'processing';
    this.attempts = record.attempts;
    this.maxAttempts = record.maxAttempts;
    this.priority = record.priority;
    this.key = record.key;
    this.runAt = iso(record.runAt);
    this.lastError = record.lastError;
    this.token = record.token;
    this.leaseUntil = record.leaseUntil ?? 0;
    this.stalled = record.stalled;
  }

  /** A plain snapshot for hooks (status after the transition). */
  snapshot(): Job<T> {
    return {
      id: this.id,
      timestamp: this.timestamp,
      payload: this.payload,
      status: this.status,
      attempts: this.attempts,
      maxAttempts: this.maxAttempts,
      priority: this.priority,
      key: this.key,
      runAt: this.runAt,
      lastError: this.lastError,
    };
  }

  /** Throws JobSettledError saying why when this lease was settled, returned by `close()` or lost. */
  #open(action: string): void {
    const s = this.settled;
    if (s) throw new JobSettledError(this.id, action, s === 1 || (s === 'lost' && s));
  }

  async ack(): Promise<void> {
    // Awaited only then: checking and settling in one step keeps a second call (or a release) from slipping between.
    if (this.#releasing) await this.#releasing;
    this.#open('ack');
    const ok = await this.#settle(() => this.#owner.store.ack(this.id, this.token, this.#owner.now()));
    if (!ok) throw new LeaseLostError(this.id, this.token, 'ack');
    this.status = 'done';
    this.#owner.emit('onCompleted', this.snapshot());
  }

  async fail(error: unknown, options?: FailOptions): Promise<void> {
    if (this.#releasing) await this.#releasing;
    this.#open('fail');
    const owner = this.#owner;
    const now = owner.now();
    // Checked before settling: a refused call leaves the lease to its holder. Stored, not timed: as push's delay.
    const delay =
      options?.delay === undefined ? undefined : checkMs('fail delay', options.delay, 0, MAX_MS - now);
    // A string 'false' (an env variable, a form field) read as truthy retried a job its holder meant to end.
    const given = options?.retry;
    if (given !== undefined && typeof given !== 'boolean')
      throw new InvalidArgumentError('retry', 'a boolean', given);
    const message = describeError(error);
    // What the caller gives wins over what the error says of itself: `retry` over `retryable`, `delay` over the hint.
    const [final, hint] = judge(error, owner.maxRetryAfter);
    const retry = (given ?? !final) && this.attempts < this.maxAttempts;
    let runAt = now;
    // A backoff can go past the last instant a Date holds (a spec's up to MAX_MS, a default backoff function).
    if (retry)
      runAt = Math.min(
        MAX_MS,
        now + (delay ?? hint ?? owner.delayOf(this.#record.backoff, this.attempts, this.id)),
      );
    const ok = await this.#settle(() =>
      owner.store.fail(
        this.id,
        this.token,
        now,
        message,
        retry ? { status: 'pending', runAt } : { status: 'dead' },
      ),
    );
    if (!ok) throw new LeaseLostError(this.id, this.token, 'fail');
    this.status = retry ? 'pending' : 'dead';
    this.lastError = message;
    if (retry) {
      // The snapshot onFailed gets says when the retry is due, as the store now does.
      this.runAt = iso(runAt);
      owner.wake(runAt);
    }
    const snapshot = this.snapshot();
    owner.emit('onFailed', snapshot, error);
    if (!retry) owner.emit('onDead', snapshot, error);
  }

  /**
   * Settles the lease with `write`. A store that throws (locked, closed) applied nothing, so the lease stays
   * unsettled (and `close()` still waits for it) and the call may be retried; a store that answers `false` settled
   * it for good (fencing).
   */
  async #settle(write: () => Promise<boolean>): Promise<boolean> {
    this.settled = true;
    try {
      // Fenced off: a later call says the lease was lost, not that its holder settled it (decision 0187).
      const ok = await write();
      if (!ok) this.settled = 'lost';
      // Only once committed: close() resolving first let a process exit before the store had the ack (0187).
      this.#owner.forget(this);
      return ok;
    } catch (error) {
      this.settled = false;
      throw error;
    }
  }

  async extend(ms: number): Promise<void> {
    const lease = checkMs('extend(ms)', ms, 1);
    if (this.#releasing) await this.#releasing;
    this.#open('extend');
    const leaseUntil = this.#owner.now() + lease;
    const ok = await this.#owner.store.extend(this.id, this.token, leaseUntil);
    if (!ok) throw new LeaseLostError(this.id, this.token, 'extend');
    this.leaseUntil = leaseUntil;
  }

  /**
   * Returns the job to pending without using up the attempt (graceful close). A release the store refused leaves
   * the lease to its holder, as a refused ack does; one fenced off too, so the holder's own call says LeaseLostError.
   */
  async release(): Promise<void> {
    if (this.settled) return;
    // The store is asked a tick later, once #releasing is set: a holder's call made from inside its release() (a
    // custom store calling back) waited for nothing and said 'already settled' of a lease the store then kept.
    const releasing = this.#settle(async () => {
      await 0;
      return this.#owner.store.release(this.id, this.token, this.#owner.now());
    });
    // Settled after release's own continuation below, so a call waiting for it finds the lease returned or unmarked.
    this.#releasing = releasing.catch(() => {});
    if (await releasing) {
      this.status = 'pending';
      this.settled = 1;
    } else this.settled = false;
  }
}

type HookName = keyof QueueHooks<unknown>;

const HOOKS: readonly HookName[] = ['onCompleted', 'onFailed', 'onDead', 'onStalled'];

/** The queue implementation; `createQueue` returns it behind the {@link Queue} interface. */
class QueueCore<T> implements Queue<T>, QueueInternals<T> {
  readonly name: string;
  readonly store: QueueStore;
  readonly clock: Clock;
  readonly random: () => number;
  private readonly logger: Logger;
  readonly leaseMs: number;
  readonly maxRetryAfter: number;
  private readonly attempts: number;
  private readonly defaultBackoff: Backoff;
  private readonly maxPayloadBytes: number;
  private readonly hooks: QueueHooks<T>;
  private readonly backoffs = new Map<string, Backoff>();
  private readonly wakers = new Set<(at?: number) => void>();
  private readonly workers = new Set<Worker>();
  private closed = false;
  private closing: Promise<void> | undefined;
  /**
   * Jobs handed out by `next()` and not settled yet, by id. One this queue claims again or reaps has lost its lease:
   * kept, every job left to its lease stayed here for good, and close() waited its whole timeout for them.
   */
  private readonly pulled = new Map<string, LeasedJobImpl<T>>();
  /** `next()` claims in flight. */
  private readonly taking = new Set<Promise<LeasedJobImpl<T> | null>>();
  private onPulledSettled: (() => void) | undefined;

  constructor(options: QueueOptions<T>) {
    if (
      typeof options?.name !== 'string' ||
      options.name.length === 0 ||
      options.name.length > 200 ||
      LONE_SURROGATE.test(options.name)
    )
      throw new InvalidArgumentError(
        'name',
        'a non-empty string of at most 200 characters, well-formed UTF-16 without NUL',
        options?.name,
      );
    const store = options.store as Partial<QueueStore> | undefined;
    if (typeof store?.claim !== 'function' || typeof store.enqueue !== 'function')
      throw new InvalidArgumentError(
        'store',
        'a QueueStore (memoryStore(), sqliteStore(...))',
        options.store,
      );
    this.name = options.name;
    this.store = options.store;
    // Checked here: a wrong shape would otherwise surface as a TypeError mid-job, after a store write.
    const clock = options.clock ?? systemClock;
    if (
      typeof clock?.now !== 'function' ||
      typeof clock.setTimeout !== 'function' ||
      typeof clock.clearTimeout !== 'function'
    )
      throw new InvalidArgumentError('clock', 'a Clock ({ now, setTimeout, clearTimeout })', clock);
    this.clock = clock;
    this.random = checkFunction('random', options.random) ?? Math.random;
    const logger = options.logger ?? silentLogger;
    if (typeof logger?.warn !== 'function')
      throw new InvalidArgumentError('logger', 'a pino-shaped logger ({ debug, info, warn, error })', logger);
    this.logger = logger;
    for (const hook of HOOKS) checkFunction(hook, options[hook]);
    this.leaseMs = checkMs('leaseMs', options.leaseMs ?? DEFAULT_LEASE_MS, 1);
    const cap = options.maxRetryAfter ?? DEFAULT_MAX_RETRY_AFTER;
    this.maxRetryAfter = cap === Infinity ? cap : checkMs('maxRetryAfter', cap, 0, MAX_MS);
    this.attempts = checkInteger('attempts', options.attempts ?? DEFAULT_ATTEMPTS, 1, MAX_ATTEMPTS);
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.defaultBackoff = typeof backoff === 'function' ? backoff : toBackoff(backoff);
    this.maxPayloadBytes = checkInteger(
      'maxPayloadBytes',
      options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      1,
      Number.MAX_SAFE_INTEGER,
    );
    this.hooks = {
      onCompleted: options.onCompleted,
      onFailed: options.onFailed,
      onDead: options.onDead,
      onStalled: options.onStalled,
    };
  }

  /**
   * The clock in whole ms, a fraction dropped: every store then sees the same times (SQLite keeps integers, memory
   * kept fractions, so the two handed out, ordered and leased jobs differently on a clock such as 1000.5).
   */
  now(): number {
    return Math.floor(this.clock.now());
  }

  /** Logs a warning. The logger is a user callback too: its throw or rejection must not stop a worker. */
  warn(details: object, message: string): void {
    guard(() => this.logger.warn(details, message));
  }

  emit(hook: HookName, job: Job<T>, error?: unknown): void {
    const fn = this.hooks[hook] as ((job: Job<T>, error?: unknown) => void) | undefined;
    if (fn !== undefined)
      guard(
        () => fn(job, error),
        (err) => this.warn({ err, queue: this.name, hook, jobId: job.id }, 'queue hook threw; ignored'),
      );
  }

  backoffOf(json: string | null): Backoff {
    if (json === null) return this.defaultBackoff;
    let backoff = this.backoffs.get(json);
    if (backoff === undefined) {
      try {
        backoff = toBackoff(JSON.parse(json) as BackoffSpec);
      } catch {
        // Not the error: a SyntaxError quotes the text, an InvalidArgumentError names a field, and a damaged
        // row's text can be anything (a payload's token).
        this.warn({ queue: this.name }, 'stored backoff is invalid; using the queue default');
        backoff = this.defaultBackoff;
      }
      if (this.backoffs.size > 100) this.backoffs.clear();
      this.backoffs.set(json, backoff);
    }
    return backoff;
  }

  /**
   * The backoff's delay after `attempt`. A custom backoff or `random` that throws is warned about and the built-in
   * default (no jitter, so no `random`) used: rejecting, fail() recorded nothing and the job waited out its lease to
   * come back as stalled, an attempt spent (decision 0180).
   */
  delayOf(json: string | null, attempt: number, jobId: string): number {
    try {
      return delayAfter(this.backoffOf(json), attempt, this.random);
    } catch (err) {
      this.warn({ err, queue: this.name, jobId }, 'backoff threw; using the built-in default backoff');
      return delayAfter(toBackoff(DEFAULT_BACKOFF), attempt, this.random);
    }
  }

  private prepare(options: PushOptions | undefined, now: number): Omit<NewJobRecord, 'payload'> {
    if (options === undefined) {
      return { priority: 0, key: null, maxAttempts: this.attempts, backoff: null, runAt: now };
    }
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError('push options', 'an object', options);
    // Up to the last instant a Date holds: the job's runAt is shown as an ISO 8601 string.
    const delay = options.delay === undefined ? 0 : checkMs('delay', options.delay, 0, MAX_MS - now);
    // `|| 0` makes -0 a 0: SQLite has no negative zero, and every store must read back what another one does.
    const priority =
      options.priority === undefined
        ? 0
        : checkInteger('priority', options.priority, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) || 0;
    const key = options.key ?? null;
    if (
      key !== null &&
      (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || LONE_SURROGATE.test(key))
    )
      throw new InvalidArgumentError(
        'key',
        `a non-empty string of at most ${MAX_KEY_LENGTH} characters, well-formed UTF-16 without NUL`,
        key,
      );
    const maxAttempts =
      options.attempts === undefined
        ? this.attempts
        : checkInteger('attempts', options.attempts, 1, MAX_ATTEMPTS);
    let backoff: string | null = null;
    if (options.backoff !== undefined) {
      if (typeof options.backoff === 'function')
        throw new InvalidArgumentError(
          'backoff',
          "a serialisable spec such as { type: 'exponential', delay: 1000 } (it is stored with the job; a function can only be the queue's default backoff)",
          options.backoff,
        );
      toBackoff(options.backoff);
      backoff = JSON.stringify(options.backoff);
    }
    return { priority, key, maxAttempts, backoff, runAt: now + delay };
  }

  private toJob(record: JobRecord, payload?: T): Job<T> {
    return {
      id: record.id,
      timestamp: iso(record.createdAt),
      payload: payload === undefined ? parse(record) : payload,
      status: record.status,
      attempts: record.attempts,
      maxAttempts: record.maxAttempts,
      priority: record.priority,
      key: record.key,
      runAt: iso(record.runAt),
      lastError: record.lastError,
    };
  }

  wake(at?: number): void {
    for (const wake of this.wakers) wake(at);
  }

  async push(payload: T, options?: PushOptions): Promise<Job<T>> {
    if (this.closed) throw new QueueClosedError(this.name);
    const now = this.now();
    const text = serializePayload(payload, this.maxPayloadBytes);
    const job = this.prepare(options, now);
    const [result] = await this.store.enqueue(this.name, [withPayload(job, text)], now);
    if (result === undefined) throw new Error('store.enqueue returned no result');
    if (this.wakers.size > 0) this.wake(job.runAt);
    return this.toJob(result.job, result.created ? payload : undefined);
  }

  async pushMany(payloads: readonly T[], options?: PushOptions): Promise<Job<T>[]> {
    if (this.closed) throw new QueueClosedError(this.name);
    if (!Array.isArray(payloads)) throw new InvalidArgumentError('payloads', 'an array', payloads);
    if (payloads.length > MAX_BATCH)
      throw new InvalidArgumentError('payloads', `at most ${MAX_BATCH} items per call`, payloads.length);
    const now = this.now();
    // Checked for an empty batch too: a bad option must not pass while a caller's batches happen to be empty.
    const job = this.prepare(options, now);
    if (payloads.length === 0) return [];
    const records: NewJobRecord[] = payloads.map((payload, i) => {
      try {
        return withPayload(job, serializePayload(payload, this.maxPayloadBytes));
      } catch (err) {
        (err as { index?: number }).index = i;
        throw err;
      }
    });
    const results = await this.store.enqueue(this.name, records, now);
    if (this.wakers.size > 0) this.wake(job.runAt);
    return results.map((r, i) => this.toJob(r.job, r.created ? payloads[i] : undefined));
  }

  async claim(limit: number, leaseMs: number): Promise<LeasedJobImpl<T>[]> {
    const now = this.now();
    // Issued together so a batching store commits both (and any ack in flight) in one transaction. The reaped
    // jobs' hooks fire as soon as the reap answers: a claim that then fails must not hide jobs now dead. A reap
    // that fails alone is only logged: the claim committed, so its jobs are ours to hand out (rejecting left them
    // leased to nobody, an attempt spent), and the next claim reaps again. When the claim fails too, its error is
    // the one reported (the same store failure, twice, was two warnings per worker round).
    // A store method written without `async` throws instead of rejecting: a reap that threw stopped every claim.
    const [reapFailed, records] = await Promise.all([
      (async () =>
        this.store.reap(
          this.name,
          now,
          'LeaseExpiredError: the lease of the last attempt expired (worker crashed or stalled)',
        ))().then(
        (reaped) => {
          for (const record of reaped) {
            this.forget(this.pulled.get(record.id));
            guard(
              () => {
                const job = this.toJob(record);
                this.emit('onStalled', job);
                this.emit('onDead', job, new Error(record.lastError ?? 'lease expired'));
              },
              (err) => this.warn({ err, queue: this.name, jobId: record.id }, CORRUPT),
            );
          }
        },
        (err: unknown) => ({ err }),
      ),
      this.store.claim(this.name, { now, leaseMs: Math.ceil(leaseMs), limit }),
    ]);
    if (reapFailed) this.warn({ ...reapFailed, queue: this.name }, 'could not reap expired jobs');
    if (records.length > 1) records.sort(claimOrder);
    const jobs: LeasedJobImpl<T>[] = [];
    for (const record of records) {
      this.forget(this.pulled.get(record.id));
      try {
        jobs.push(new LeasedJobImpl<T>(this, record));
      } catch (err) {
        // The claim committed: throwing leased the whole batch to nobody, and every later claim took the row
        // again. Reading it again cannot help, so it is dead-lettered (redrive brings it back once repaired); if
        // the store refuses that, the job keeps its lease and the claim after it tries again.
        this.warn({ err, queue: this.name, jobId: record.id }, CORRUPT);
        // A store method written without `async` throws instead of rejecting: escaping, that lost the batch's other jobs.
        await (async () =>
          this.store.fail(record.id, record.token, now, CORRUPT, { status: 'dead' }))().catch(() => {});
      }
    }
    // Only unreadable jobs: look again, so next() does not answer null while jobs are due (bounded: each is now
    // dead or leased).
    if (records.length && !jobs.length) return this.claim(limit, leaseMs);
    if (this.hooks.onStalled !== undefined)
      for (const job of jobs) if (job.stalled) this.emit('onStalled', job.snapshot());
    return jobs;
  }

  subscribe(wake: (at?: number) => void): () => void {
    this.wakers.add(wake);
    return () => this.wakers.delete(wake);
  }

  async next(options?: NextOptions): Promise<LeasedJob<T> | null> {
    if (this.closed) throw new QueueClosedError(this.name);
    const leaseMs = options?.leaseMs === undefined ? this.leaseMs : checkMs('leaseMs', options.leaseMs, 1);
    const taking = this.claim(1, leaseMs).then(([job]) => {
      // One job of close()'s list is looked at per call, the oldest, which then goes last: the list stays bounded
      // however many jobs other processes take over, at one store read per next() at most.
      const [oldest] = this.pulled.values();
      if (oldest) void this.recheck(oldest);
      if (job !== undefined) this.pulled.set(job.id, job);
      return job ?? null;
    });
    // close() waits for claims in flight, so the job one of them takes is given back too.
    this.taking.add(taking);
    try {
      return await taking;
    } finally {
      this.taking.delete(taking);
    }
  }

  /**
   * Drops a `next()` job whose lease lapsed from close()'s list once the store shows it is not this holder's any more:
   * claimed again (by another queue object or process), settled, reaped or deleted (decision 0206). A lapsed job nobody
   * took stays: its holder may still settle it. One with a call of its holder in flight is left to that call.
   */
  async recheck(job: LeasedJobImpl<T>): Promise<void> {
    // It goes last, so the next call looks at another.
    this.pulled.delete(job.id);
    this.pulled.set(job.id, job);
    try {
      if (job.leaseUntil > this.now()) return;
      const record = await this.store.get(job.id);
      if (!job.settled && (record?.token !== job.token || record.status !== 'processing')) this.forget(job);
    } catch {
      // The store could not say (closed, locked): the job stays, as it would have.
    }
  }

  /** A job from `next()` was settled (committed) or lost its lease here: `close()` no longer waits for it. */
  forget(job: LeasedJobImpl<T> | undefined): void {
    if (job && this.pulled.get(job.id) === job && this.pulled.delete(job.id) && !this.pulled.size)
      this.onPulledSettled?.();
  }

  process(handler: Handler<T>, options?: ProcessOptions): Worker {
    if (this.closed) throw new QueueClosedError(this.name);
    if (typeof handler !== 'function') throw new InvalidArgumentError('handler', 'a function', handler);
    const worker = createWorker(this, handler, options, () => this.workers.delete(worker));
    this.workers.add(worker);
    return worker;
  }

  async stats(): Promise<QueueStats> {
    const now = this.now();
    const s = await this.store.stats(this.name, now);
    return {
      pending: s.pending,
      processing: s.processing,
      done: s.done,
      dead: s.dead,
      delayed: s.delayed,
      total: s.pending + s.processing + s.done + s.dead,
      oldestPendingAgeMs: s.oldestPendingCreatedAt === null ? 0 : Math.max(0, now - s.oldestPendingCreatedAt),
    };
  }

  async get(id: string): Promise<Job<T> | null> {
    if (typeof id !== 'string') throw new InvalidArgumentError('id', 'a string', id);
    const record = await this.store.get(id);
    return record === null || record.queue !== this.name ? null : this.toJob(record);
  }

  async list(options?: ListJobsOptions): Promise<Job<T>[]> {
    const limit = checkInteger('limit', options?.limit ?? 100, 1, 10_000);
    const offset = checkInteger('offset', options?.offset ?? 0, 0, Number.MAX_SAFE_INTEGER);
    const status = options?.status;
    if (status !== undefined && !JOB_STATUSES.includes(status))
      throw new InvalidArgumentError('status', JOB_STATUSES.join(', '), status);
    const records = await this.store.list(this.name, { status, limit, offset });
    return records.map((record) => this.toJob(record));
  }

  async redrive(options?: RedriveJobsOptions): Promise<number> {
    const limit = options?.limit === undefined ? undefined : checkInteger('limit', options.limit, 1, 1e9);
    const ids = options?.ids;
    if (ids !== undefined && !(Array.isArray(ids) && ids.every((id) => typeof id === 'string')))
      throw new InvalidArgumentError('ids', 'an array of job ids (strings)', ids);
    // The same cap as pushMany: one call is one store transaction, and its size should be bounded.
    if (ids !== undefined && ids.length > MAX_BATCH)
      throw new InvalidArgumentError('ids', `at most ${MAX_BATCH} ids per call`, ids.length);
    const n = await this.store.redrive(this.name, { now: this.now(), ids, limit });
    if (n > 0 && this.wakers.size > 0) this.wake();
    return n;
  }

  async clean(options: CleanJobsOptions): Promise<number> {
    if (options?.status !== 'done' && options?.status !== 'dead')
      throw new InvalidArgumentError('status', "'done' or 'dead'", options?.status);
    const olderThan = checkMs('olderThan', options.olderThan, 0, MAX_MS);
    return this.store.clean(this.name, {
      status: options.status,
      finishedBefore: this.now() - olderThan,
    });
  }

  async close(options?: CloseOptions): Promise<void> {
    // Later calls share the first one's promise (and timeout), like worker.close(): a second close() must
    // not take over the wake-up of the first, which then waited for its whole timeout.
    if (this.closing === undefined) {
      const timeout = options?.timeout;
      const pulledTimeout = timeout === undefined ? DEFAULT_CLOSE_TIMEOUT : checkMs('close timeout', timeout);
      this.closed = true;
      this.closing = Promise.all([
        ...[...this.workers].map((worker) => worker.close(options)),
        this.releasePulled(pulledTimeout),
      ]).then(() => {});
    }
    return this.closing;
  }

  /** Waits up to `timeoutMs` for jobs taken with `next()` to be settled, then returns the rest to pending. */
  private async releasePulled(timeoutMs: number): Promise<void> {
    await Promise.allSettled(this.taking);
    await Promise.all([...this.pulled.values()].map(this.recheck, this));
    if (this.pulled.size === 0) return;
    if (timeoutMs > 0) {
      // Set before the await: a promise's executor runs before its constructor returns.
      let timer!: TimerHandle;
      await new Promise<void>((resolve) => {
        this.onPulledSettled = resolve;
        timer = this.clock.setTimeout(resolve, timeoutMs);
      });
      this.onPulledSettled = undefined;
      this.clock.clearTimeout(timer);
    }
    await Promise.all(
      [...this.pulled.values()].map((job) =>
        job.release().catch((err: unknown) => {
          this.warn({ err, queue: this.name, jobId: job.id }, 'could not return a pulled job on close');
        }),
      ),
    );
  }
}

function claimOrder(a: ClaimedRecord, b: ClaimedRecord): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.runAt !== b.runAt) return a.runAt - b.runAt;
  return Number(a.id) - Number(b.id) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Creates a queue over a store.
 *
 * @throws {InvalidArgumentError} for a missing name or store, or an option out of range
 * @example
 * ```ts
 * import { createQueue, memoryStore } from '@integ/queue';
 *
 * const queue = createQueue<{ to: string }>({ name: 'emails', store: memoryStore() });
 * await queue.push({ to: 'a@example.com' }, { attempts: 5 });
 * const worker = queue.process(async (job, { signal }) => send(job.payload, { signal }), { concurrency: 4 });
 * ```
 */
export function createQueue<T = unknown>(options: QueueOptions<T>): Queue<T> {
  return new QueueCore<T>(options);
}
