/**
 * `@integ/queue/testing`: the conformance kit every store must pass. It is framework-agnostic: hand it
 * your runner's `describe`, `it`, `expect`, `beforeEach` and `afterEach` (vitest, jest and bun:test fit
 * as they are) and a factory for a fresh, empty store. Time runs on a manual clock owned by the kit, so
 * leases, delays and backoffs are checked in microseconds; the store only ever sees the queue's `now`.
 */
import { isIntegError } from '@integ/core';
import { type ManualClock, manualClock, turns } from './internal/manual-clock.js';
import type { Job, LeasedJob } from './job.js';
import { createQueue, type Queue, type QueueOptions } from './queue.js';
import type { QueueStore } from './store.js';

/** The assertions the kit uses; `expect` of vitest, jest and bun:test provides them. */
export interface ConformanceMatchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
}

/** The test-runner functions the kit registers its tests with. */
export interface ConformanceRunner {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>): void;
  expect(actual: unknown): ConformanceMatchers;
  beforeEach(fn: () => Promise<void> | void): void;
  afterEach(fn: () => Promise<void> | void): void;
}

/** Options of {@link queueConformance}. */
export interface ConformanceOptions {
  /** Shown in the suite's name, e.g. `'sqlite'`. */
  readonly name: string;
  /**
   * A fresh, empty store for each test (for a shared server such as Postgres or Redis: a new schema, key
   * prefix or truncated table). The kit uses the queue names `conformance`, `a` and `b`.
   */
  createStore(): QueueStore | Promise<QueueStore>;
  /** Disposes of a store after its test (after `store.close()`), e.g. deletes its file. */
  cleanup?(store: QueueStore): Promise<void> | void;
}

const START = Date.UTC(2030, 0, 1);

/**
 * Registers the conformance suite: leases, expiry and re-delivery, fencing, retries with backoff,
 * dead letters and redrive, delays, priorities, deduplication keys, per-job deadlines, graceful close,
 * stats and payload validation.
 *
 * @example
 * ```ts
 * import { afterEach, beforeEach, describe, expect, it } from 'vitest';
 * import { queueConformance } from '@integ/queue/testing';
 *
 * queueConformance({ describe, it, expect, beforeEach, afterEach }, { name: 'my store', createStore: () => myStore() });
 * ```
 */
export function queueConformance(runner: ConformanceRunner, options: ConformanceOptions): void {
  const { describe, it, expect, beforeEach, afterEach } = runner;

  let store: QueueStore;
  let clock: ManualClock;
  const queues: Queue<unknown>[] = [];

  const make = <T = unknown>(extra?: Partial<QueueOptions<T>>): Queue<T> => {
    const queue = createQueue<T>({ name: 'conformance', store, clock, random: () => 0.5, ...extra });
    queues.push(queue as Queue<unknown>);
    return queue;
  };

  /** Spins the event loop until `check()` holds (bounded: no real waiting, no hang). */
  const until = async (check: () => boolean | Promise<boolean>, what: string): Promise<void> => {
    for (let i = 0; i < 500; i++) {
      if (await check()) return;
      await turns(1);
    }
    throw new Error(`conformance: timed out waiting for ${what}`);
  };

  const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    throw new Error('conformance: expected a rejection');
  };

  const codeOf = (error: unknown): unknown => (isIntegError(error) ? error.code : error);

  const mustNext = async <T>(queue: Queue<T>, leaseMs?: number): Promise<LeasedJob<T>> => {
    const job = await queue.next(leaseMs === undefined ? undefined : { leaseMs });
    if (job === null) throw new Error('conformance: expected a job, got null');
    return job;
  };

  describe(`queue store conformance: ${options.name}`, () => {
    beforeEach(async () => {
      clock = manualClock(START);
      store = await options.createStore();
    });

    afterEach(async () => {
      for (const queue of queues.splice(0)) await queue.close({ timeout: 0 });
      await store.close();
      await options.cleanup?.(store);
    });

    describe('push', () => {
      it('returns { id, timestamp, payload, status, attempts } with an ISO timestamp', async () => {
        const queue = make();
        const job = await queue.push({ to: 'a@example.com' });
        expect(typeof job.id).toBe('string');
        expect(job.timestamp).toBe(new Date(START).toISOString());
        expect(job.payload).toEqual({ to: 'a@example.com' });
        expect(job.status).toBe('pending');
        expect(job.attempts).toBe(0);
        const stored = await queue.get(job.id);
        expect(stored?.payload).toEqual({ to: 'a@example.com' });
        expect(stored?.status).toBe('pending');
      });

      it('refuses payloads that are not JSON, and stores nothing', async () => {
        const queue = make();
        const cyclic: { self?: unknown } = {};
        cyclic.self = cyclic;
        for (const bad of [() => 1, 10n, cyclic, undefined, Number.NaN, new Map(), Symbol('x'), [undefined]])
          expect(codeOf(await rejection(queue.push(bad)))).toBe('ERR_PAYLOAD_INVALID');
        expect((await queue.stats()).total).toBe(0);
      });

      it('refuses a payload over maxPayloadBytes', async () => {
        const queue = make({ maxPayloadBytes: 100 });
        expect(codeOf(await rejection(queue.push('x'.repeat(200))))).toBe('ERR_PAYLOAD_TOO_LARGE');
        expect(codeOf(await rejection(queue.push('é'.repeat(60))))).toBe('ERR_PAYLOAD_TOO_LARGE');
        expect((await queue.push('é'.repeat(40))).status).toBe('pending');
      });

      it('pushMany inserts all jobs in order, atomically', async () => {
        const queue = make();
        const jobs = await queue.pushMany([1, 2, 3]);
        expect(jobs.map((j) => j.payload)).toEqual([1, 2, 3]);
        expect(codeOf(await rejection(queue.pushMany([4, () => 5])))).toBe('ERR_PAYLOAD_INVALID');
        expect((await queue.stats()).pending).toBe(3);
        const order: unknown[] = [];
        for (let job = await queue.next(); job !== null; job = await queue.next()) order.push(job.payload);
        expect(order).toEqual([1, 2, 3]);
      });

      it('deduplicates by key while a job with that key is pending or processing', async () => {
        const queue = make();
        const a = await queue.push({ v: 1 }, { key: 'user-1' });
        const b = await queue.push({ v: 2 }, { key: 'user-1' });
        expect(b.id).toBe(a.id);
        expect(b.payload).toEqual({ v: 1 });
        const other = await queue.push({ v: 3 }, { key: 'user-2' });
        expect(other.id === a.id).toBe(false);
        const leased = await mustNext(queue);
        expect((await queue.push({ v: 4 }, { key: 'user-1' })).id).toBe(leased.id);
        await leased.ack();
        const fresh = await queue.push({ v: 5 }, { key: 'user-1' });
        expect(fresh.id === a.id).toBe(false);
        expect((await queue.stats()).pending).toBe(2);
      });

      it('isolates queues that share a store', async () => {
        const a = make({ name: 'a' });
        const b = make({ name: 'b' });
        await a.push('for a', { key: 'k' });
        await b.push('for b', { key: 'k' });
        expect((await mustNext(b)).payload).toBe('for b');
        expect(await b.next()).toBe(null);
        expect((await a.stats()).pending).toBe(1);
      });
    });

    describe('next', () => {
      it('returns null when nothing is due', async () => {
        expect(await make().next()).toBe(null);
      });

      it('leases jobs in push order, each to one consumer', async () => {
        const queue = make();
        await queue.pushMany(Array.from({ length: 20 }, (_, i) => i));
        const leased = await Promise.all(Array.from({ length: 25 }, () => queue.next()));
        const got = leased.filter((j): j is LeasedJob<unknown> => j !== null);
        expect(got.length).toBe(20);
        expect(new Set(got.map((j) => j.id)).size).toBe(20);
        expect(got.every((j) => j.status === 'processing' && j.attempts === 1)).toBe(true);
        expect((await queue.stats()).processing).toBe(20);
      });

      it('orders by priority (higher first), then push order', async () => {
        const queue = make();
        await queue.push('low', { priority: -1 });
        await queue.push('normal-1');
        await queue.push('high', { priority: 10 });
        await queue.push('normal-2');
        await queue.push('mid', { priority: 5 });
        const order: unknown[] = [];
        for (let job = await queue.next(); job !== null; job = await queue.next()) order.push(job.payload);
        expect(order).toEqual(['high', 'mid', 'normal-1', 'normal-2', 'low']);
      });

      it('holds a delayed job until its delay has passed', async () => {
        const queue = make();
        await queue.push('later', { delay: 5000 });
        await queue.push('now');
        expect((await mustNext(queue)).payload).toBe('now');
        expect(await queue.next()).toBe(null);
        expect((await queue.stats()).delayed).toBe(1);
        await clock.advance(4999);
        expect(await queue.next()).toBe(null);
        await clock.advance(1);
        expect((await mustNext(queue)).payload).toBe('later');
      });

      it('puts a job whose lease expired in priority order, not ahead of due jobs', async () => {
        const queue = make();
        await queue.push('low');
        const first = await mustNext(queue, 1000);
        await queue.push('high', { priority: 5 });
        await clock.advance(1000);
        expect((await mustNext(queue)).payload).toBe('high');
        const again = await mustNext(queue);
        expect([again.id, again.stalled]).toEqual([first.id, true]);
      });

      it('acks a job: done, and never delivered again', async () => {
        const queue = make();
        const pushed = await queue.push('x');
        const job = await mustNext(queue, 1000);
        await job.ack();
        expect((await queue.get(pushed.id))?.status).toBe('done');
        await clock.advance(5000);
        expect(await queue.next()).toBe(null);
        expect(codeOf(await rejection(job.ack()))).toBe('ERR_JOB_SETTLED');
      });
    });

    describe('leases', () => {
      it('re-delivers a job whose lease expired, with a new fencing token', async () => {
        const stalled: Job[] = [];
        const queue = make({ onStalled: (job) => stalled.push(job) });
        await queue.push('x');
        const first = await mustNext(queue, 1000);
        expect(first.stalled).toBe(false);
        await clock.advance(999);
        expect(await queue.next()).toBe(null);
        await clock.advance(1);
        const second = await mustNext(queue, 1000);
        expect(second.id).toBe(first.id);
        expect(second.token > first.token).toBe(true);
        expect(second.attempts).toBe(2);
        expect(second.stalled).toBe(true);
        expect(stalled.map((j) => j.id)).toEqual([first.id]);
      });

      it('rejects ack, fail and extend from a stale holder with ERR_LEASE_LOST', async () => {
        const queue = make();
        await queue.push('x');
        const stale = await mustNext(queue, 1000);
        await clock.advance(1000);
        const current = await mustNext(queue, 1000);
        const lost = await rejection(stale.ack());
        expect(codeOf(lost)).toBe('ERR_LEASE_LOST');
        expect((lost as { jobId?: unknown }).jobId).toBe(stale.id);
        await current.extend(1000);
        await current.ack();
        expect((await queue.get(current.id))?.status).toBe('done');
      });

      it('fences fail and extend too', async () => {
        const queue = make();
        await queue.push('x');
        const stale = await mustNext(queue, 1000);
        await clock.advance(1000);
        const current = await mustNext(queue, 1000);
        expect(codeOf(await rejection(stale.extend(5000)))).toBe('ERR_LEASE_LOST');
        expect(codeOf(await rejection(stale.fail(new Error('late'))))).toBe('ERR_LEASE_LOST');
        expect((await queue.get(current.id))?.status).toBe('processing');
        await current.ack();
      });

      it('lets a holder settle an expired lease nobody re-claimed', async () => {
        const queue = make();
        await queue.push('x');
        const job = await mustNext(queue, 1000);
        await clock.advance(5000);
        await job.ack();
        expect((await queue.stats()).done).toBe(1);
      });

      it('extend() keeps a job leased past its original lease', async () => {
        const queue = make();
        await queue.push('x');
        const job = await mustNext(queue, 1000);
        await clock.advance(900);
        await job.extend(5000);
        await clock.advance(4000);
        expect(await queue.next()).toBe(null);
        await clock.advance(1000);
        expect((await mustNext(queue)).id).toBe(job.id);
      });

      it('dead-letters a job whose last attempt lost its lease', async () => {
        const dead: Job[] = [];
        const queue = make({ onDead: (job) => dead.push(job) });
        await queue.push('x', { attempts: 1 });
        await mustNext(queue, 1000);
        await clock.advance(1000);
        expect(await queue.next()).toBe(null);
        const stats = await queue.stats();
        expect([stats.dead, stats.processing]).toEqual([1, 0]);
        expect(dead.length).toBe(1);
      });
    });

    describe('retries and dead letters', () => {
      it('retries after the backoff, then dead-letters after the last attempt with its error', async () => {
        const failed: Job[] = [];
        const dead: Job[] = [];
        const queue = make({ onFailed: (job) => failed.push(job), onDead: (job) => dead.push(job) });
        const pushed = await queue.push('x', { attempts: 3, backoff: { type: 'constant', delay: 1000 } });
        await (await mustNext(queue)).fail(new Error('boom 1'));
        expect((await queue.get(pushed.id))?.status).toBe('pending');
        expect(await queue.next()).toBe(null);
        await clock.advance(999);
        expect(await queue.next()).toBe(null);
        await clock.advance(1);
        const second = await mustNext(queue);
        expect(second.attempts).toBe(2);
        expect(second.lastError).toBe('Error: boom 1');
        await second.fail(new Error('boom 2'));
        await clock.advance(1000);
        await (await mustNext(queue)).fail(new Error('boom 3'));
        const final = await queue.get(pushed.id);
        expect(final?.status).toBe('dead');
        expect(final?.attempts).toBe(3);
        expect(final?.lastError).toBe('Error: boom 3');
        expect(failed.map((j) => j.status)).toEqual(['pending', 'pending', 'dead']);
        expect(dead.map((j) => j.id)).toEqual([pushed.id]);
        await clock.advance(60_000);
        expect(await queue.next()).toBe(null);
      });

      it('follows an exponential backoff spec stored with the job', async () => {
        const queue = make();
        await queue.push('x', {
          attempts: 4,
          backoff: { type: 'exponential', delay: 100, factor: 3, jitter: 'none' },
        });
        for (const delay of [100, 300, 900]) {
          await (await mustNext(queue)).fail(new Error('again'));
          await clock.advance(delay - 1);
          expect(await queue.next()).toBe(null);
          await clock.advance(1);
        }
        expect((await mustNext(queue)).attempts).toBe(4);
      });

      it('uses the queue default backoff (1 s, 2 s, ...) when the job has none', async () => {
        const queue = make({ attempts: 3 });
        await queue.push('x');
        await (await mustNext(queue)).fail(new Error('e'));
        await clock.advance(999);
        expect(await queue.next()).toBe(null);
        await clock.advance(1);
        await (await mustNext(queue)).fail(new Error('e'));
        await clock.advance(1999);
        expect(await queue.next()).toBe(null);
        await clock.advance(1);
        expect((await mustNext(queue)).attempts).toBe(3);
      });

      it('fail(err, { retry: false }) dead-letters at once', async () => {
        const queue = make();
        const pushed = await queue.push('x', { attempts: 5 });
        await (await mustNext(queue)).fail(new Error('bad input'), { retry: false });
        expect((await queue.get(pushed.id))?.status).toBe('dead');
      });

      it('redrives dead jobs back to pending with fresh attempts', async () => {
        const queue = make();
        const a = await queue.push('a', { attempts: 1 });
        const b = await queue.push('b', { attempts: 1 });
        await (await mustNext(queue)).fail(new Error('x'));
        await (await mustNext(queue)).fail(new Error('y'));
        expect((await queue.list({ status: 'dead' })).map((j) => j.id)).toEqual([a.id, b.id]);
        expect(await queue.redrive({ ids: [a.id] })).toBe(1);
        const again = await mustNext(queue);
        expect([again.id, again.attempts]).toEqual([a.id, 1]);
        await again.ack();
        expect(await queue.redrive()).toBe(1);
        expect((await mustNext(queue)).id).toBe(b.id);
        expect(await queue.redrive()).toBe(0);
      });
    });

    describe('redrive', () => {
      it('works in push order, skips a job whose key is taken again, and counts only what it redrove', async () => {
        const queue = make();
        const a = await queue.push('a', { attempts: 1, key: 'k' });
        const b = await queue.push('b', { attempts: 1 });
        const c = await queue.push('c', { attempts: 1 });
        for (let i = 0; i < 3; i++) await (await mustNext(queue)).fail(new Error('x'));
        // A new job holds the key now: 'a' cannot go back to pending beside it.
        await queue.push('a2', { key: 'k' });
        expect(await queue.redrive({ limit: 1 })).toBe(1);
        expect((await queue.get(a.id))?.status).toBe('dead');
        expect((await queue.get(b.id))?.status).toBe('pending');
        expect(await queue.redrive({ ids: [c.id, a.id] })).toBe(1);
        expect((await queue.get(c.id))?.status).toBe('pending');
        expect((await queue.list({ status: 'dead' })).map((j) => j.id)).toEqual([a.id]);
      });
    });

    describe('redrive (many)', () => {
      it('keeps push order, taken keys and limit across more dead jobs than a store reads at once', async () => {
        const queue = make<number>();
        const kill = async (n: number): Promise<void> => {
          for (let i = 0; i < n; i++) await (await mustNext(queue)).fail(new Error('x'), { retry: false });
        };
        const first = await queue.push(0, { key: 'dup' });
        await queue.pushMany(Array.from({ length: 999 }, (_, i) => i + 1));
        await kill(1000);
        // A second dead job with the same key, far behind the first: redriving the first takes the key.
        await queue.pushMany(Array.from({ length: 50 }, (_, i) => 1000 + i));
        const second = await queue.push(1050, { key: 'dup' });
        await queue.pushMany(Array.from({ length: 49 }, (_, i) => 1051 + i));
        await kill(100);
        expect((await queue.stats()).dead).toBe(1100);
        expect(await queue.redrive({ limit: 1098 })).toBe(1098);
        expect((await queue.get(first.id))?.status).toBe('pending');
        const dead = await queue.list({ status: 'dead' });
        expect(dead.map((j) => j.payload)).toEqual([1050, 1099]);
        expect(dead[0]?.id).toBe(second.id);
        expect(await queue.redrive()).toBe(1);
        expect((await queue.stats()).dead).toBe(1);
      });
    });

    describe('process', () => {
      it('runs the handler for each job and acks it', async () => {
        const completed: unknown[] = [];
        const queue = make<number>({ onCompleted: (job) => completed.push(job.payload) });
        const seen: number[] = [];
        await queue.pushMany([1, 2, 3]);
        const worker = queue.process(async (job) => {
          seen.push(job.payload);
        });
        await until(async () => (await queue.stats()).done === 3, 'three jobs done');
        expect(seen).toEqual([1, 2, 3]);
        expect(completed).toEqual([1, 2, 3]);
        await worker.close();
      });

      it('never runs more than `concurrency` handlers at once', async () => {
        const queue = make<number>();
        let active = 0;
        let peak = 0;
        const release: (() => void)[] = [];
        await queue.pushMany(Array.from({ length: 10 }, (_, i) => i));
        const worker = queue.process(
          async () => {
            active += 1;
            peak = Math.max(peak, active);
            await new Promise<void>((resolve) => release.push(resolve));
            active -= 1;
          },
          { concurrency: 3 },
        );
        for (let done = 0; done < 10; ) {
          await until(() => release.length > 0, 'a running handler');
          release.splice(0).forEach((r) => {
            r();
            done += 1;
          });
        }
        await until(async () => (await queue.stats()).done === 10, 'all done');
        expect(peak).toBe(3);
        await worker.close();
      });

      it('fails the attempt when the handler throws, and retries it', async () => {
        const queue = make<string>();
        let calls = 0;
        await queue.push('x', { attempts: 2, backoff: 500 });
        const worker = queue.process(
          async () => {
            calls += 1;
            if (calls === 1) throw new Error('first time');
          },
          { pollInterval: 100 },
        );
        await until(() => calls === 1, 'first call');
        await until(async () => (await queue.stats()).pending === 1, 'retry scheduled');
        await clock.advance(600);
        await until(async () => (await queue.stats()).done === 1, 'done on retry');
        expect(calls).toBe(2);
        await worker.close();
      });

      it('runs delayed jobs and retries when they fall due, not only at the next poll', async () => {
        const queue = make<string>();
        const ran: string[] = [];
        const worker = queue.process(
          async (job) => {
            ran.push(`${job.payload}#${job.attempts}`);
            if (job.payload === 'flaky' && job.attempts === 1) throw new Error('once');
          },
          { pollInterval: 60_000 },
        );
        await until(async () => (await queue.stats()).total === 0, 'an idle worker');
        await queue.push('later', { delay: 300 });
        await queue.push('flaky', { attempts: 2, backoff: 200 });
        await until(() => ran.length === 1, 'the flaky job ran once');
        await clock.advance(200);
        await until(() => ran.length === 2, 'the retry ran at its backoff');
        await clock.advance(100);
        await until(() => ran.length === 3, 'the delayed job ran at its delay');
        expect(ran).toEqual(['flaky#1', 'flaky#2', 'later#1']);
        await worker.close();
      });

      it('keeps the lease alive while the handler runs', async () => {
        const queue = make<string>();
        await queue.push('long');
        let finish!: () => void;
        const worker = queue.process(() => new Promise<void>((resolve) => (finish = resolve)), {
          leaseMs: 1000,
        });
        await until(async () => (await queue.stats()).processing === 1, 'job started');
        for (let i = 0; i < 10; i++) await clock.advance(400);
        expect(await queue.next()).toBe(null);
        finish();
        await until(async () => (await queue.stats()).done === 1, 'done');
        await worker.close();
      });

      it('aborts a handler past its deadline, fails the attempt and frees the slot', async () => {
        const queue = make<string>();
        await queue.push('hangs', { attempts: 1, priority: 1 });
        await queue.push('quick');
        let reason: unknown;
        const ran: string[] = [];
        const worker = queue.process(
          (job, { signal }) => {
            ran.push(job.payload);
            if (job.payload === 'quick') return undefined;
            signal.addEventListener('abort', () => {
              reason = signal.reason;
            });
            return new Promise(() => {}); // ignores its signal on purpose
          },
          { concurrency: 1, timeout: 1000 },
        );
        await until(() => ran.length === 1, 'the hanging job started');
        await clock.advance(1000);
        await until(async () => (await queue.stats()).done === 1, 'the quick job ran in the freed slot');
        expect(codeOf(reason)).toBe('ERR_TIMEOUT');
        expect((await queue.stats()).dead).toBe(1);
        expect(ran).toEqual(['hangs', 'quick']);
        await worker.close();
      });

      it('close() waits for running jobs within its timeout', async () => {
        const queue = make<string>();
        await queue.push('x');
        let finish!: () => void;
        const worker = queue.process(() => new Promise<void>((resolve) => (finish = resolve)));
        await until(() => finish !== undefined, 'job started');
        const closing = worker.close({ timeout: 5000 });
        await clock.advance(1000);
        finish();
        await closing;
        expect((await queue.stats()).done).toBe(1);
      });

      it('close() returns unfinished jobs to pending after its timeout', async () => {
        const queue = make<string>();
        const pushed = await queue.push('x', { attempts: 1 });
        let signal: AbortSignal | undefined;
        const worker = queue.process((job) => {
          signal = job.signal;
          return new Promise(() => {});
        });
        await until(() => signal !== undefined, 'job started');
        const closing = worker.close({ timeout: 5000 });
        await clock.advance(5000);
        await closing;
        expect(signal?.aborted).toBe(true);
        const job = await queue.get(pushed.id);
        expect([job?.status, job?.attempts]).toEqual(['pending', 0]);
        expect(worker.running).toBe(0);
        const again = await mustNext(queue);
        expect(again.id).toBe(pushed.id);
      });

      it('queue.close() returns jobs taken with next() and not settled to pending after its timeout', async () => {
        const queue = make<string>();
        const a = await queue.push('settled in time');
        const b = await queue.push('abandoned', { attempts: 1 });
        const first = await mustNext(queue, 60_000);
        const second = await mustNext(queue, 60_000);
        const closing = queue.close({ timeout: 1000 });
        await clock.advance(500);
        await first.ack();
        await clock.advance(500);
        await closing;
        expect((await store.get(a.id))?.status).toBe('done');
        const back = await store.get(b.id);
        expect([back?.status, back?.attempts]).toEqual(['pending', 0]);
        expect(codeOf(await rejection(second.ack()))).toBe('ERR_JOB_SETTLED');
      });

      it('queue.close() closes its workers and refuses pushes', async () => {
        const queue = make<string>();
        const worker = queue.process(async () => {});
        await queue.close();
        expect(worker.closed).toBe(true);
        expect(codeOf(await rejection(queue.push('x')))).toBe('ERR_QUEUE_CLOSED');
      });
    });

    describe('stats', () => {
      it('counts jobs by status and reports the age of the oldest pending job', async () => {
        const queue = make();
        await queue.push('a');
        await clock.advance(1000);
        await queue.push('b');
        await queue.push('c', { delay: 60_000 });
        await queue.push('d', { attempts: 1 });
        await clock.advance(500);
        let stats = await queue.stats();
        expect(stats).toEqual({
          pending: 4,
          processing: 0,
          done: 0,
          dead: 0,
          delayed: 1,
          total: 4,
          oldestPendingAgeMs: 1500,
        });
        await (await mustNext(queue)).ack();
        await (await mustNext(queue)).fail(new Error('x'), { retry: false });
        await mustNext(queue);
        stats = await queue.stats();
        expect([stats.pending, stats.processing, stats.done, stats.dead, stats.oldestPendingAgeMs]).toEqual([
          1, 1, 1, 1, 0,
        ]);
      });

      it('clean() removes finished jobs older than the given age', async () => {
        const queue = make();
        await queue.push('a');
        await (await mustNext(queue)).ack();
        await clock.advance(10_000);
        expect(await queue.clean({ status: 'done', olderThan: 20_000 })).toBe(0);
        expect(await queue.clean({ status: 'done', olderThan: 5000 })).toBe(1);
        expect((await queue.stats()).total).toBe(0);
      });
    });
  });
}
