/**
 * Review 39 (brief QUEUE): Stryker 9.6.1 on @integ/queue's queue.ts and memory-store.ts. Each test here pins what a
 * surviving mutant changed, and was seen to fail with that mutant applied by hand (named by its Stryker id in the
 * review-39 run of queue.ts lines 537-994 and what it changed) and to pass on the real code.
 */
import { InvalidArgumentError } from '@integ/core';
import { createQueue, memoryStore, type NewJobRecord, QueueClosedError, type QueueStore } from '@integ/queue';
import { createFakeClock, drain } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { recordingLogger } from './review.js';

/** What `fn` threw (or its promise rejected with). */
async function refusal(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal');
}

const invalid = (argument: string, expected: string) =>
  expect.objectContaining({
    constructor: InvalidArgumentError,
    argument,
    message: expect.stringContaining(`Invalid ${argument}: expected ${expected}, received`),
  });

const fn = () => {};

describe('createQueue() options', () => {
  // #9: a name that is no string passed (5 read as '5'); #11, #20: no options at all was a TypeError.
  it("refuses a name that is no string, and no options at all, as 'name'", async () => {
    const store = memoryStore();
    const expected = 'a non-empty string of at most 200 characters, well-formed UTF-16 without NUL';
    expect(await refusal(() => createQueue({ name: 5 as never, store }))).toEqual(invalid('name', expected));
    expect(await refusal(() => createQueue(undefined as never))).toEqual(invalid('name', expected));
  });

  // #15 (no length bound), #16 (>= 200): names of 200 characters are the longest accepted; #19: its words were ''.
  it('takes a name of 200 characters and refuses one of 201, saying what a name takes', async () => {
    const store = memoryStore();
    expect(createQueue({ name: 'n'.repeat(200), store }).name).toHaveLength(200);
    expect(await refusal(() => createQueue({ name: 'n'.repeat(201), store }))).toEqual(
      invalid('name', 'a non-empty string of at most 200 characters, well-formed UTF-16 without NUL'),
    );
  });

  // #23, #24, #28: a store without enqueue (or without claim) passed; #26: no store was a TypeError; #32: words ''.
  it("refuses a store without claim or enqueue, or none, as 'store'", async () => {
    const expected = 'a QueueStore (memoryStore(), sqliteStore(...))';
    const { claim, enqueue } = memoryStore();
    for (const store of [{ claim }, { enqueue }, undefined])
      expect(await refusal(() => createQueue({ name: 'q', store: store as never }))).toEqual(
        invalid('store', expected),
      );
  });

  // #36-#39, #43, #46: a clock without now, setTimeout or clearTimeout passed (a TypeError mid-job); #50: words ''.
  it("refuses a clock without now, setTimeout or clearTimeout as 'clock'", async () => {
    const store = memoryStore();
    const full = { now: () => 0, setTimeout: fn, clearTimeout: fn };
    for (const missing of ['now', 'setTimeout', 'clearTimeout'] as const) {
      const clock = { ...full, [missing]: undefined };
      expect(await refusal(() => createQueue({ name: 'q', store, clock: clock as never })), missing).toEqual(
        invalid('clock', 'a Clock ({ now, setTimeout, clearTimeout })'),
      );
    }
    expect(createQueue({ name: 'q', store, clock: full as never }).name).toBe('q');
  });

  // #60: the logger's words were ''; #67: maxRetryAfter out of range was named ''.
  it("refuses a logger without warn as 'logger' and a negative maxRetryAfter as 'maxRetryAfter'", async () => {
    const store = memoryStore();
    expect(await refusal(() => createQueue({ name: 'q', store, logger: {} as never }))).toEqual(
      invalid('logger', 'a pino-shaped logger ({ debug, info, warn, error })'),
    );
    expect(await refusal(() => createQueue({ name: 'q', store, maxRetryAfter: -1 }))).toEqual(
      invalid('maxRetryAfter', 'a number of ms from 0 to 8640000000000000'),
    );
  });
});

describe('queue.push() options', () => {
  // #117-#119, #122: null was a TypeError, a string passed as no options; #124, #125: the words were ''.
  it("refuses options that are no object (null, a string) as 'push options'", async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    for (const options of [null, 'fast'])
      expect(await refusal(() => queue.push(1, options as never))).toEqual(
        invalid('push options', 'an object'),
      );
    expect((await queue.stats()).total).toBe(0);
  });

  // #129, #137, #164, #173: each refusal named ''.
  it('names the option it refuses: delay, priority, attempts, backoff', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    for (const [options, argument] of [
      [{ delay: -1 }, 'delay'],
      [{ priority: 1.5 }, 'priority'],
      [{ attempts: 0 }, 'attempts'],
      [{ backoff: () => 1 }, 'backoff'],
    ] as const)
      expect(await refusal(() => queue.push(1, options as never))).toEqual(
        expect.objectContaining({ constructor: InvalidArgumentError, argument }),
      );
  });

  // #151: a key that is no string passed (5 stored as the key); #157 (>= 512): a key of 512 characters was refused;
  // #159, #160: the words were ''.
  it('takes a key of 512 characters and refuses one of 513 or one that is no string', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    expect((await queue.push(1, { key: 'k'.repeat(512) })).key).toHaveLength(512);
    for (const key of ['k'.repeat(513), 5])
      expect(await refusal(() => queue.push(1, { key: key as never }))).toEqual(
        invalid('key', 'a non-empty string of at most 512 characters, well-formed UTF-16 without NUL'),
      );
    expect((await queue.stats()).total).toBe(1);
  });
});

describe('queue.push() and pushMany()', () => {
  // #179: the job was built from the payload parsed back from the store: a copy, and -0 came back 0.
  it('resolves the job with the very payload given, not one parsed back from the store', async () => {
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore() });
    const payload = { a: [1] };
    expect((await queue.push(payload)).payload).toBe(payload);
    expect(Object.is((await queue.push(-0)).payload, -0)).toBe(true);
  });

  // #188, #190: a store answering no result was a TypeError reading its job.
  it('says a store whose enqueue answered nothing returned no result', async () => {
    const store: QueueStore = { ...memoryStore(), enqueue: async () => [] };
    expect(await refusal(() => createQueue({ name: 'q', store }).push(1))).toEqual(
      expect.objectContaining({ message: 'store.enqueue returned no result' }),
    );
  });

  // #197: pushMany after close() stored the jobs.
  it('pushMany() after close() is refused with QueueClosedError and stores nothing', async () => {
    const store = memoryStore();
    const queue = createQueue({ name: 'q', store });
    await queue.close();
    expect(await refusal(() => queue.pushMany([1, 2]))).toBeInstanceOf(QueueClosedError);
    expect(await createQueue({ name: 'q', store }).stats()).toMatchObject({ total: 0 });
  });

  // #200-#202: a string was a TypeError (payloads.map); #204, #207, #208: 10,001 payloads went to the store as one batch.
  it("refuses payloads that are no array, or more than 10,000, as 'payloads'", async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    expect(await refusal(() => queue.pushMany('ab' as never))).toEqual(invalid('payloads', 'an array'));
    expect(await refusal(() => queue.pushMany(Array.from({ length: 10_001 }, () => 1)))).toEqual(
      invalid('payloads', 'at most 10000 items per call'),
    );
    expect((await queue.stats()).total).toBe(0);
  });

  // #210: an empty batch went to the store (a transaction for nothing in a durable store).
  it('pushMany([]) does not call the store', async () => {
    const batches: (readonly NewJobRecord[])[] = [];
    const inner = memoryStore();
    const store: QueueStore = {
      ...inner,
      enqueue: (queue, jobs, now) => {
        batches.push(jobs);
        return inner.enqueue(queue, jobs, now);
      },
    };
    expect(await createQueue({ name: 'q', store }).pushMany([])).toEqual([]);
    expect(batches).toEqual([]);
  });
});

const LEASE_EXPIRED = 'LeaseExpiredError: the lease of the last attempt expired (worker crashed or stalled)';

describe('queue.next() and the reaper', () => {
  // #224: the reaped job's lastError was ''; #230 (?? as &&): onDead's error said 'lease expired' instead.
  it("dead-letters a last attempt whose lease expired with lastError and onDead's error saying so", async () => {
    const clock = createFakeClock({ now: 1e12 });
    const dead: unknown[] = [];
    const queue = createQueue({
      name: 'q',
      store: memoryStore(),
      clock,
      attempts: 1,
      onDead: (_job, error) => dead.push(error),
    });
    const { id } = await queue.push(1);
    expect(await queue.next({ leaseMs: 1000 })).not.toBeNull();
    clock.advanceSync(2000);
    expect(await queue.next()).toBeNull();
    expect((await queue.get(id))?.lastError).toBe(LEASE_EXPIRED);
    expect(dead).toEqual([expect.objectContaining({ message: LEASE_EXPIRED })]);
  });

  // #231: a reaped record without lastError (a custom store) gave onDead an Error with an empty message.
  it("gives onDead 'lease expired' for a reaped job its store gave no lastError", async () => {
    const clock = createFakeClock({ now: 1e12 });
    const dead: unknown[] = [];
    const inner = memoryStore();
    const store: QueueStore = {
      ...inner,
      reap: async (...args) => (await inner.reap(...args)).map((record) => ({ ...record, lastError: null })),
    };
    const queue = createQueue({
      name: 'q',
      store,
      clock,
      attempts: 1,
      onDead: (_job, error) => dead.push(error),
    });
    await queue.push(1);
    await queue.next({ leaseMs: 1000 });
    clock.advanceSync(2000);
    await queue.next();
    expect(dead).toEqual([expect.objectContaining({ message: 'lease expired' })]);
  });

  // #268: next() after close() claimed a job; #273: leaseMs out of range was named ''.
  it("is refused after close() with QueueClosedError, and names a bad 'leaseMs'", async () => {
    const store = memoryStore();
    const queue = createQueue({ name: 'q', store });
    expect(await refusal(() => queue.next({ leaseMs: 0 }))).toEqual(
      invalid('leaseMs', 'a number of ms from 1 to 2147483647'),
    );
    await createQueue({ name: 'q', store }).push(1);
    await queue.close();
    expect(await refusal(() => queue.next())).toBeInstanceOf(QueueClosedError);
    expect(await createQueue({ name: 'q', store }).stats()).toMatchObject({ pending: 1, processing: 0 });
  });
});

describe('queue.get(), list(), redrive(), clean()', () => {
  // #335, #338, #339: an id that is no string was looked up; #345: a job of another queue on the store was returned.
  it("get() refuses an id that is no string and answers null for another queue's job", async () => {
    const store = memoryStore();
    const a = createQueue({ name: 'a', store });
    const { id } = await a.push(1);
    expect(await refusal(() => a.get(Number(id) as never))).toEqual(invalid('id', 'a string'));
    expect(await createQueue({ name: 'b', store }).get(id)).toBeNull();
    expect((await a.get(id))?.id).toBe(id);
  });

  // #348, #351: limit and offset were named ''; #362: the statuses were listed without separators.
  it('list() names a bad limit, offset or status, listing the statuses', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    expect(await refusal(() => queue.list({ limit: 0 }))).toEqual(
      expect.objectContaining({ argument: 'limit' }),
    );
    expect(await refusal(() => queue.list({ offset: -1 }))).toEqual(
      expect.objectContaining({ argument: 'offset' }),
    );
    expect(await refusal(() => queue.list({ status: 'bogus' as never }))).toEqual(
      invalid('status', 'pending, processing, done, dead'),
    );
  });

  // #370: limit was named ''; #373, #378, #380, #381, #383, #387, #388: ids that are no array of strings went to the
  // store (a string as its characters, numbers matching nothing) or were a TypeError; #390, #395, #397, #398:
  // 10,000 ids were refused or 10,001 taken.
  it("redrive() refuses ids that are no array of strings, or more than 10,000, as 'ids'", async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    expect(await refusal(() => queue.redrive({ limit: 0 }))).toEqual(
      expect.objectContaining({ argument: 'limit' }),
    );
    for (const ids of ['12', [1], ['1', 2]])
      expect(await refusal(() => queue.redrive({ ids: ids as never })), JSON.stringify(ids)).toEqual(
        invalid('ids', 'an array of job ids (strings)'),
      );
    const many = Array.from({ length: 10_001 }, (_, i) => String(i));
    expect(await refusal(() => queue.redrive({ ids: many }))).toEqual(
      invalid('ids', 'at most 10000 ids per call'),
    );
    expect(await queue.redrive({ ids: many.slice(1) })).toBe(0);
  });

  // #401, #405, #408: a worker was not woken by a redrive, and its job waited for the next poll (a minute here).
  // #400, #402-#404: a redrive that moved nothing woke the worker, which asked the store for jobs.
  it('redrive() wakes a waiting worker only when it moved jobs', async () => {
    const clock = createFakeClock({ now: 1e12 });
    const inner = memoryStore();
    let claims = 0;
    const store: QueueStore = {
      ...inner,
      claim: (queue, options) => {
        claims += 1;
        return inner.claim(queue, options);
      },
    };
    const queue = createQueue<number>({ name: 'q', store, clock, attempts: 1 });
    await queue.push(1);
    const leased = await queue.next();
    await leased?.fail(new Error('boom'));
    const ran: number[] = [];
    const worker = queue.process(async (job) => void ran.push(job.payload), { pollInterval: 60_000 });
    await drain(20);
    const before = claims;
    expect(await queue.redrive({ ids: ['999'] })).toBe(0);
    await drain(20);
    expect(claims).toBe(before);
    expect(await queue.redrive()).toBe(1);
    await drain(20);
    expect(ran).toEqual([1]);
    await worker.close();
  });

  // #411, #415, #419, #421-#423: a status other than done or dead (or no options) went to the store or was a
  // TypeError; #424: olderThan was named ''.
  it("clean() refuses a status other than 'done' or 'dead', or no options, and names a bad olderThan", async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    for (const options of [{ status: 'pending', olderThan: 0 }, undefined])
      expect(await refusal(() => queue.clean(options as never))).toEqual(
        invalid('status', "'done' or 'dead'"),
      );
    expect(await refusal(() => queue.clean({ status: 'done', olderThan: -1 }))).toEqual(
      expect.objectContaining({ argument: 'olderThan' }),
    );
  });
});

describe('queue.close()', () => {
  // #436: a bad timeout was named ''.
  it("names a bad timeout 'close timeout' and stays open", async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    expect(await refusal(() => queue.close({ timeout: -1 }))).toEqual(
      invalid('close timeout', 'a number of ms from 0 to 2147483647'),
    );
    expect((await queue.push(1)).status).toBe('pending');
  });

  // #442: a next() job whose lease lapsed and which another queue object then claimed was waited for (10 s here);
  // #287 (>= for >): so was one claimed elsewhere at the very ms its lease ended.
  it('does not wait for a next() job that lapsed and was claimed elsewhere', async () => {
    const clock = createFakeClock({ now: 1e12 });
    const store = memoryStore();
    const a = createQueue({ name: 'q', store, clock });
    await a.push(1);
    expect(await a.next({ leaseMs: 1000 })).not.toBeNull();
    clock.advanceSync(1000);
    expect(await createQueue({ name: 'q', store, clock }).next()).not.toBeNull();
    let closed = false;
    void a.close().then(() => {
      closed = true;
    });
    await drain(20);
    expect(closed).toBe(true);
  });

  // #453, #454: the timeout's timer was left set once the pulled jobs were settled.
  it('clears its timeout once the next() jobs it waited for are settled', async () => {
    const clock = createFakeClock({ now: 1e12 });
    const queue = createQueue({ name: 'q', store: memoryStore(), clock });
    await queue.push(1);
    const job = await queue.next();
    const closing = queue.close();
    await drain(20);
    expect(clock.pendingTimers).toBe(1);
    await job?.ack();
    await closing;
    expect(clock.pendingTimers).toBe(0);
  });

  // #459: the warning for a job the store refused to take back was ''.
  it('logs a next() job it could not return to pending', async () => {
    const logger = recordingLogger();
    const store: QueueStore = {
      ...memoryStore(),
      release: async () => {
        throw new Error('locked');
      },
    };
    const queue = createQueue({ name: 'q', store, logger });
    const { id } = await queue.push(1);
    await queue.next();
    await queue.close({ timeout: 0 });
    expect(logger.warnings).toEqual([
      ['could not return a pulled job on close', expect.objectContaining({ queue: 'q', jobId: id })],
    ]);
  });
});

describe("close()'s list of next() jobs", () => {
  /** A job taken with next() on a queue `a`, whose 1 s lease then lapsed. */
  async function lapsed(store: QueueStore, attempts = 3) {
    const clock = createFakeClock({ now: 1e12 });
    const a = createQueue({ name: 'q', store, clock, attempts });
    const { id } = await a.push(1);
    expect(await a.next({ leaseMs: 1000 })).not.toBeNull();
    clock.advanceSync(2000);
    return { a, id, clock };
  }

  async function closesAtOnce(close: Promise<void>): Promise<boolean> {
    let closed = false;
    void close.then(() => {
      closed = true;
    });
    await drain(20);
    return closed;
  }

  // #289, #293, #300: a lapsed job nobody took was dropped from the list, and close() left it leased to nobody.
  it('returns a lapsed next() job nobody took to pending', async () => {
    const store = memoryStore();
    const { a, id } = await lapsed(store);
    await a.close({ timeout: 0 });
    expect((await createQueue({ name: 'q', store }).get(id))?.status).toBe('pending');
  });

  // #298, #299: a lapsed job another queue object's claim reaped (dead, same token) was waited for.
  it('does not wait for a lapsed next() job that was reaped elsewhere', async () => {
    const store = memoryStore();
    const { a, id, clock } = await lapsed(store, 1);
    expect(await createQueue({ name: 'q', store, clock }).next()).toBeNull();
    expect((await a.get(id))?.status).toBe('dead');
    expect(await closesAtOnce(a.close())).toBe(true);
  });

  // #297: a lapsed job the store no longer has (record null) was a TypeError, so kept and waited for.
  it('does not wait for a lapsed next() job the store no longer has', async () => {
    const inner = memoryStore();
    const store: QueueStore = { ...inner, get: async () => null };
    const { a } = await lapsed(store);
    expect(await closesAtOnce(a.close())).toBe(true);
  });
});

describe('queue.process() and hooks', () => {
  // #315: process() after close() started a worker, which claimed; #321: a handler that is no function was named ''.
  it('is refused after close() and names a handler that is no function', async () => {
    const store = memoryStore();
    const queue = createQueue({ name: 'q', store });
    expect(await refusal(() => queue.process(5 as never))).toEqual(invalid('handler', 'a function'));
    await queue.push(1);
    await queue.close();
    expect(await refusal(() => queue.process(async () => {}))).toBeInstanceOf(QueueClosedError);
    await drain(20);
    expect(await queue.stats()).toMatchObject({ pending: 1, processing: 0 });
  });

  // #88: the warning for a hook that threw was ''; #99: a stored backoff that is not valid was logged without its queue.
  it("logs a hook that threw, and a job's stored backoff that is invalid, naming the queue", async () => {
    const logger = recordingLogger();
    const inner = memoryStore();
    const store: QueueStore = {
      ...inner,
      claim: async (queue, options) =>
        (await inner.claim(queue, options)).map((record) => ({ ...record, backoff: '{' })),
    };
    const queue = createQueue({
      name: 'q',
      store,
      logger,
      onFailed: () => {
        throw new Error('hook');
      },
    });
    await queue.push(1);
    await (await queue.next())?.fail(new Error('boom'));
    expect(logger.warnings).toEqual([
      ['stored backoff is invalid; using the queue default', { queue: 'q' }],
      ['queue hook threw; ignored', expect.objectContaining({ queue: 'q', hook: 'onFailed' })],
    ]);
  });
});

describe('stored backoffs', () => {
  // #93: a stored backoff was parsed (and an invalid one warned about) at every failure; #101, #104: the cache was
  // emptied at every new entry, so two invalid backoffs in turn were warned about each time.
  it('warns once per invalid stored backoff, however often jobs with it fail', async () => {
    const logger = recordingLogger();
    const inner = memoryStore();
    const store: QueueStore = {
      ...inner,
      claim: async (queue, options) =>
        (await inner.claim(queue, options)).map((record) => ({
          ...record,
          backoff: record.payload === '1' ? '{' : '[',
        })),
    };
    const queue = createQueue<number>({ name: 'q', store, logger, attempts: 2 });
    await queue.pushMany([1, 2, 1]);
    for (let i = 0; i < 3; i++) await (await queue.next())?.fail(new Error('boom'));
    expect(logger.warnings.map(([message]) => message)).toEqual([
      'stored backoff is invalid; using the queue default',
      'stored backoff is invalid; using the queue default',
    ]);
  });
});

describe('the order of a claimed batch', () => {
  /** The order a worker starts the jobs `setup` pushed, from a store that answers each claim in reverse order. */
  async function startOrder(
    setup: (
      queue: ReturnType<typeof createQueue<string>>,
      clock: ReturnType<typeof createFakeClock>,
    ) => Promise<void>,
  ): Promise<string[]> {
    const clock = createFakeClock({ now: 1e12 });
    const inner = memoryStore();
    let reverse = false;
    const store: QueueStore = {
      ...inner,
      claim: async (queue, options) => {
        const records = await inner.claim(queue, options);
        return reverse ? records.reverse() : records;
      },
    };
    const queue = createQueue<string>({ name: 'q', store, clock });
    await setup(queue, clock);
    reverse = true;
    const order: string[] = [];
    const worker = queue.process(async (job) => void order.push(job.payload), { concurrency: 10 });
    await drain(20);
    await worker.close();
    return order;
  }

  // #462, #467, #468: a batch of one priority was run in the store's order, not by due time.
  it('runs the jobs of one priority by due time, whatever order the store answers in', async () => {
    const order = await startOrder(async (queue, clock) => {
      await queue.push('a', { delay: 2 });
      await queue.push('b', { delay: 1 });
      await queue.push('c');
      clock.advanceSync(10);
    });
    expect(order).toEqual(['c', 'b', 'a']);
  });

  // #462, #466, #468, #470, #473: jobs due at the same time were run in the store's order, not push order;
  // #471: ids were compared as text, so job 10 ran before job 9.
  it('runs jobs due at the same time in push order (ids compared as numbers)', async () => {
    expect(await startOrder(async (queue) => void (await queue.pushMany(['a', 'b', 'c'])))).toEqual([
      'a',
      'b',
      'c',
    ]);
    const order = await startOrder(async (queue) => {
      await queue.pushMany(Array.from({ length: 10 }, (_, i) => String(i + 1)));
      for (let i = 0; i < 8; i++) await (await queue.next())?.ack();
    });
    expect(order).toEqual(['9', '10']);
  });
});

describe('memoryStore()', () => {
  const job = (over: Partial<NewJobRecord> = {}): NewJobRecord => ({
    payload: '1',
    priority: 0,
    key: null,
    maxAttempts: 3,
    backoff: null,
    runAt: 0,
    ...over,
  });
  const ids = (records: readonly { id: string }[]) => records.map((record) => record.id);

  // #61: ack, fail, extend or release of an id the store never had was a TypeError instead of false.
  it('answers false to a settlement of an unknown job', async () => {
    const store = memoryStore();
    expect(await store.ack('999', 1, 0)).toBe(false);
    expect(await store.extend('999', 1, 10)).toBe(false);
  });

  // #102: a job whose lease has not ended was claimed again; #113, #114: so was a last attempt whose lease ended
  // (it is the reaper's).
  it('claims a leased job again only once its lease ended, and never its last attempt', async () => {
    const store = memoryStore();
    await store.enqueue('q', [job(), job({ maxAttempts: 1 })], 0);
    expect(ids(await store.claim('q', { now: 0, leaseMs: 1000, limit: 2 }))).toEqual(['1', '2']);
    expect(await store.claim('q', { now: 999, leaseMs: 1000, limit: 2 })).toEqual([]);
    expect(ids(await store.claim('q', { now: 1000, leaseMs: 1000, limit: 2 }))).toEqual(['1']);
  });

  // #116, #117: expired leases were taken in the order they were leased, not by priority; #163 (e--): only the first
  // expired lease of a claim was taken.
  it('takes expired leases by priority, as many as the limit asks', async () => {
    const store = memoryStore();
    await store.enqueue('q', [job()], 0);
    await store.claim('q', { now: 0, leaseMs: 1000, limit: 1 });
    await store.enqueue('q', [job({ priority: 5 })], 0);
    await store.claim('q', { now: 0, leaseMs: 1000, limit: 1 });
    expect(ids(await store.claim('q', { now: 1000, leaseMs: 1000, limit: 1 }))).toEqual(['2']);
    expect(ids(await store.claim('q', { now: 2000, leaseMs: 1000, limit: 2 }))).toEqual(['2', '1']);
  });

  // #291: the oldest pending job was the first one stored, though the clock had stepped back for a later one.
  it('stats() measures the oldest pending job by its creation time, not its place', async () => {
    const store = memoryStore();
    await store.enqueue('q', [job()], 2000);
    await store.enqueue('q', [job()], 1000);
    expect((await store.stats('q', 3000)).oldestPendingCreatedAt).toBe(1000);
  });

  // #299-#305: clean()'s limit was ignored, or nothing was cleaned; #312 (> for >=): a job finished at the very ms of
  // finishedBefore was deleted.
  it('clean() deletes at most limit jobs, each finished before finishedBefore', async () => {
    const store = memoryStore();
    await store.enqueue('q', [job(), job(), job()], 0);
    for (const record of await store.claim('q', { now: 0, leaseMs: 1000, limit: 3 }))
      await store.ack(record.id, record.token, Number(record.id) * 10);
    expect(await store.clean('q', { status: 'done', finishedBefore: 30, limit: 1 })).toBe(1);
    expect(await store.clean('q', { status: 'done', finishedBefore: 30 })).toBe(1);
    expect(await store.clean('q', { status: 'done', finishedBefore: 31 })).toBe(1);
  });
});

describe('what a failure stores as lastError', () => {
  async function lastErrorOf(error: unknown): Promise<string | null | undefined> {
    const queue = createQueue({ name: 'q', store: memoryStore(), attempts: 1 });
    await queue.push(1);
    const job = await queue.next();
    await job?.fail(error);
    return (await queue.get(job?.id ?? ''))?.lastError;
  }
  const NON_ERROR = '(its fields are not kept, they may hold secrets; fail with an Error)';

  // #64: null was read as an object ('an error whose name or message could not be read'); #71: a function was
  // stored as its source text.
  it("stores null as 'null' and a function by kind only", async () => {
    expect(await lastErrorOf(null)).toBe('null');
    expect(await lastErrorOf(function token() {})).toBe(`a non-Error function ${NON_ERROR}`);
  });

  // #82, #86: an Error's message that is no string was stored; #87, #91: so was a name that is no string; #92, #94: an
  // empty message left 'Error: '; #97, #100, #101: an Error with no name and no message was stored as ''.
  it('keeps only the string name and message of an Error, and says Error when it has neither', async () => {
    expect(await lastErrorOf(Object.assign(new Error(), { message: 5 }))).toBe('Error');
    expect(await lastErrorOf(Object.assign(new Error('m'), { name: 5 }))).toBe('m');
    expect(await lastErrorOf(new Error(''))).toBe('Error');
    expect(await lastErrorOf(Object.assign(new Error(''), { name: '' }))).toBe('Error');
  });

  // #108 (- 1 for + 1): a message past 4096 characters was cut without the ellipsis; #133 (>= for >): one of exactly
  // 4096 characters was cut.
  it('keeps 4096 characters whole and cuts a longer text with an ellipsis', async () => {
    const exact = `Error: ${'a'.repeat(4096 - 7)}`;
    expect(await lastErrorOf(new Error('a'.repeat(4096 - 7)))).toBe(exact);
    // The cut splits the long word, which is dropped whole: no half of it (a secret?) is kept.
    expect(await lastErrorOf(new Error(`${'a'.repeat(4096 - 7)} b`))).toBe('Error: …');
  });
});

describe('option bounds', () => {
  // #26: an integer option's words were ''; #43 (>= for >): a leaseMs of exactly 2147483647 was refused; #45: the
  // words of a ms option were ''.
  it('takes each bound itself and says the range it refuses', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    expect(await refusal(() => queue.push(1, { attempts: 1001 }))).toEqual(
      invalid('attempts', 'an integer from 1 to 1000'),
    );
    expect(await refusal(() => queue.next({ leaseMs: 2_147_483_648 }))).toEqual(
      invalid('leaseMs', 'a number of ms from 1 to 2147483647'),
    );
    await queue.push(1);
    expect(await queue.next({ leaseMs: 2_147_483_647 })).not.toBeNull();
  });
});
