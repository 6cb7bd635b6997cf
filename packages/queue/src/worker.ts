/**
 * Push-style consumption: a worker claims jobs in batches up to its concurrency, keeps each lease alive
 * while the handler runs, enforces the per-job deadline, and on close returns unfinished jobs to pending.
 */
import { InvalidArgumentError, isIntegError, TimeoutError, type TimerHandle } from '@integ/core';
import { QueueClosedError } from './errors.js';
import { checkFunction, guard } from './internal/check.js';
import type { Handler, HandlerContext, LeasedJob } from './job.js';
import type { CloseOptions, LeasedJobImpl, QueueInternals } from './queue.js';

/** Options of `queue.process`. */
export interface ProcessOptions {
  /** Jobs run at the same time. @default 1 */
  readonly concurrency?: number | undefined;
  /** Lease per claim in ms, renewed every `leaseMs / 2` while the handler runs. @default the queue's `leaseMs` (30000) */
  readonly leaseMs?: number | undefined;
  /**
   * Per-job deadline in ms: the handler's signal aborts with a `TimeoutError`, the attempt fails and the
   * slot is freed even if the handler ignores the signal. @default no deadline
   */
  readonly timeout?: number | undefined;
  /** How often to look for due jobs when the queue looked empty, in ms. Pushes and retries on this queue object wake the worker when they fall due. @default 1000 */
  readonly pollInterval?: number | undefined;
  /** Default of `close({ timeout })`: how long close waits for running jobs, in ms. @default 10000 */
  readonly closeTimeout?: number | undefined;
  /** Aborting it closes the worker (gracefully). */
  readonly signal?: AbortSignal | undefined;
  /** Errors the worker could not hand to anyone (store errors while claiming, a lost lease at ack). */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** A running worker. */
export interface Worker {
  /** Jobs being handled right now. */
  readonly running: number;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /**
   * Stops claiming, waits up to `timeout` ms for running jobs, then aborts the rest and returns them to
   * pending (their attempt is given back). Idempotent: later calls return the same promise. A `timeout` out of
   * range rejects with `InvalidArgumentError` and closes nothing.
   */
  close(options?: CloseOptions): Promise<void>;
}

interface Running<T> {
  readonly job: LeasedJobImpl<T>;
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

const MAX_CONCURRENCY = 10_000;
const ERROR_BACKOFF_MS = 1000;

function checkOption(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || v > max)
    throw new InvalidArgumentError(name, `a number from ${min} to ${max}`, v);
  return v;
}

/** Creates a worker; called by `queue.process`. */
export function createWorker<T>(
  queue: QueueInternals<T>,
  handler: Handler<T>,
  options: ProcessOptions | undefined,
  onClosed: () => void,
): Worker {
  const concurrency = checkOption('concurrency', options?.concurrency, 1, 1, MAX_CONCURRENCY);
  if (!Number.isInteger(concurrency))
    throw new InvalidArgumentError('concurrency', 'an integer', concurrency);
  const leaseMs = checkOption('leaseMs', options?.leaseMs, queue.leaseMs, 1, 2_147_483_647);
  const timeout = options?.timeout;
  if (timeout !== undefined) checkOption('timeout', timeout, 0, 1, 2_147_483_647);
  const pollInterval = checkOption('pollInterval', options?.pollInterval, 1000, 1, 2_147_483_647);
  const closeTimeout = checkOption('closeTimeout', options?.closeTimeout, 10_000, 0, 2_147_483_647);
  checkFunction('onError', options?.onError);
  const signal = options?.signal;
  if (signal !== undefined && typeof (signal as Partial<AbortSignal>)?.addEventListener !== 'function')
    throw new InvalidArgumentError('signal', 'an AbortSignal', signal);
  const { clock } = queue;
  const running = new Set<Running<T>>();
  const settling = new Set<Promise<void>>();
  let pumping: Promise<void> | undefined;
  let again = false;
  let stopping = false;
  let pollTimer: TimerHandle | undefined;
  let closing: Promise<void> | undefined;

  const report = (error: unknown, message: string): void => {
    const onError = options?.onError;
    // The error hook's own failure (a throw, a rejected promise) is ignored; the error still goes to the logger.
    if (onError) guard(() => onError(error));
    queue.warn({ err: error, queue: queue.name }, message);
  };

  const schedule = (ms: number): void => {
    if (stopping || pollTimer !== undefined) return;
    pollTimer = clock.setTimeout(() => {
      pollTimer = undefined;
      pump();
    }, ms);
  };

  // Due times of jobs this process knows will become claimable before the next poll (delays, retries).
  const dueTimes: number[] = [];
  let dueTimer: TimerHandle | undefined;
  let dueAt = Number.POSITIVE_INFINITY;

  const armDue = (): void => {
    const next = dueTimes[0];
    // The timer runs on elapsed time: after a wall-clock step forward, one armed for a due time now past still
    // waited its full time (an hour), and a later due time behind it with it. Past, it is armed again at once, and
    // that timer is kept (dueAt -Infinity): re-armed at every push until it fired, it was a timer per push.
    if (next === undefined || (next >= dueAt && (dueAt > clock.now() || dueAt === -Infinity))) return;
    if (dueTimer !== undefined) clock.clearTimeout(dueTimer);
    dueAt = next > clock.now() ? next : -Infinity;
    dueTimer = clock.setTimeout(
      () => {
        dueTimer = undefined;
        dueAt = Number.POSITIVE_INFINITY;
        const now = clock.now();
        // An empty list's [0] is undefined, which is not <= now.
        while ((dueTimes[0] as number) <= now) dueTimes.shift();
        armDue();
        pump();
      },
      // A step back of the wall clock can put `next` past 2^31 - 1 ms, which runtimes fire after 1 ms: re-armed
      // at once, that was a claim every 1 ms until the clock caught up.
      Math.max(0, Math.min(2_147_483_647, next - clock.now())),
    );
  };

  // Not called once stopping: shutdown() unsubscribes as it sets it.
  const wake = (at?: number): void => {
    // No `at` (due now) makes NaN, which is not > 0.
    if ((at as number) - clock.now() > 0) {
      // Kept however far off: a due time past the next poll was left to the poll after it, up to pollInterval late
      // (a 90 s retry ran at 120 s with a 60 s poll). The earliest 1000 are kept; a later one waits for a poll.
      let i = dueTimes.length;
      // dueTimes[-1] is undefined, which is not > at.
      while ((dueTimes[i - 1] as number) > (at as number)) i--;
      if (i >= 1000) return;
      if (dueTimes[i - 1] !== at) {
        dueTimes.splice(i, 0, at as number);
        if (dueTimes.length > 1000) dueTimes.pop();
      }
      armDue();
      return;
    }
    if (pollTimer !== undefined) {
      clock.clearTimeout(pollTimer);
      pollTimer = undefined;
    }
    pump();
  };

  function pump(): void {
    if (stopping) return;
    if (pumping !== undefined) {
      again = true;
      return;
    }
    pumping = fill().finally(() => {
      pumping = undefined;
      // A slot freed while fill() was returning (a handler that settled at once) asked for another round;
      // a wake-up while every slot is busy did not (the slot's own pump() comes when it frees).
      if (again && running.size < concurrency) pump();
    });
  }

  async function fill(): Promise<void> {
    try {
      while (!stopping && running.size < concurrency) {
        again = false;
        const jobs = await queue.claim(concurrency - running.size, leaseMs);
        if (stopping) {
          // close() began while claiming: these were never started, give them back at once.
          await Promise.all(jobs.map((job) => job.release().catch(() => false)));
          return;
        }
        for (const job of jobs) start(job);
        if (jobs.length === 0 && !again) {
          schedule(pollInterval);
          return;
        }
      }
    } catch (error) {
      report(error, 'queue worker could not claim jobs; retrying');
      schedule(Math.min(pollInterval, ERROR_BACKOFF_MS));
    }
  }

  function start(job: LeasedJobImpl<T>): void {
    const controller = new AbortController();
    const entry: Running<T> = { job, controller, done: run(job, controller) };
    running.add(entry);
    void entry.done.finally(() => {
      running.delete(entry);
      // pump() does nothing once stopping.
      pump();
    });
  }

  async function run(job: LeasedJobImpl<T>, controller: AbortController): Promise<void> {
    const signal = controller.signal;
    job.signal = signal;
    const context: HandlerContext = { signal };
    let renewTimer: TimerHandle | undefined;
    let deadlineTimer: TimerHandle | undefined;
    let lost = false;
    // Set once the handler settled: a renewal answered after that must not schedule another (an ack the store
    // refused leaves the job unsettled, and renewing it for ever kept it from being delivered again).
    let over = false;
    const renew = (ms: number): void => {
      renewTimer = clock.setTimeout(() => {
        renewTimer = undefined;
        if (job.settled) return;
        job.extend(leaseMs).then(
          () => {
            if (!over && !signal.aborted && !job.settled) renew(leaseMs / 2);
          },
          (error: unknown) => {
            if (isIntegError(error, 'ERR_LEASE_LOST')) {
              lost = true;
              report(error, 'queue worker lost a lease; the job was claimed again');
              controller.abort(error);
            } else if (!over && !job.settled) {
              report(error, 'queue worker could not extend a lease; trying again');
              // Soon, not after another leaseMs / 2: that is when the lease ends and another claim may take it.
              renew(leaseMs / 8);
            }
          },
        );
      }, ms);
    };
    renew(leaseMs / 2);
    if (timeout !== undefined) {
      deadlineTimer = clock.setTimeout(() => {
        deadlineTimer = undefined;
        controller.abort(new TimeoutError(timeout, `Job ${job.id} of queue "${queue.name}"`));
      }, timeout);
    }
    let failed = false;
    let failure: unknown;
    try {
      const result = handler(job as LeasedJob<T> & HandlerContext, context);
      // `?.` reads null's then as undefined.
      if (typeof (result as PromiseLike<unknown>)?.then === 'function') {
        let onAbort: (() => void) | undefined;
        // A handler that ignores its signal must not hold the slot: the abort settles the race.
        const aborted = new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason);
          // No { once: true }: the finally below removes the listener, and a signal aborts once.
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort);
        });
        aborted.catch(() => {});
        try {
          await Promise.race([result as PromiseLike<unknown>, aborted]);
        } finally {
          // Set: a promise's executor runs before its constructor returns.
          signal.removeEventListener('abort', onAbort as () => void);
        }
      } else if (signal.aborted) throw signal.reason;
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      over = true;
      if (renewTimer !== undefined) clock.clearTimeout(renewTimer);
      if (deadlineTimer !== undefined) clock.clearTimeout(deadlineTimer);
    }
    // Lost lease or given up by close() (released, or left to its lease when the store refused the release):
    // someone else owns the job's fate now.
    if (lost || job.settled || signal.reason instanceof QueueClosedError) return;
    // The slot frees as soon as the handler settled; the ack is not awaited here, so it shares one
    // group commit with the claim of the next job (one transaction per job instead of two).
    const settle = (failed ? job.fail(failure) : job.ack()).catch((error: unknown) => {
      report(
        error,
        failed ? 'queue worker could not record a failed attempt' : 'queue worker could not ack a job',
      );
    });
    settling.add(settle);
    void settle.then(() => settling.delete(settle));
  }

  async function shutdown(timeoutMs: number): Promise<void> {
    stopping = true;
    unsubscribe();
    detachSignal?.();
    if (pollTimer !== undefined) {
      clock.clearTimeout(pollTimer);
      pollTimer = undefined;
    }
    if (dueTimer !== undefined) {
      clock.clearTimeout(dueTimer);
      dueTimer = undefined;
    }
    // A handler may call close() before its first await: start() adds it to `running` only once it returns.
    await null;
    if (running.size > 0) {
      if (timeoutMs > 0) {
        let timer: TimerHandle | undefined;
        const expired = new Promise<void>((resolve) => {
          timer = clock.setTimeout(resolve, timeoutMs);
        });
        await Promise.race([Promise.all([...running].map((r) => r.done)), expired]);
        if (timer !== undefined) clock.clearTimeout(timer);
      }
      const unfinished = [...running];
      await Promise.all(
        unfinished.map(async ({ job, controller }) => {
          try {
            await job.release();
          } catch (error) {
            report(error, 'queue worker could not return a job to pending on close');
          }
          controller.abort(new QueueClosedError(queue.name));
        }),
      );
      await Promise.all(unfinished.map((r) => r.done));
    }
    // A claim in flight releases its own jobs (see fill()); acks in flight finish.
    if (pumping !== undefined) await pumping;
    await Promise.all(settling);
    onClosed();
  }

  const unsubscribe = queue.subscribe(wake);
  let detachSignal: (() => void) | undefined;
  if (signal !== undefined) {
    const onAbort = (): void => {
      void worker.close();
    };
    // No { once: true }: close() removes it (shutdown's detachSignal), also when the abort is what closed the worker.
    signal.addEventListener('abort', onAbort);
    detachSignal = () => signal.removeEventListener('abort', onAbort);
  }

  const worker: Worker = {
    get running() {
      return running.size;
    },
    get closed() {
      return stopping;
    },
    close(closeOptions?: CloseOptions): Promise<void> {
      if (closing === undefined) {
        // A bad timeout rejects, as queue.close()'s does (a throw escaped `close(options).catch(...)`), and
        // closes nothing.
        try {
          closing = shutdown(
            checkOption('close timeout', closeOptions?.timeout, closeTimeout, 0, 2_147_483_647),
          );
        } catch (error) {
          return Promise.reject(error);
        }
      }
      return closing;
    },
  };
  if (signal?.aborted) void worker.close();
  else pump();
  return worker;
}
