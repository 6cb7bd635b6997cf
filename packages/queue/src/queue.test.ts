import { isIntegError, type Logger } from '@integ/core';
import {
  createQueue,
  DEFAULT_BACKOFF,
  JobSettledError,
  LeaseLostError,
  memoryStore,
  PayloadError,
  type QueueStore,
  StoreLockedError,
  toBackoff,
} from '@integ/queue';
import { constant } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('createQueue', () => {
  it('validates its options', () => {
    const store = memoryStore();
    expect(() => createQueue({ name: '', store })).toThrow(/name/);
    expect(() => createQueue({ name: 'q', store: {} as QueueStore })).toThrow(/store/);
    expect(() => createQueue({ name: 'q', store, attempts: 0 })).toThrow(/attempts/);
    expect(() => createQueue({ name: 'q', store, leaseMs: 0 })).toThrow(/leaseMs/);
    expect(() => createQueue({ name: 'q', store, maxPayloadBytes: 0 })).toThrow(/maxPayloadBytes/);
    expect(() =>
      createQueue({ name: 'q', store, backoff: { type: 'fibonacci', delay: 1 } as never }),
    ).toThrow(/backoff.type/);
  });

  it('validates push options with InvalidArgumentError', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    for (const options of [
      { delay: -1 },
      { delay: Number.POSITIVE_INFINITY },
      { priority: 1.5 },
      { key: '' },
      { key: 'k'.repeat(513) },
      { attempts: 0 },
      { attempts: 1001 },
      { backoff: { type: 'exponential', delay: -5 } },
      { backoff: 'fast' },
    ]) {
      const error = await queue.push(1, options as never).catch((e: unknown) => e);
      expect(isIntegError(error, 'ERR_INVALID_ARGUMENT'), JSON.stringify(options)).toBe(true);
    }
    expect((await queue.stats()).total).toBe(0);
  });
});

describe('push payloads', () => {
  it('stores any JSON value and hands back what JSON.parse gives', async () => {
    const store = memoryStore();
    const queue = createQueue<unknown>({ name: 'q', store });
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const pushed = await queue.push(value);
        const stored = await queue.get(pushed.id);
        expect(stored?.payload).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 200 },
    );
  });

  it('names where a payload stops being JSON', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    const error = await queue.push({ a: { b: [1, () => 1] } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadError);
    expect((error as PayloadError).path).toBe('payload.a.b[1]');
    expect(String((error as Error).message)).toMatch(/payload\.a\.b\[1\] is a function/);
    const date = await queue.push({ at: new Date(0) }).catch((e: unknown) => e);
    expect((date as Error).message).toMatch(/Date.*toISOString/);
    expect((await queue.push({ optional: undefined, n: 1 })).payload).toEqual({ optional: undefined, n: 1 });
  });

  it('refuses any value with a function, symbol or bigint somewhere inside', async () => {
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore() });
    const poison = fc.constantFrom<unknown>(() => 0, Symbol('s'), 1n, Number.NaN, new Set([1]));
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        poison,
        fc.constantFrom('object', 'array'),
        async (value, bad, wrap) => {
          const payload = wrap === 'object' ? { value, bad } : [value, bad];
          const error = await queue.push(payload).catch((e: unknown) => e);
          expect(isIntegError(error, 'ERR_PAYLOAD_INVALID')).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
    expect((await queue.stats()).total).toBe(0);
  });

  it('reports the failing index of pushMany', async () => {
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore() });
    const error = await queue.pushMany([1, 2, 3n]).catch((e: unknown) => e);
    expect((error as { index?: number }).index).toBe(2);
  });
});

describe('leased jobs', () => {
  it('reject a second settle with ERR_JOB_SETTLED', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    await queue.push(1);
    const job = await queue.next();
    await job?.ack();
    await expect(job?.fail(new Error('x'))).rejects.toMatchObject({ code: 'ERR_JOB_SETTLED' });
  });

  it('a job close() returned to pending says so on ack/fail/extend, with the ERR_JOB_SETTLED code', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore(), clock: createFakeClock() });
    await queue.push(1);
    const job = await queue.next();
    await queue.close({ timeout: 0 });
    expect((await queue.stats()).pending).toBe(1);
    for (const [action, call] of [
      ['ack', () => job?.ack()],
      ['fail', () => job?.fail(new Error('x'))],
      ['extend', () => job?.extend(1000)],
    ] as const) {
      const error = await call()?.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobSettledError);
      expect(isIntegError(error, 'ERR_JOB_SETTLED')).toBe(true);
      // Before: "this lease was already settled", though this holder never settled it.
      expect((error as Error).message).toBe(
        `Cannot ${action} job ${job?.id}: close() returned it to pending; it runs again`,
      );
    }
    // A job its holder settled keeps the old message.
    const other = createQueue({ name: 'q', store: memoryStore() });
    await other.push(1);
    const acked = await other.next();
    await acked?.ack();
    await expect(acked?.ack()).rejects.toThrow(/this lease was already settled$/);
  });

  it('keep hooks from breaking the queue: a throwing hook is logged', async () => {
    const warn = vi.fn();
    const logger: Logger = { debug: vi.fn(), info: vi.fn(), warn, error: vi.fn() };
    const queue = createQueue({
      name: 'q',
      store: memoryStore(),
      logger,
      onCompleted: () => {
        throw new Error('hook bug');
      },
    });
    await queue.push(1);
    await (await queue.next())?.ack();
    expect((await queue.stats()).done).toBe(1);
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ hook: 'onCompleted' }), expect.any(String));
  });

  it("stay their holder's to settle when close() could not return them: the store refused the release", async () => {
    const clock = createFakeClock();
    const inner = memoryStore();
    const warn = vi.fn();
    const store: QueueStore = {
      ...inner,
      release: () => Promise.reject(new StoreLockedError('the queue table', 5000)),
    };
    const queue = createQueue({
      name: 'q',
      store,
      clock,
      logger: { debug: vi.fn(), info: vi.fn(), warn, error: vi.fn() },
    });
    await queue.push(1);
    const job = await queue.next();
    await queue.close({ timeout: 0 });
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ jobId: job?.id }), expect.any(String));
    expect((await queue.stats()).processing).toBe(1);
    // Before: JobSettledError, though nothing settled the job; the ack was lost and the job ran again.
    await job?.extend(1000);
    await job?.ack();
    expect((await queue.stats()).done).toBe(1);
  });
});

describe('process', () => {
  it('leaves a job whose release the store refused on close to its lease, neither failed nor acked', async () => {
    const clock = createFakeClock();
    const inner = memoryStore();
    const store: QueueStore = {
      ...inner,
      release: () => Promise.reject(new StoreLockedError('the queue table', 5000)),
    };
    const failed: unknown[] = [];
    const errors: unknown[] = [];
    const queue = createQueue({ name: 'q', store, clock, onFailed: (_job, error) => failed.push(error) });
    await queue.push(1);
    // A handler that ignores its signal: close() times out and releases the job.
    const worker = queue.process(() => new Promise<void>(() => {}), { onError: (e) => errors.push(e) });
    await settle();
    await worker.close({ timeout: 0 });
    await settle();
    expect(errors.map((e) => (isIntegError(e) ? e.code : e))).toEqual(['ERR_STORE_LOCKED']);
    expect(failed).toEqual([]);
    const [job] = await queue.list();
    expect([job?.status, job?.attempts, job?.lastError]).toEqual(['processing', 1, null]);
  });

  it('aborts the handler and does not ack when its lease is lost', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    const store: QueueStore = { ...base, extend: async () => false };
    const queue = createQueue<string>({ name: 'q', store, clock });
    await queue.push('x');
    const errors: unknown[] = [];
    let reason: unknown;
    let finish!: () => void;
    const worker = queue.process(
      (_job, { signal }) =>
        new Promise<void>((resolve) => {
          finish = resolve;
          signal.addEventListener('abort', () => {
            reason = signal.reason;
          });
        }),
      { leaseMs: 1000, onError: (e) => errors.push(e) },
    );
    await settle();
    await clock.advance(500);
    await settle();
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect(errors.some((e) => isIntegError(e, 'ERR_LEASE_LOST'))).toBe(true);
    finish();
    await settle();
    expect((await queue.stats()).processing).toBe(1); // left for the lease to expire, never acked
    await worker.close();
  });

  it('closes the worker when its signal aborts', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore(), clock: createFakeClock() });
    const controller = new AbortController();
    const worker = queue.process(async () => {}, { signal: controller.signal });
    controller.abort();
    expect(worker.closed).toBe(true);
    await worker.close();
  });

  it('passes the signal both on the job and in the context', async () => {
    const queue = createQueue<number>({ name: 'q', store: memoryStore(), clock: createFakeClock() });
    await queue.push(7);
    let same = false;
    const worker = queue.process((job, context) => {
      same = job.signal === context.signal && job.payload === 7;
    });
    await settle();
    expect(same).toBe(true);
    await worker.close();
  });

  it('validates its options', () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    expect(() => queue.process(async () => {}, { concurrency: 0 })).toThrow(/concurrency/);
    expect(() => queue.process(async () => {}, { concurrency: 1.5 })).toThrow(/concurrency/);
    expect(() => queue.process(async () => {}, { timeout: 0 })).toThrow(/timeout/);
    expect(() => queue.process('nope' as never)).toThrow(/handler/);
  });
});

describe('toBackoff', () => {
  it('maps each spec onto @integ/retry', () => {
    const random = (): number => 0.5;
    const at = (spec: Parameters<typeof toBackoff>[0], attempt: number): number =>
      toBackoff(spec)({ attempt, previousDelay: 0, random });
    expect(at(250, 3)).toBe(250);
    expect(at({ type: 'constant', delay: 10 }, 5)).toBe(10);
    expect(at({ type: 'linear', delay: 100, step: 50, jitter: 'none' }, 3)).toBe(200);
    expect(at({ type: 'exponential', delay: 100, factor: 2, jitter: 'none' }, 4)).toBe(800);
    expect(at({ type: 'exponential', delay: 100, factor: 2, max: 300, jitter: 'none' }, 4)).toBe(300);
    expect(at(DEFAULT_BACKOFF, 1)).toBe(1000);
  });

  it('keeps decorrelated delays within [delay, max] whatever the random source', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, r) => {
          const d = toBackoff({ type: 'decorrelated', delay: 100, max: 5000 })({
            attempt,
            previousDelay: 100 * attempt,
            random: () => r,
          });
          expect(d >= 100 && d <= 5000).toBe(true);
        },
      ),
    );
  });
});

describe('queue-level backoff', () => {
  it('accepts an @integ/retry backoff function as the default, and refuses one per push', async () => {
    const clock = createFakeClock({ now: 0 });
    const queue = createQueue({ name: 'q', store: memoryStore(), clock, backoff: constant(250) });
    await queue.push('x');
    await (await queue.next())?.fail(new Error('e'));
    await clock.advance(249);
    expect(await queue.next()).toBe(null);
    await clock.advance(1);
    expect((await queue.next())?.attempts).toBe(2);
    await expect(queue.push('y', { backoff: constant(5) as never })).rejects.toThrow(/serialisable/);
  });
});
