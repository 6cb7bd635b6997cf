/** The job shapes the queue hands out: a snapshot ({@link Job}) and a leased job ({@link LeasedJob}). */
import type { JobStatus } from './store.js';

/**
 * A snapshot of a job. `timestamp` is when it was pushed (ISO 8601); `attempts` counts runs started.
 *
 * @example
 * ```ts
 * const job = await queue.push({ to: 'a@example.com' });
 * console.log(job.id, job.timestamp, job.status); // '1' '2026-01-01T00:00:00.000Z' 'pending'
 * ```
 */
export interface Job<T = unknown> {
  readonly id: string;
  /** When the job was pushed, ISO 8601. */
  readonly timestamp: string;
  readonly payload: T;
  readonly status: JobStatus;
  /** Runs started so far (a run interrupted by a graceful close is given back). */
  readonly attempts: number;
  /** Runs allowed in total, first run included. */
  readonly maxAttempts: number;
  /** Higher runs first. */
  readonly priority: number;
  /** Deduplication key, or `null`. */
  readonly key: string | null;
  /** When the job is (or was) due, ISO 8601. */
  readonly runAt: string;
  /** The last failure's message, or `null`. */
  readonly lastError: string | null;
}

/** Options of {@link LeasedJob.fail}. */
export interface FailOptions {
  /**
   * `false` dead-letters the job at once, whatever attempts are left; `true` retries it (attempts left) even when
   * the error is marked `retryable: false`. @default true, unless the error is marked `retryable: false`
   */
  readonly retry?: boolean | undefined;
  /** Overrides the backoff (and the error's `retryAfterMs`) for this retry, in ms. */
  readonly delay?: number | undefined;
}

/**
 * A job leased to one consumer. Settle it with `ack()` or `fail(err)` before the lease expires, or
 * `extend(ms)` it; otherwise it is delivered again. Every call is fenced by the lease's token: once
 * another consumer has claimed the job, these reject with `LeaseLostError`.
 *
 * @example
 * ```ts
 * const job = await queue.next({ leaseMs: 30_000 });
 * if (job) { try { await send(job.payload); await job.ack(); } catch (err) { await job.fail(err); } }
 * ```
 */
export interface LeasedJob<T = unknown> extends Job<T> {
  /** The fencing token of this lease (increases with every claim of the job). */
  readonly token: number;
  /** When the lease expires, ms since the epoch on the queue's clock (updated by `extend`). */
  readonly leaseUntil: number;
  /** Whether this delivery took the job over from a holder whose lease expired. */
  readonly stalled: boolean;
  /**
   * Marks the job done.
   * @throws {LeaseLostError} when the lease was lost; {@link JobSettledError} when already settled
   */
  ack(): Promise<void>;
  /**
   * Records a failed attempt: the job is retried after its backoff (or the error's `retryAfterMs`, capped by
   * `maxRetryAfter`), or becomes `dead` after the last attempt or at once for an error marked `retryable: false`.
   * @throws {LeaseLostError} when the lease was lost; {@link JobSettledError} when already settled
   */
  fail(error: unknown, options?: FailOptions): Promise<void>;
  /**
   * Extends the lease to `ms` from now.
   * @throws {LeaseLostError} when the lease was lost
   */
  extend(ms: number): Promise<void>;
}

/** What a `process` handler receives next to the job. */
export interface HandlerContext {
  /** Aborts when the job's deadline (`timeout`) passes, its lease is lost, or the worker closes. */
  readonly signal: AbortSignal;
}

/** A `process` handler: resolve to ack, throw (or reject) to fail the attempt. */
export type Handler<T = unknown> = (
  job: LeasedJob<T> & HandlerContext,
  context: HandlerContext,
) => unknown | Promise<unknown>;
