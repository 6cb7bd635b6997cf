/** Errors thrown by @integ/queue. Each has a stable `ERR_*` code; match them with `isIntegError(err, code)`. */
import { IntegError, type IntegErrorOptions } from '@integ/core';

/**
 * A lease holder tried to ack, fail, extend or release a job it no longer holds
 * (`ERR_LEASE_LOST`): its lease expired and another worker claimed the job (fencing token mismatch),
 * or the job was already settled. The other holder's result wins; do not retry the call.
 *
 * @example
 * ```ts
 * try { await job.ack(); } catch (err) { if (isIntegError(err, 'ERR_LEASE_LOST')) log.warn('lost the lease'); }
 * ```
 */
export class LeaseLostError extends IntegError {
  static override readonly name: string = 'LeaseLostError';
  /** The job's id. */
  readonly jobId: string;
  /** The fencing token the stale holder presented. */
  readonly token: number;

  constructor(jobId: string, token: number, action: string) {
    super(
      'ERR_LEASE_LOST',
      `Cannot ${action} job ${jobId}: its lease (token ${token}) is no longer held; the lease expired and the job was claimed again or settled. Extend the lease (leaseMs, extend()) for long handlers`,
      { retryable: false },
    );
    this.jobId = jobId;
    this.token = token;
  }
}

/**
 * A payload is not plain JSON (`ERR_PAYLOAD_INVALID`): a function, symbol, BigInt, cycle,
 * non-finite number, class instance or `undefined` where JSON cannot keep it.
 *
 * @example
 * ```ts
 * await queue.push({ n: 1n }); // throws PayloadError: payload.n is a bigint
 * ```
 */
export class PayloadError extends IntegError {
  static override readonly name: string = 'PayloadError';
  /** Where in the payload the problem is, e.g. `payload.user.tags[2]`. */
  readonly path: string;

  constructor(path: string, problem: string) {
    super(
      'ERR_PAYLOAD_INVALID',
      `Invalid job payload: ${path} ${problem}; payloads must be plain JSON (objects, arrays, strings, finite numbers, booleans, null)`,
      { retryable: false },
    );
    this.path = path;
  }
}

/**
 * A payload's JSON is larger than the queue's `maxPayloadBytes` (`ERR_PAYLOAD_TOO_LARGE`).
 *
 * @example
 * ```ts
 * createQueue({ name, store, maxPayloadBytes: 4 * 1024 * 1024 }); // raise the limit
 * ```
 */
export class PayloadTooLargeError extends IntegError {
  static override readonly name: string = 'PayloadTooLargeError';
  /** The JSON's size in bytes, or a lower bound past the limit when the payload was refused before serialising. */
  readonly bytes: number;
  readonly limit: number;

  constructor(bytes: number, limit: number) {
    super(
      'ERR_PAYLOAD_TOO_LARGE',
      `Job payload is ${bytes} bytes of JSON or more, over the limit of ${limit}; store large data elsewhere and enqueue a reference, or raise maxPayloadBytes`,
      { retryable: false },
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/**
 * The queue (or worker) was closed (`ERR_QUEUE_CLOSED`).
 *
 * @example
 * ```ts
 * await queue.close();
 * await queue.push(1); // throws QueueClosedError
 * ```
 */
export class QueueClosedError extends IntegError {
  static override readonly name: string = 'QueueClosedError';
  constructor(name: string) {
    super('ERR_QUEUE_CLOSED', `Queue "${name}" is closed; create a new queue to push or process`, {
      retryable: false,
    });
  }
}

/**
 * `ack()`/`fail()` was called twice on the same leased job (`ERR_JOB_SETTLED`), or `ack()`/`fail()`/`extend()` on
 * one that `close()` (of the queue or the worker) returned to pending: it runs again, for another holder.
 *
 * @example
 * ```ts
 * await job.ack();
 * await job.fail(new Error('x')); // throws JobSettledError
 * ```
 */
export class JobSettledError extends IntegError {
  static override readonly name: string = 'JobSettledError';
  readonly jobId: string;

  /**
   * @param returned whether `close()` returned the job to pending (its holder settled nothing), or `'lost'` when an
   * earlier call found the lease lost (`LeaseLostError`)
   */
  constructor(jobId: string, action: string, returned?: boolean | 'lost') {
    super(
      'ERR_JOB_SETTLED',
      `Cannot ${action} job ${jobId}: ${returned === 'lost' ? 'this lease was lost' : returned ? 'close() returned it to pending; it runs again' : 'this lease was already settled'}`,
      { retryable: false },
    );
    this.jobId = jobId;
  }
}

/**
 * The store's file or database is damaged (`ERR_STORE_CORRUPT`), e.g. SQLITE_CORRUPT or
 * SQLITE_NOTADB: restore it from a backup or move it away; the queue cannot use it. Also what `get()`,
 * `list()` and `push()` (of a taken key) reject with when a job's stored payload is not JSON (a damaged row).
 *
 * @example
 * ```ts
 * if (isIntegError(err, 'ERR_STORE_CORRUPT')) alert(err.message);
 * ```
 */
export class StoreCorruptError extends IntegError {
  static override readonly name: string = 'StoreCorruptError';
  /**
   * @param what what is damaged, e.g. `SQLite queue database "jobs.db"`
   * @param problem what is wrong with it and what to do, after `what`
   */
  constructor(
    what: string,
    options: IntegErrorOptions = {},
    problem = 'is corrupted or is not a queue database; restore it from a backup or move it away',
  ) {
    super('ERR_STORE_CORRUPT', `${what} ${problem}`, { retryable: false, ...options });
  }
}

/**
 * The store stayed locked by another connection or process past its busy timeout
 * (`ERR_STORE_LOCKED`, SQLITE_BUSY). Retryable: the lock is usually transient.
 *
 * @example
 * ```ts
 * sqliteStore({ path, busyTimeout: 10_000 }); // wait longer for the lock
 * ```
 */
export class StoreLockedError extends IntegError {
  static override readonly name: string = 'StoreLockedError';
  constructor(what: string, busyTimeoutMs: number, options: IntegErrorOptions = {}) {
    super(
      'ERR_STORE_LOCKED',
      `${what} stayed locked by another connection for more than ${busyTimeoutMs} ms; another process holds a long write transaction, or raise busyTimeout`,
      { retryable: true, ...options },
    );
  }
}

/**
 * The store cannot be used: its driver is missing or failed to open (`ERR_STORE_UNAVAILABLE`).
 *
 * @example
 * ```ts
 * // npm i better-sqlite3  (or run on Node >= 22.13 for node:sqlite)
 * ```
 */
export class StoreUnavailableError extends IntegError {
  static override readonly name: string = 'StoreUnavailableError';
  constructor(message: string, options: IntegErrorOptions = {}) {
    super('ERR_STORE_UNAVAILABLE', message, { retryable: false, ...options });
  }
}
