/**
 * Review 40 (brief QUEUE): Stryker 9.6.1 on @integ/queue's LeasedJobImpl (queue.ts lines 356-536) and the worker's
 * shutdown() and close() (worker.ts lines 290-370). Each test here pins what a surviving mutant changed, and was seen
 * to fail with that mutant applied by hand (named by its Stryker id in the review-40 run of that file and what it
 * changed) and to pass on the real code.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Clock, InvalidArgumentError } from '@integ/core';
import { createQueue, type LeasedJob, memoryStore, type QueueStore } from '@integ/queue';
import { createFakeClock, drain } from '@integ/testing';
import { describe, expect, it } from 'vitest';

/** What `fn` threw (or its promise rejected with), or 'resolved'. */
async function outcome(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
    return 'resolved';
  } catch (err) {
    return err;
  }
}

/** A promise with its resolve at hand. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const settled = (action: string) =>
  expect.objectContaining({
    code: 'ERR_JOB_SETTLED',
    message: expect.stringContaining(`Cannot ${action} job`),
  });

describe('LeasedJob (queue.ts 356-536)', () => {
  // #20 (ack), #31 (fail), #95 (extend): 'if (this.#releasing)' as true awaited once even with no release in flight,
  // so a call made just after it in the same tick settled the lease first and the earlier call was refused.
  it('of two calls made in one tick, the first one goes through and the second is told the lease is settled', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    await queue.pushMany([1, 2, 3]);
    const [a, b, c] = [await queue.next(), await queue.next(), await queue.next()] as LeasedJob[];
    const results = await Promise.all([
      outcome(() => a?.ack()),
      outcome(() => a?.fail(new Error('x'))),
      outcome(() => b?.fail(new Error('x'), { retry: false })),
      outcome(() => b?.ack()),
      outcome(() => c?.extend(60_000)),
      outcome(() => c?.ack()),
    ]);
    expect(results).toEqual([
      'resolved',
      settled('fail'),
      'resolved',
      settled('ack'),
      'resolved',
      'resolved',
    ]);
    expect([a?.status, b?.status, c?.status]).toEqual(['done', 'dead', 'done']);
  });

  // #27, #73, #102: the LeaseLostError said 'Cannot  job 1' (its action was '').
  it('a stale holder is told which of ack, fail and extend lost its lease', async () => {
    const clock = createFakeClock({ now: 1e12 });
    const queue = createQueue({ name: 'q', store: memoryStore(), clock });
    await queue.pushMany([1, 2]);
    const stale = [await queue.next({ leaseMs: 1000 }), await queue.next({ leaseMs: 1000 })] as LeasedJob[];
    clock.advanceSync(1001);
    expect(await queue.next()).not.toBeNull();
    expect(await queue.next()).not.toBeNull();
    const lost = (action: string, job: LeasedJob | undefined) =>
      expect.objectContaining({
        code: 'ERR_LEASE_LOST',
        message: expect.stringMatching(
          new RegExp(`^Cannot ${action} job ${job?.id}: its lease \\(token 1\\)`),
        ),
      });
    expect(await outcome(() => stale[0]?.extend(1000))).toEqual(lost('extend', stale[0]));
    expect(await outcome(() => stale[0]?.ack())).toEqual(lost('ack', stale[0]));
    expect(await outcome(() => stale[1]?.fail(new Error('x')))).toEqual(lost('fail', stale[1]));
  });

  // #50: the refusal of a retry that is no boolean said 'expected , received'.
  it("refuses fail()'s retry that is no boolean, saying it takes a boolean", async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    await queue.push(1);
    const job = await queue.next();
    expect(await outcome(() => job?.fail(new Error('x'), { retry: 'false' as never }))).toEqual(
      expect.objectContaining({
        constructor: InvalidArgumentError,
        argument: 'retry',
        message: expect.stringContaining('Invalid retry: expected a boolean, received'),
      }),
    );
    expect(job?.status).toBe('processing');
  });

  // #59: 'if (retry)' as true asked the backoff for a delay of an attempt that is not retried (a function backoff
  // ran, and a throwing one was logged, for a job going dead).
  it('does not ask the backoff for a delay when the failure is final', async () => {
    const asked: number[] = [];
    const queue = createQueue({
      name: 'q',
      store: memoryStore(),
      attempts: 2,
      backoff: ({ attempt }) => {
        asked.push(attempt);
        return 0;
      },
    });
    await queue.pushMany([1, 2]);
    await (await queue.next())?.fail(new Error('x'), { retry: false });
    expect(asked).toEqual([]);
    await (await queue.next())?.fail(new Error('x'));
    expect(asked).toEqual([1]);
    await (await queue.next())?.fail(new Error('x'));
    expect(asked).toEqual([1]);
    expect((await queue.stats()).dead).toBe(2);
  });

  // #76: 'if (retry)' as true gave a dead job (and the snapshot onDead got) the time it failed as its runAt, which
  // the store did not record.
  it('a job that goes dead keeps its runAt, as the store does', async () => {
    const clock = createFakeClock({ now: 1e12 });
    const dead: string[] = [];
    const queue = createQueue({
      name: 'q',
      store: memoryStore(),
      clock,
      onDead: (job) => dead.push(job.runAt),
    });
    const { id, runAt } = await queue.push(1);
    clock.advanceSync(5000);
    const job = await queue.next();
    await job?.fail(new Error('x'), { retry: false });
    expect(job?.runAt).toBe(runAt);
    expect(dead).toEqual([runAt]);
    expect((await queue.get(id))?.runAt).toBe(runAt);
  });

  // #105: 'if (this.settled) return false' dropped: close() asked the store to return a job whose ack was still
  // being written, so the job went back to pending and the ack was refused (LeaseLostError).
  it('close() leaves a job whose ack is in flight to that ack: the job ends done, not returned', async () => {
    const inner = memoryStore();
    const gate = deferred();
    const released: string[] = [];
    const store: QueueStore = {
      ...inner,
      ack: async (...args) => {
        await gate.promise;
        return inner.ack(...args);
      },
      release: (id, ...rest) => {
        released.push(id);
        return inner.release(id, ...rest);
      },
    };
    const queue = createQueue({ name: 'q', store });
    const { id } = await queue.push(1);
    const job = await queue.next();
    const acking = outcome(() => job?.ack());
    const closing = queue.close({ timeout: 0 });
    await drain();
    gate.resolve();
    expect(await acking).toBe('resolved');
    await closing;
    expect(released).toEqual([]);
    expect((await inner.get(id))?.status).toBe('done');
    expect(job?.status).toBe('done');
  });

  // #111: a job close() returned to pending said status ''.
  it("a job close() returned to pending says status 'pending', and its later ack is refused", async () => {
    const store = memoryStore();
    const queue = createQueue({ name: 'q', store });
    const { id } = await queue.push(1);
    const job = await queue.next();
    await queue.close({ timeout: 0 });
    expect(job?.status).toBe('pending');
    expect(await outcome(() => job?.ack())).toEqual(
      expect.objectContaining({
        code: 'ERR_JOB_SETTLED',
        message: expect.stringContaining('close() returned it'),
      }),
    );
    expect((await store.get(id))?.status).toBe('pending');
  });
});

describe('worker close() (worker.ts 290-370)', () => {
  // #61: 'if (signal?.aborted)' as false started a worker whose signal was aborted already: it ran jobs and never
  // closed (its abort listener came after the only abort).
  it('a worker given an aborted signal is closed at once and runs nothing', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    await queue.push(1);
    const ran: unknown[] = [];
    const worker = queue.process((job) => void ran.push(job.payload), { signal: AbortSignal.abort() });
    expect(worker.closed).toBe(true);
    await drain();
    expect(ran).toEqual([]);
    expect(await queue.stats()).toMatchObject({ pending: 1, processing: 0, done: 0 });
    await queue.close();
  });

  // #36 ('if (pumping !== undefined)' as false), #37 (=== undefined): close() resolved while a claim was in flight,
  // before the job it brought back was returned to pending.
  it('close() waits for a claim in flight and resolves once its job is back to pending', async () => {
    const inner = memoryStore();
    const gate = deferred();
    let claims = 0;
    const store: QueueStore = {
      ...inner,
      claim: async (...args) => {
        claims++;
        await gate.promise;
        return inner.claim(...args);
      },
    };
    const queue = createQueue({ name: 'q', store });
    const { id } = await queue.push(1);
    const ran: unknown[] = [];
    const worker = queue.process((job) => void ran.push(job.payload));
    await drain();
    expect(claims).toBe(1);
    let closed = false;
    const closing = worker.close().then(() => {
      closed = true;
    });
    await drain();
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    expect(ran).toEqual([]);
    expect(await inner.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
  });

  // #12 ('if (running.size > 0)' as true), #14 (>= 0): closing a worker with no job running set a timer of its close
  // timeout on the clock (and cleared it at once).
  it('close() of a worker with no job running sets no timer', async () => {
    const clock = createFakeClock({ now: 1e12 });
    const set: number[] = [];
    const recording: Clock = {
      now: () => clock.now(),
      setTimeout: (fn, ms) => {
        set.push(ms);
        return clock.setTimeout(fn, ms);
      },
      clearTimeout: (handle) => clock.clearTimeout(handle),
    };
    const queue = createQueue({ name: 'q', store: memoryStore(), clock: recording });
    const worker = queue.process(() => {}, { pollInterval: 60_000, closeTimeout: 5000 });
    await drain();
    expect(set).toEqual([60_000]);
    await worker.close();
    expect(set).toEqual([60_000]);
    expect(worker.closed).toBe(true);
  });

  // #0 (worker.ts 290, the arrow deleting a written ack from `settling` as () => undefined): a worker kept every ack it
  // had written until close(), a promise per job for as long as it ran.
  it('keeps no ack it has written until close()', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const queue = createQueue({ name: 'q', store: memoryStore() });
    await queue.pushMany([1, 2, 3]);
    const written: WeakRef<object>[] = [];
    // The worker settles through the job it handed the handler: what ack() returns is what it keeps while writing.
    const worker = queue.process((job) => {
      const ack = job.ack.bind(job);
      Object.assign(job, {
        ack: () => {
          const acking = ack();
          const caught = acking.catch.bind(acking);
          return Object.assign(acking, {
            catch: (onRejected: (error: unknown) => void) => {
              const settle = caught(onRejected);
              written.push(new WeakRef(settle));
              return settle;
            },
          });
        },
      });
    });
    await drain();
    expect((await queue.stats()).done).toBe(3);
    expect(written).toHaveLength(3);
    // A WeakRef holds its target until the turn that made or read it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(written.map((ref) => ref.deref())).toEqual([undefined, undefined, undefined]);
    await worker.close();
  });
});
