/**
 * Review 38 (brief QUEUE): Stryker 9.6.1 on @integ/queue's sources, run on its src/ unit tests. Each test here pins
 * what a surviving mutant changed, and was seen to fail with that mutant applied by hand (named by its Stryker id
 * and what it changed) and to pass on the real code.
 */
import { getEventListeners } from 'node:events';
import { InvalidArgumentError } from '@integ/core';
import {
  createQueue,
  type LeasedJob,
  memoryStore,
  PayloadError,
  PayloadTooLargeError,
  type QueueStore,
  StoreUnavailableError,
  toBackoff,
} from '@integ/queue';
import { createFakeClock, drain } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { recordingLogger } from '../test/review.js';

describe('toBackoff()', () => {
  // #20: the message of a ms field out of range was ''.
  it('says what a ms field takes: a number of ms from 0 to 8640000000000000', () => {
    for (const spec of [
      -1,
      { type: 'linear', delay: 1, step: -1 },
      { type: 'exponential', delay: 1, max: 1e16 },
    ])
      expect(() => toBackoff(spec as never)).toThrow(
        expect.objectContaining({
          constructor: InvalidArgumentError,
          message: expect.stringContaining('expected a number of ms from 0 to 8640000000000000, received'),
        }),
      );
  });

  // #52: only null was refused as no object; a string or a boolean was read as a spec without a delay.
  it("refuses what is neither a number nor an object as 'backoff', saying what it takes", () => {
    for (const spec of ['1000', true, undefined, null])
      expect(() => toBackoff(spec as never)).toThrow(
        expect.objectContaining({
          argument: 'backoff',
          message: expect.stringContaining('expected a number of ms or { type, delay, ... }'),
        }),
      );
  });

  // #3, #5: a type named like an Object.prototype member read that member as the type's field list (a TypeError).
  it('refuses a type named like an Object.prototype member as an unknown backoff.type', () => {
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty'])
      expect(() => toBackoff(JSON.parse(`{"type":"${type}","delay":1}`))).toThrow(
        expect.objectContaining({
          argument: 'backoff.type',
          message: expect.stringContaining("expected 'constant', 'linear', 'exponential' or 'decorrelated'"),
        }),
      );
  });

  // #6: a type that is no string but reads as one of the names (['linear']) had its fields checked as that type's.
  it('refuses a type that is no string as backoff.type before looking at its fields', () => {
    for (const type of [['linear'], { toString: () => 'exponential' }])
      expect(() => toBackoff({ type, delay: 1, maxDelay: 5 } as never)).toThrow(
        expect.objectContaining({ argument: 'backoff.type' }),
      );
  });

  // #16, #17: a field the type does not have was refused with an empty message, or its fields run together.
  it("names the field a type does not have and lists the type's own", () => {
    expect(() => toBackoff({ type: 'linear', delay: 1, maxDelay: 5 } as never)).toThrow(
      expect.objectContaining({
        argument: 'backoff.maxDelay',
        message: expect.stringContaining(
          "expected no such field: a 'linear' backoff has type, delay, step, max, jitter",
        ),
      }),
    );
  });
});

describe('a failed attempt and its backoff', () => {
  // #64: the replay of previousDelay started at attempt - 64 (Math.min): a backoff was asked about attempt 0 and below.
  it('replays the backoff from attempt 1, and over the last 65 attempts only once past 65', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const calls: number[][] = [];
    let current: number[] = [];
    const queue = createQueue<string>({
      name: 'q',
      store: memoryStore(),
      clock,
      attempts: 1000,
      backoff: ({ attempt }) => {
        current.push(attempt);
        return 0;
      },
    });
    await queue.push('a');
    for (let i = 0; i < 70; i++) {
      current = [];
      await ((await queue.next()) as LeasedJob<string>).fail(new Error('again'));
      calls.push(current);
    }
    expect(calls[0]).toEqual([1]);
    expect(calls[2]).toEqual([1, 2, 3]);
    expect(calls[64]).toEqual(Array.from({ length: 65 }, (_, i) => i + 1));
    expect(calls[69]).toEqual(Array.from({ length: 65 }, (_, i) => i + 6));
    await queue.close();
  });

  // #83, #84: the warning's error named no option and said nothing of what a backoff must return.
  it("warns of a backoff result that is no delay as an InvalidArgumentError of 'backoff result'", async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const logger = recordingLogger();
    const queue = createQueue<string>({
      name: 'q',
      store: memoryStore(),
      clock,
      logger,
      backoff: () => Number.NaN,
    });
    await queue.push('a');
    await ((await queue.next()) as LeasedJob<string>).fail(new Error('boom'));
    expect(logger.warnings).toEqual([
      [
        'backoff threw; using the built-in default backoff',
        expect.objectContaining({
          err: expect.objectContaining({
            argument: 'backoff result',
            message: 'Invalid backoff result: expected a number of ms >= 0, received NaN',
          }),
        }),
      ],
    ]);
    await queue.close();
  });
});

describe('createQueue() options', () => {
  // #94 (check.ts): a hook that is no function was refused with an empty expectation.
  it('refuses a hook that is no function, saying it takes a function', () => {
    expect(() => createQueue({ name: 'q', store: memoryStore(), onCompleted: 5 as never })).toThrow(
      'Invalid onCompleted: expected a function, received 5',
    );
  });
});

describe('hooks', () => {
  // #100 (check.ts): guard() read `.then` of what a hook returned without `?.`: each hook returning nothing (or null)
  // was logged as a hook that threw.
  it('log nothing for a hook that returns undefined or null', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const logger = recordingLogger();
    const seen: string[] = [];
    const queue = createQueue<string>({
      name: 'q',
      store: memoryStore(),
      clock,
      logger,
      attempts: 1,
      onCompleted: () => void seen.push('completed'),
      onFailed: () => {
        seen.push('failed');
        return null;
      },
      onDead: () => void seen.push('dead'),
    });
    await queue.push('a');
    await queue.push('b');
    await ((await queue.next()) as LeasedJob<string>).ack();
    await ((await queue.next()) as LeasedJob<string>).fail(new Error('boom'));
    expect(seen).toEqual(['completed', 'failed', 'dead']);
    expect(logger.warnings).toEqual([]);
    await queue.close();
  });
});

describe('payloads', () => {
  // #152, #154, #155 (payload.ts): a top-level undefined was refused by the walk instead, whose words are for a value
  // inside a payload ('is undefined (JSON cannot keep it here)'), or with an empty path or problem.
  it("refuse a top-level undefined as 'payload is undefined'", async () => {
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore() });
    for (const push of [() => queue.push(undefined), () => queue.pushMany([1, undefined])])
      await expect(push()).rejects.toThrow(
        expect.objectContaining({
          constructor: PayloadError,
          path: 'payload',
          message:
            'Invalid job payload: payload is undefined; payloads must be plain JSON (objects, arrays, strings, finite numbers, booleans, null)',
        }),
      );
    await queue.close();
  });

  // #161 (payload.ts): the walk's lower bound of the size gave up at twice the limit (>=), not only past it (decision
  // 0131): bytes was that bound (20), not the JSON's size.
  it('give the exact size of a payload whose lower bound is exactly twice the limit', async () => {
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore(), maxPayloadBytes: 10 });
    // The walk counts 1 for the array and 1 for each number: 20 = 2 x 10. Its JSON is 77 bytes.
    const payload = Array.from({ length: 19 }, () => 100);
    await expect(queue.push(payload)).rejects.toThrow(
      expect.objectContaining({
        constructor: PayloadTooLargeError,
        bytes: JSON.stringify(payload).length,
        limit: 10,
      }),
    );
    expect(JSON.stringify(payload).length).toBe(77);
    await queue.close();
  });

  // #185 (payload.ts) and the other bounds of its UTF-8 count (used when the JSON has fewer characters than the limit
  // but could have more bytes): U+0080 counted as 1 byte let a payload over the limit through.
  it.each([
    ['U+0080', '\u0080'],
    ['U+07FF', '\u07ff'],
    ['U+0800', '\u0800'],
    ['U+D7FF', '\ud7ff'],
    ['U+E000', '\ue000'],
    ['U+FFFF', '\uffff'],
    ['U+10000', '\ud800\udc00'],
    ['U+10FFFF', '\udbff\udfff'],
    ['ASCII then U+0080', 'a\u0080'],
  ])('count %s in UTF-8 bytes against maxPayloadBytes', async (_, unit) => {
    const payload = unit.repeat(4);
    const text = JSON.stringify(payload);
    const bytes = new TextEncoder().encode(text).length;
    // Under the limit in characters, over it if each took 3 bytes: the counted path, not TextEncoder's.
    expect(text.length < bytes && bytes - 1 < 3 * text.length).toBe(true);
    const at = createQueue<string>({ name: 'q', store: memoryStore(), maxPayloadBytes: bytes });
    await expect(at.push(payload)).resolves.toMatchObject({ payload });
    const under = createQueue<string>({ name: 'q', store: memoryStore(), maxPayloadBytes: bytes - 1 });
    await expect(under.push(payload)).rejects.toThrow(
      expect.objectContaining({ constructor: PayloadTooLargeError, bytes, limit: bytes - 1 }),
    );
  });

  // #221-#224, #228-#230, #233, #245 (payload.ts): what each refusal says (a bigint or a symbol without its case fell
  // through to the next one's words).
  const cycle: { self?: unknown } = {};
  cycle.self = cycle;
  it.each([
    ['NaN', { n: Number.NaN }, 'payload.n', 'is NaN (JSON has no such number)'],
    ['-Infinity', [Number.NEGATIVE_INFINITY], 'payload[0]', 'is -Infinity (JSON has no such number)'],
    ['a bigint', { n: 1n }, 'payload.n', 'is a bigint (convert it to a string)'],
    ['a symbol', [Symbol('s')], 'payload[0]', 'is a symbol'],
    ['a function', { f: () => 1 }, 'payload.f', 'is a function'],
    ['undefined in an array', [1, undefined], 'payload[1]', 'is undefined (JSON cannot keep it here)'],
    ['a cycle', cycle, 'payload.self', 'is a circular reference'],
  ])('refuse %s, saying where and what', async (_, payload, path, problem) => {
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore() });
    await expect(queue.push(payload)).rejects.toThrow(
      expect.objectContaining({
        constructor: PayloadError,
        path,
        message: `Invalid job payload: ${path} ${problem}; payloads must be plain JSON (objects, arrays, strings, finite numbers, booleans, null)`,
      }),
    );
  });

  // #280 (payload.ts): an object inheriting from a plain object (Object.create(defaults)) passed as another realm's
  // plain object, since its inherited constructor is the native Object: JSON would drop what it inherits (README).
  it('refuse an object inheriting from a plain object', async () => {
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore() });
    const defaults = { retries: 3 };
    for (const payload of [Object.create(defaults), { nested: [Object.create({ constructor: Object })] }])
      await expect(queue.push(payload)).rejects.toThrow(
        expect.objectContaining({
          constructor: PayloadError,
          message: expect.stringContaining('(only plain objects and arrays; convert it'),
        }),
      );
    // The plain ones still pass.
    await expect(queue.push({ a: Object.create(null), b: [{}] })).resolves.toMatchObject({
      status: 'pending',
    });
  });

  // #287-#291 (payload.ts): a refused instance is named by its class, or 'class instance' when it has no usable name.
  it.each([
    ['a Date', new Date(0), 'is a Date'],
    ['a named class', new (class Point {})(), 'is a Point'],
    ['an anonymous class', new (class {})(), 'is a class instance'],
    ['no constructor', Object.create(Object.create(null)), 'is a class instance'],
    [
      'a constructor whose name is no string',
      Object.create({ constructor: { name: 7 } }),
      'is a class instance',
    ],
  ])('name %s by its class', async (_, payload, problem) => {
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore() });
    await expect(queue.push({ at: payload })).rejects.toThrow(
      `Invalid job payload: payload.at ${problem} (only plain objects and arrays; convert it, e.g. a Date to toISOString());`,
    );
  });

  // #302 (payload.ts): a toJSON method was refused with an empty problem.
  it('refuse a toJSON method, naming it', async () => {
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore() });
    await expect(queue.push({ d: { toJSON: () => 'x' } })).rejects.toThrow(
      expect.objectContaining({
        path: 'payload.d.toJSON',
        message: expect.stringContaining('payload.d.toJSON is a function;'),
      }),
    );
  });

  // #317, #318 (payload.ts): a key counted as its length - 3 (or taken off) kept the lower bound of the size under
  // twice the limit, so the payload was serialised after all (decision 0131: past twice the limit it never is).
  it('are not serialised once the keys alone pass twice the limit', async () => {
    let reads = 0;
    const payload: Record<string, unknown> = {};
    for (let i = 10; i < 40; i++) payload[`k${i}`] = null;
    Object.defineProperty(payload, 'counted', {
      enumerable: true,
      get() {
        reads++;
        return 1;
      },
    });
    // The walk counts at least 1 + 30 x (3 + 3 + 1) = 211 > 2 x 50 before the getter; JSON.stringify would read it again.
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore(), maxPayloadBytes: 50 });
    await expect(queue.push(payload)).rejects.toThrow(PayloadTooLargeError);
    expect(reads).toBe(1);
  });

  // #212 (payload.ts): a string counted as its length - 2 (an empty one as -2) kept the lower bound of the size under
  // twice the limit, so the payload was serialised after all (decision 0131: past twice the limit it never is).
  it('are not serialised once the strings alone pass twice the limit', async () => {
    let reads = 0;
    const payload = [
      ...Array.from({ length: 30 }, () => ''),
      {
        get counted() {
          reads++;
          return 1;
        },
      },
    ];
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore(), maxPayloadBytes: 10 });
    const error = await queue.push(payload).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    // The check read the getter; JSON.stringify would have read it again.
    expect(reads).toBe(1);
    const { bytes } = error as PayloadTooLargeError;
    expect(bytes > 20 && bytes <= JSON.stringify(payload).length).toBe(true);
  });
});

// @integ/testing's drain, with the 20 turns this package's tests use.
const settle = (turns = 20): Promise<void> => drain(turns);

describe('queue.process() options', () => {
  // worker.ts: each refusal names its option and its range (the messages were not pinned).
  it.each([
    [{ concurrency: 0 }, 'Invalid concurrency: expected a number from 1 to 10000, received 0'],
    [{ concurrency: 10_001 }, 'Invalid concurrency: expected a number from 1 to 10000, received 10001'],
    [{ concurrency: Number.NaN }, 'Invalid concurrency: expected a number from 1 to 10000, received NaN'],
    [{ concurrency: '2' }, 'Invalid concurrency: expected a number from 1 to 10000, received a string'],
    [{ concurrency: 1.5 }, 'Invalid concurrency: expected an integer, received 1.5'],
    [{ leaseMs: 0 }, 'Invalid leaseMs: expected a number from 1 to 2147483647, received 0'],
    [{ leaseMs: 2 ** 31 }, 'Invalid leaseMs: expected a number from 1 to 2147483647, received 2147483648'],
    [{ timeout: 0 }, 'Invalid timeout: expected a number from 1 to 2147483647, received 0'],
    [{ timeout: 2 ** 31 }, 'Invalid timeout: expected a number from 1 to 2147483647, received 2147483648'],
    [{ pollInterval: 0 }, 'Invalid pollInterval: expected a number from 1 to 2147483647, received 0'],
    [
      { pollInterval: 2 ** 31 },
      'Invalid pollInterval: expected a number from 1 to 2147483647, received 2147483648',
    ],
    [{ closeTimeout: -1 }, 'Invalid closeTimeout: expected a number from 0 to 2147483647, received -1'],
    [
      { closeTimeout: 2 ** 31 },
      'Invalid closeTimeout: expected a number from 0 to 2147483647, received 2147483648',
    ],
    [{ onError: 5 }, 'Invalid onError: expected a function, received 5'],
    [{ signal: {} }, 'Invalid signal: expected an AbortSignal, received an object'],
    [{ signal: null }, 'Invalid signal: expected an AbortSignal, received null'],
  ])('refuses %o: %s', (options, message) => {
    const queue = createQueue<string>({ name: 'q', store: memoryStore(), clock: createFakeClock() });
    expect(() => queue.process(() => {}, options as never)).toThrow(
      expect.objectContaining({ constructor: InvalidArgumentError, message }),
    );
  });

  it('takes each bound itself', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const queue = createQueue<string>({ name: 'q', store: memoryStore(), clock });
    for (const options of [
      { concurrency: 1, leaseMs: 1, timeout: 1, pollInterval: 1, closeTimeout: 0 },
      {
        concurrency: 10_000,
        leaseMs: 2 ** 31 - 1,
        timeout: 2 ** 31 - 1,
        pollInterval: 2 ** 31 - 1,
        closeTimeout: 2 ** 31 - 1,
      },
    ]) {
      const worker = queue.process(() => {}, options);
      await settle();
      await worker.close({ timeout: 0 });
    }
    await queue.close();
  });

  it("refuses a close timeout out of range, naming 'close timeout'", async () => {
    const queue = createQueue<string>({ name: 'q', store: memoryStore(), clock: createFakeClock() });
    const worker = queue.process(() => {});
    await expect(worker.close({ timeout: -1 })).rejects.toThrow(
      'Invalid close timeout: expected a number from 0 to 2147483647, received -1',
    );
    expect(worker.closed).toBe(false);
    await worker.close({ timeout: 0 });
    await queue.close();
  });
});

describe('what a worker logs', () => {
  /** A memory store whose `name` method rejects once (or always). */
  const refusing = (
    base: QueueStore,
    name: 'extend' | 'ack' | 'fail' | 'release',
    times = 1,
  ): QueueStore => ({
    ...base,
    [name]: async (...args: never[]) => {
      if (times-- > 0) throw new StoreUnavailableError(`the store refused ${name}`);
      return (base[name] as (...a: never[]) => Promise<boolean>)(...args);
    },
  });
  const messages = (logger: ReturnType<typeof recordingLogger>) =>
    logger.warnings.map(([message]) => message);

  it.each([
    ['ack', () => {}, 'queue worker could not ack a job'],
    [
      'fail',
      () => {
        throw new Error('boom');
      },
      'queue worker could not record a failed attempt',
    ],
  ] as const)('a %s the store refused', async (name, handler, message) => {
    const clock = createFakeClock({ now: 1_000_000 });
    const logger = recordingLogger();
    const queue = createQueue<string>({ name: 'q', store: refusing(memoryStore(), name), clock, logger });
    await queue.push('a');
    const errors: unknown[] = [];
    const worker = queue.process(handler, { onError: (e) => errors.push(e) });
    await settle();
    expect(messages(logger)).toEqual([message]);
    expect(logger.warnings[0]?.[1]).toMatchObject({ queue: 'q', err: expect.any(StoreUnavailableError) });
    expect(errors).toEqual([expect.any(StoreUnavailableError)]);
    await worker.close({ timeout: 0 });
  });

  it('a renewal the store refused, and a lost lease', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const logger = recordingLogger();
    const base = memoryStore();
    // Refused at +500, then tried again every 125 ms (+625, +750, +875, +1000) while the lease (to +1000) lapses.
    const queue = createQueue<string>({ name: 'q', store: refusing(base, 'extend', 5), clock, logger });
    await queue.push('a');
    const worker = queue.process(
      (_job, { signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      { leaseMs: 1000 },
    );
    await settle();
    await clock.advance(500);
    await settle();
    expect(messages(logger)).toEqual(['queue worker could not extend a lease; trying again']);
    await clock.advance(500);
    await settle();
    // Another consumer takes the job over; the renewal at +1125 finds it gone.
    const other = createQueue<string>({ name: 'q', store: base, clock });
    expect(await other.next({ leaseMs: 60_000 })).not.toBeNull();
    await clock.advance(125);
    await settle();
    expect(messages(logger).at(-1)).toBe('queue worker lost a lease; the job was claimed again');
    expect(new Set(messages(logger)).size).toBe(2);
    await worker.close({ timeout: 0 });
  });

  it('a job close() could not return to pending', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const logger = recordingLogger();
    const queue = createQueue<string>({
      name: 'q',
      store: refusing(memoryStore(), 'release'),
      clock,
      logger,
    });
    await queue.push('a');
    const worker = queue.process(() => new Promise(() => {}));
    await settle();
    await worker.close({ timeout: 0 });
    expect(messages(logger)).toEqual(['queue worker could not return a job to pending on close']);
  });
});

describe('a worker waiting for due times', () => {
  // #39, #43 (worker.ts): a push due when the armed timer fires already (next >= dueAt, that due time still ahead)
  // cleared and set the due timer again: a timer per push.
  it('arms one due timer for many pushes due at the same time, or later than it, and clears only timers it set', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    let sets = 0;
    const counting = {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number) => {
        sets++;
        return clock.setTimeout(fn, ms);
      },
      clearTimeout: (handle: Parameters<typeof clock.clearTimeout>[0]) => {
        // #49: the first due time cleared a timer that was never set (a Clock gets only its own handles).
        if (handle === undefined) throw new Error('clearTimeout(undefined)');
        clock.clearTimeout(handle);
      },
    };
    const queue = createQueue<number>({ name: 'q', store: memoryStore(), clock: counting });
    const done: number[] = [];
    const worker = queue.process((job) => void done.push(job.payload), {
      pollInterval: 600_000,
      concurrency: 10,
    });
    await settle();
    const before = sets;
    for (let i = 0; i < 50; i++) await queue.push(i, { delay: 5000 });
    for (let i = 50; i < 100; i++) await queue.push(i, { delay: 5000 + i });
    expect(sets - before).toBe(1);
    await clock.advance(5000);
    await settle();
    expect(done.length).toBe(50);
    await worker.close();
    await queue.close();
  });

  // #87, #94 (worker.ts): a due time already kept was kept again: 1,000 pushes due at one time filled the list of the
  // earliest 1,000 due times, and a job due later waited for the next poll (10 minutes here) instead of its time.
  it('keeps each due time once, so 1,000 pushes due together leave room for a later one', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const queue = createQueue<number>({ name: 'q', store: memoryStore(), clock });
    const done: number[] = [];
    const worker = queue.process((job) => void done.push(job.payload), {
      pollInterval: 600_000,
      concurrency: 100,
    });
    await settle();
    for (let i = 0; i < 1000; i++) await queue.push(i, { delay: 5000 });
    await queue.push(1000, { delay: 10_000 });
    await clock.advance(5000);
    await settle(50);
    expect(done.length).toBe(1000);
    await clock.advance(5000);
    await settle();
    expect(done.at(-1)).toBe(1000);
    await worker.close();
    await queue.close();
  });

  // #100, #101 (worker.ts): the list of due times is bounded to the earliest 1,000 (README FAQ): without the pop it
  // grew with every push; with >= it kept 999, and the 1,000th earliest waited for a poll.
  it('keeps the earliest 1,000 due times: a 1,001st later one waits for the poll', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const queue = createQueue<number>({ name: 'q', store: memoryStore(), clock });
    const done: number[] = [];
    const worker = queue.process((job) => void done.push(job.payload), {
      pollInterval: 600_000,
      concurrency: 10,
    });
    await settle();
    // Latest first, each earlier than the ones kept: the latest is the one dropped.
    for (let k = 1000; k >= 0; k--) await queue.push(k, { delay: 10_000 + k * 10 });
    await clock.advance(10_000 + 999 * 10);
    await settle();
    expect(done.length).toBe(1000);
    await clock.advance(10);
    await settle();
    expect(done.length).toBe(1000);
    await clock.advance(600_000);
    await settle();
    expect(done.length).toBe(1001);
    await worker.close();
    await queue.close();
  }, 20_000);

  // #103, #105 (worker.ts): a job due now, pushed while no poll timer was set (the worker busy), cleared a timer that
  // was never set.
  it('clears no poll timer it did not set when a job due now is pushed while it is busy', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const counting = {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms),
      clearTimeout: (handle: Parameters<typeof clock.clearTimeout>[0]) => {
        if (handle === undefined) throw new Error('clearTimeout(undefined)');
        clock.clearTimeout(handle);
      },
    };
    const queue = createQueue<string>({ name: 'q', store: memoryStore(), clock: counting });
    let release!: () => void;
    // Busy from its first claim: no poll timer was ever set.
    await queue.push('a');
    const worker = queue.process(() => new Promise<void>((resolve) => (release = resolve)));
    await settle();
    expect(worker.running).toBe(1);
    await expect(queue.push('b')).resolves.toMatchObject({ status: 'pending' });
    release();
    await settle();
    await worker.close({ timeout: 0 });
    await queue.close();
  });

  // #104, #106 (worker.ts): a wake-up for a job due now left the idle poll timer running, so the poll came at its
  // old time instead of pollInterval after the claims the wake-up made.
  it('restarts the poll interval when a job due now wakes it', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    const claims: number[] = [];
    const store: QueueStore = {
      ...base,
      claim: (queue, options) => {
        claims.push(options.now - 1_000_000);
        return base.claim(queue, options);
      },
    };
    const queue = createQueue<string>({ name: 'q', store, clock });
    const worker = queue.process(() => {}, { pollInterval: 1000 });
    await settle();
    await clock.advance(500);
    await queue.push('a');
    await settle();
    await clock.advance(900);
    await settle();
    // Polls at +0 (idle), the wake-up's claims at +500, and none at the old poll time (+1000).
    expect(claims.every((t) => t === 0 || t === 500)).toBe(true);
    await clock.advance(100);
    await settle();
    expect(claims.at(-1)).toBe(1500);
    await worker.close();
    await queue.close();
  });
});

describe('a worker claiming', () => {
  // #134, #135, #136 (worker.ts): the jobs of a claim in flight when close() began were started anyway (their
  // handlers ran after close), or left leased to nobody: an attempt spent, the job back only when its lease ended.
  it('gives the jobs of a claim in flight when close() began back to pending, unrun and their attempt unspent', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const store: QueueStore = {
      ...base,
      claim: async (queue, options) => {
        await gate;
        return base.claim(queue, options);
      },
    };
    const queue = createQueue<string>({ name: 'q', store, clock });
    const { id } = await queue.push('a');
    const ran: string[] = [];
    const worker = queue.process((job) => void ran.push(job.id));
    await settle();
    const closing = worker.close({ timeout: 1000 });
    open();
    await settle();
    await closing;
    expect(ran).toEqual([]);
    expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
    await queue.close();
  });

  // #139 (worker.ts): after a claim that found jobs the worker waited for the poll (or a job's end) instead of
  // claiming again, so a store that hands out fewer jobs than asked left slots idle.
  it('fills every slot from a store that hands out fewer jobs than asked', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    const store: QueueStore = {
      ...base,
      claim: (queue, options) => base.claim(queue, { ...options, limit: 1 }),
    };
    const queue = createQueue<string>({ name: 'q', store, clock });
    for (const payload of ['a', 'b', 'c']) await queue.push(payload);
    const worker = queue.process(() => new Promise(() => {}), { concurrency: 3 });
    await settle();
    expect(worker.running).toBe(3);
    await worker.close({ timeout: 0 });
    await queue.close();
  });

  // #148 (worker.ts): a claim the store refused was tried again after max(pollInterval, 1 s): a minute here.
  it('tries a claim the store refused again within a second, however long its pollInterval', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    let refusals = 1;
    const store: QueueStore = {
      ...base,
      claim: async (queue, options) => {
        if (refusals-- > 0) throw new StoreUnavailableError('the store is down for a moment');
        return base.claim(queue, options);
      },
    };
    const queue = createQueue<string>({ name: 'q', store, clock });
    await queue.push('a');
    const done: string[] = [];
    const errors: unknown[] = [];
    const worker = queue.process((job) => void done.push(job.payload), {
      pollInterval: 60_000,
      onError: (e) => errors.push(e),
    });
    await settle();
    expect(errors).toEqual([expect.any(StoreUnavailableError)]);
    expect(done).toEqual([]);
    await clock.advance(1000);
    await settle();
    expect(done).toEqual(['a']);
    await worker.close();
    await queue.close();
  });
});

describe('a worker renewing a lease', () => {
  // #180, #182 (worker.ts): a renewal refused after the handler had settled (its ack refused too) was reported and
  // tried again, which renewed the lease of a job nobody was running: it came back later than its lease.
  it('drops a renewal refused after the handler settled: the job comes back when its lease ends', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    let extendRefusals = 1;
    let ackRefusals = 1;
    const store: QueueStore = {
      ...base,
      // Answered a moment later, as a network store or a busy group commit does.
      extend: (id, token, leaseUntil) =>
        new Promise((resolve, reject) => {
          clock.setTimeout(() => {
            if (extendRefusals-- > 0) reject(new StoreUnavailableError('renewal refused'));
            else base.extend(id, token, leaseUntil).then(resolve, reject);
          }, 1);
        }),
      ack: async (id, token, now) => {
        if (ackRefusals-- > 0) throw new StoreUnavailableError('ack refused');
        return base.ack(id, token, now);
      },
    };
    const queue = createQueue<string>({ name: 'q', store, clock });
    const { id } = await queue.push('x');
    const errors: string[] = [];
    // The renewal at +500 is in flight when the handler settles at +500.
    const worker = queue.process(() => new Promise<void>((resolve) => clock.setTimeout(resolve, 500)), {
      leaseMs: 1000,
      pollInterval: 100,
      onError: (e) => errors.push((e as Error).message),
    });
    await settle();
    await clock.advance(500);
    await settle();
    await clock.advance(1);
    await settle();
    expect(errors).toEqual(['ack refused']);
    // The lease (to +1000) ends and the job runs again at the next poll, by +1100.
    for (let t = 0; t < 6; t++) {
      await clock.advance(100);
      await settle();
    }
    expect(await base.get(id)).toMatchObject({ status: 'processing', attempts: 2 });
    await worker.close({ timeout: 0 });
    await queue.close();
  });
});

describe('a handler past its timeout', () => {
  // #194, #197, #199, #202 (worker.ts): a synchronous handler during which the deadline passed (the clock moved inside
  // it) was acked: the race with the abort only ran for a promise result; and the TimeoutError named nothing.
  it('fails with a TimeoutError naming the job, also when the handler is synchronous', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const queue = createQueue<string>({ name: 'q', store: memoryStore(), clock, attempts: 1 });
    const { id } = await queue.push('a');
    const worker = queue.process(() => clock.advanceSync(200), { timeout: 100 });
    await settle();
    expect(await queue.get(id)).toMatchObject({
      status: 'dead',
      lastError: `TimeoutError: Job ${id} of queue "q" timed out after 100 ms; allow more time or make it faster`,
    });
    await worker.close();
    await queue.close();
  });

  // #210 (worker.ts): a handler whose signal was aborted before it returned its promise (its timeout passed inside it)
  // held its slot until that promise settled: the abort listener came too late.
  it('frees the slot of a handler whose timeout passed before it returned a promise that never settles', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const queue = createQueue<string>({ name: 'q', store: memoryStore(), clock, attempts: 1 });
    const { id } = await queue.push('a');
    const worker = queue.process(
      () => {
        clock.advanceSync(200);
        return new Promise(() => {});
      },
      { timeout: 100 },
    );
    await settle();
    expect(worker.running).toBe(0);
    expect(await queue.get(id)).toMatchObject({
      status: 'dead',
      lastError: expect.stringMatching(/^TimeoutError: /),
    });
    await worker.close();
    await queue.close();
  });

  // #216 (worker.ts): the abort listener the worker put on a job's signal stayed there after the handler settled.
  it('leaves no listener on the job signal once the handler settled', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const queue = createQueue<string>({ name: 'q', store: memoryStore(), clock });
    await queue.push('a');
    const signals: AbortSignal[] = [];
    const worker = queue.process(async (_job, { signal }) => {
      signals.push(signal);
    });
    await settle();
    expect(signals.length).toBe(1);
    expect(getEventListeners(signals[0] as AbortSignal, 'abort')).toEqual([]);
    await worker.close();
    await queue.close();
  });

  // #226, #229 (worker.ts): once the handler settled, the worker cleared its deadline timer when there was none (no
  // timeout) and its renewal timer while that renewal was in flight: timers it never set (a Clock gets its own handles).
  it('clears only timers it set when the handler settles', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const strays: unknown[] = [];
    const strict = {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms),
      clearTimeout: (handle: Parameters<typeof clock.clearTimeout>[0]) => {
        if (handle === undefined) strays.push(handle);
        else clock.clearTimeout(handle);
      },
    };
    const base = memoryStore();
    // A renewal answered a moment later: in flight when the handler settles at +500.
    const store: QueueStore = {
      ...base,
      extend: (id, token, leaseUntil) =>
        new Promise((resolve, reject) => {
          clock.setTimeout(() => base.extend(id, token, leaseUntil).then(resolve, reject), 1);
        }),
    };
    const queue = createQueue<string>({ name: 'q', store, clock: strict });
    await queue.push('a');
    const worker = queue.process(() => new Promise<void>((resolve) => clock.setTimeout(resolve, 500)), {
      leaseMs: 1000,
    });
    await settle();
    await clock.advance(500);
    await settle();
    await clock.advance(1);
    await settle();
    expect((await queue.stats()).done).toBe(1);
    expect(strays).toEqual([]);
    await worker.close();
    await queue.close();
  });
});
