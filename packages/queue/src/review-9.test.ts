/**
 * Review round 9 (composition): what a failure says about itself. `retryable: false` (an IntegError such as
 * InvalidArgumentError, or any error so marked) dead-letters the job at once; `retryAfterMs` (a server's
 * Retry-After through @integ/retry, a CircuitOpenError of @integ/breaker) sets the next delay, capped by
 * `maxRetryAfter`. Decision 0181. Time runs on a fake clock.
 */
import { IntegError, InvalidArgumentError, isIntegError, sleep } from '@integ/core';
import { createQueue, type Job, memoryStore, type QueueOptions, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { retry } from '@integ/retry';
import { createFakeClock, type FakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

const settle = async (turns = 30): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

const T0 = Date.UTC(2030, 0, 1);

/** A failure shaped like @integ/breaker's CircuitOpenError: an IntegError with `retryAfterMs`, retryable. */
class HintedError extends IntegError {
  declare readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super('ERR_CIRCUIT_OPEN', 'Circuit open: retry when retryAfterMs has passed', { retryable: true });
    this.retryAfterMs = retryAfterMs;
  }
}

interface Recorded {
  failed: { status: string; runAt: string; error: unknown }[];
  dead: { job: Job; error: unknown }[];
}

function setup(
  createStore: () => QueueStore,
  options: Partial<QueueOptions> = {},
): { clock: FakeClock; store: QueueStore; queue: ReturnType<typeof createQueue>; seen: Recorded } {
  const clock = createFakeClock({ now: T0 });
  const store = createStore();
  const seen: Recorded = { failed: [], dead: [] };
  const queue = createQueue({
    name: 'q',
    store,
    clock,
    // A fixed 1 s backoff: a hint that is not honoured shows as a retry after 1 s.
    backoff: 1000,
    onFailed: (job, error) => seen.failed.push({ status: job.status, runAt: job.runAt, error }),
    onDead: (job, error) => seen.dead.push({ job, error }),
    ...options,
  });
  return { clock, store, queue, seen };
}

describe.each(stores)('a failure marked retryable: false (%s)', (_name, createStore) => {
  it('dead-letters the job after 1 attempt in process(), with that error as lastError, onDead called', async () => {
    const { store, queue, seen } = setup(createStore);
    const { id } = await queue.push('x', { attempts: 3 });
    const error = new InvalidArgumentError('to', 'an e-mail address', 42);
    let runs = 0;
    const worker = queue.process(async () => {
      runs++;
      throw error;
    });
    await settle();
    expect(runs).toBe(1);
    expect(await queue.get(id)).toMatchObject({
      status: 'dead',
      attempts: 1,
      maxAttempts: 3,
      lastError: 'InvalidArgumentError: Invalid to: expected an e-mail address, received 42',
    });
    expect(seen.failed.map((f) => f.status)).toEqual(['dead']);
    expect(seen.dead.map((d) => d.error)).toEqual([error]);
    await worker.close();
    await queue.close();
    await store.close();
  });

  it('dead-letters a plain Error the user marked retryable: false', async () => {
    const { clock, store, queue, seen } = setup(createStore);
    const { id } = await queue.push('x');
    const worker = queue.process(async () => {
      throw Object.assign(new Error('400 Bad Request'), { retryable: false });
    });
    await settle();
    await clock.advance(10_000);
    await settle();
    expect(await queue.get(id)).toMatchObject({ status: 'dead', attempts: 1 });
    expect(seen.dead).toHaveLength(1);
    await worker.close();
    await queue.close();
    await store.close();
  });

  it('dead-letters it from job.fail(err) too, unless fail(err, { retry: true }) says otherwise', async () => {
    const { store, queue, seen } = setup(createStore);
    const a = await queue.push('a');
    const b = await queue.push('b');
    const error = Object.assign(new Error('no such user'), { retryable: false });
    await (await queue.next())?.fail(error);
    await (await queue.next())?.fail(error, { retry: true });
    expect(await queue.get(a.id)).toMatchObject({ status: 'dead', attempts: 1 });
    expect(await queue.get(b.id)).toMatchObject({ status: 'pending', attempts: 1 });
    expect(seen.dead.map((d) => d.job.id)).toEqual([a.id]);
    await queue.close();
    await store.close();
  });

  it('retries a RetryError of an inner retry() (its retryable: false is for an outer retry() in the same call)', async () => {
    const { clock, store, queue, seen } = setup(createStore);
    const { id } = await queue.push('x', { attempts: 2 });
    let calls = 0;
    const worker = queue.process(() =>
      retry(
        () => {
          calls++;
          throw new Error('503');
        },
        { attempts: 2, backoff: () => 0, clock },
      ),
    );
    await settle();
    expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 1 });
    await clock.advance(1000);
    await settle();
    // The inner attempts multiply with the job's: 2 x 2.
    expect(calls).toBe(4);
    expect(await queue.get(id)).toMatchObject({ status: 'dead', attempts: 2 });
    expect(seen.dead).toHaveLength(1);
    await worker.close();
    await queue.close();
    await store.close();
  });

  it('keeps retrying errors with no opinion and retryable: true, and AbortErrors not of the queue', async () => {
    const { clock, store, queue, seen } = setup(createStore);
    const errors: unknown[] = [
      new Error('boom'),
      Object.assign(new Error('busy'), { retryable: true }),
      new DOMException('aborted by the handler', 'AbortError'),
    ];
    for (const error of errors) {
      const { id } = await queue.push('x', { attempts: 2 });
      await (await queue.next())?.fail(error);
      expect(await queue.get(id)).toMatchObject({ status: 'pending' });
    }
    expect(seen.dead).toEqual([]);
    expect(clock.now()).toBe(T0);
    await queue.close();
    await store.close();
  });
});

describe.each(stores)('a failure with retryAfterMs (%s)', (_name, createStore) => {
  it('runs the next attempt not before the hint, not jittered, instead of after the backoff', async () => {
    const { clock, store, queue, seen } = setup(createStore, { maxRetryAfter: 300_000, random: () => 0 });
    const { id } = await queue.push('x', { attempts: 3 });
    const runs: number[] = [];
    const worker = queue.process(async () => {
      runs.push(clock.now() - T0);
      throw new HintedError(120_000);
    });
    await settle();
    expect(seen.failed[0]).toMatchObject({ status: 'pending', runAt: new Date(T0 + 120_000).toISOString() });
    await clock.advance(1000);
    await settle();
    expect(runs).toEqual([0]);
    await clock.advance(118_999);
    await settle();
    expect(runs).toEqual([0]);
    await clock.advance(1);
    await settle();
    expect(runs).toEqual([0, 120_000]);
    expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 2 });
    await worker.close();
    await queue.close();
    await store.close();
  });

  it('caps the hint at maxRetryAfter (default 60 s), and is dead after the last attempt all the same', async () => {
    const { clock, store, queue, seen } = setup(createStore);
    const { id } = await queue.push('x', { attempts: 2 });
    const runs: number[] = [];
    const error = new HintedError(120_000);
    const worker = queue.process(async () => {
      runs.push(clock.now() - T0);
      throw error;
    });
    await settle();
    await clock.advance(59_999);
    await settle();
    expect(runs).toEqual([0]);
    await clock.advance(1);
    await settle();
    expect(runs).toEqual([0, 60_000]);
    expect(await queue.get(id)).toMatchObject({ status: 'dead', attempts: 2 });
    expect(seen.dead.map((d) => d.error)).toEqual([error]);
    await worker.close();
    await queue.close();
    await store.close();
  });

  it("reads the hint of a RetryError's last failure; an explicit fail(err, { delay }) wins over it", async () => {
    const { clock, store, queue } = setup(createStore);
    const a = await queue.push('a');
    const b = await queue.push('b');
    const gaveUp = await retry(
      () => {
        throw new HintedError(30_000);
      },
      { attempts: 1, clock },
    ).catch((error: unknown) => error);
    expect(isIntegError(gaveUp, 'ERR_RETRY_EXHAUSTED')).toBe(true);
    await (await queue.next())?.fail(gaveUp);
    await (await queue.next())?.fail(new HintedError(30_000), { delay: 5000 });
    expect((await queue.get(a.id))?.runAt).toBe(new Date(T0 + 30_000).toISOString());
    expect((await queue.get(b.id))?.runAt).toBe(new Date(T0 + 5000).toISOString());
    await queue.close();
    await store.close();
  });

  it('takes a hint of 0 (due at once) and ignores one that is no delay (negative, NaN, a string)', async () => {
    const { store, queue } = setup(createStore);
    const hints: unknown[] = [0, -1, Number.NaN, '120'];
    const runAts: string[] = [];
    for (const [priority, retryAfterMs] of hints.entries()) {
      // Each above the last: the job retried at once must not be the next one claimed.
      const { id } = await queue.push('x', { priority });
      await (await queue.next())?.fail(Object.assign(new Error('x'), { retryAfterMs }));
      runAts.push((await queue.get(id))?.runAt ?? '');
    }
    const at = (ms: number) => new Date(T0 + ms).toISOString();
    expect(runAts).toEqual([at(0), at(1000), at(1000), at(1000)]);
    await queue.close();
    await store.close();
  });

  it('refuses a maxRetryAfter that is no number of ms, and takes Infinity as no cap (null as not given)', () => {
    for (const maxRetryAfter of [-1, Number.NaN, '60000', 9e15])
      expect(() =>
        createQueue({ name: 'q', store: memoryStore(), maxRetryAfter: maxRetryAfter as number }),
      ).toThrow(InvalidArgumentError);
    for (const maxRetryAfter of [Infinity, null, 0])
      expect(() =>
        createQueue({ name: 'q', store: memoryStore(), maxRetryAfter: maxRetryAfter as number }),
      ).not.toThrow();
  });

  it('with maxRetryAfter: Infinity, a hint past the last instant a Date holds is due then', async () => {
    const { store, queue } = setup(createStore, { maxRetryAfter: Infinity });
    const { id } = await queue.push('x');
    await (await queue.next())?.fail(new HintedError(Infinity));
    expect(await queue.get(id)).toMatchObject({ status: 'pending', runAt: '+275760-09-13T00:00:00.000Z' });
    await queue.close();
    await store.close();
  });

  it('treats a failure whose fields throw when read as one with no opinion', async () => {
    const { store, queue } = setup(createStore);
    const { id } = await queue.push('x');
    const error = new Proxy(new Error('odd'), {
      get(target, name) {
        if (name === 'retryable' || name === 'retryAfterMs') throw new Error('no');
        return Reflect.get(target, name);
      },
    });
    await (await queue.next())?.fail(error);
    expect(await queue.get(id)).toMatchObject({
      status: 'pending',
      runAt: new Date(T0 + 1000).toISOString(),
      lastError: 'Error: odd',
    });
    await queue.close();
    await store.close();
  });
});

describe.each(stores)('an abort at close() (%s)', (_name, createStore) => {
  it('returns the job to pending with its attempt given back, not dead, whatever the handler rethrows', async () => {
    const { clock, store, queue, seen } = setup(createStore);
    const { id } = await queue.push('x', { attempts: 1 });
    const worker = queue.process(async (_job, { signal }) => {
      try {
        await sleep(60_000, { signal, clock });
      } catch {
        // What fetch() rejects with on an abort: an AbortError, not the signal's reason.
        throw Object.assign(new DOMException('This operation was aborted', 'AbortError'), {
          retryable: false,
        });
      }
    });
    await settle();
    expect(worker.running).toBe(1);
    await worker.close({ timeout: 0 });
    expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(seen.failed).toEqual([]);
    expect(seen.dead).toEqual([]);
    await queue.close();
    await store.close();
  });

  it('retries a handler that failed pushing to its own queue while it closes (QueueClosedError), as before', async () => {
    const { clock, store, queue, seen } = setup(createStore);
    const { id } = await queue.push('first', { attempts: 2 });
    let go: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      go = resolve;
    });
    const worker = queue.process(async () => {
      await gate;
      await queue.push('next step');
    });
    await settle();
    const closing = queue.close({ timeout: 5000 });
    go();
    await settle();
    await closing;
    expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 1 });
    expect(seen.failed.map((f) => f.status)).toEqual(['pending']);
    expect(isIntegError(seen.failed[0]?.error, 'ERR_QUEUE_CLOSED')).toBe(true);
    expect(worker.closed).toBe(true);
    expect(clock.now()).toBe(T0);
    await store.close();
  });
});
