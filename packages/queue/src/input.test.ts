// Bad input, secrets and half-writes, on both stores: what a caller can hand the queue that JSON, the
// store or a dashboard reading `lastError` must not choke on or leak.
import { type BackoffSpec, createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe.each(stores)('lastError on the %s store', (_name, createStore) => {
  /** Fails one single-attempt job with `error` through `next()` and returns what the store kept. */
  const lastErrorOf = async (error: unknown): Promise<string | null> => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }), attempts: 1 });
    const { id } = await queue.push('x');
    await (await queue.next())?.fail(error);
    const job = await queue.get(id);
    await store.close();
    expect(job?.status).toBe('dead');
    return job?.lastError ?? null;
  };

  it('keeps a non-Error failure by kind, never its contents (a thrown response with its headers)', async () => {
    const response = { status: 401, headers: { authorization: 'Bearer sk_live_0123456789abcdef' } };
    const stored = await lastErrorOf(response);
    expect(stored).not.toContain('sk_live');
    expect(stored).toMatch(/object/);
    // An error-like object keeps its message, as an Error does.
    expect(
      await lastErrorOf({ name: 'HttpError', message: 'upstream said 503', config: { token: 't0k3n' } }),
    ).toBe('HttpError: upstream said 503');
    expect(await lastErrorOf('plain words')).toBe('plain words');
    expect(await lastErrorOf(42)).toBe('42');
    expect(await lastErrorOf(undefined)).toBe('undefined');
  });

  it('redacts URL credentials, query strings and Authorization-style values in an error message', async () => {
    const secrets = [
      'hunter2',
      'SECRET123',
      'abc.def.ghi',
      'sid=s3ss10n',
      'k3y-v4lu3',
      'pa55w0rd',
      'ghp_tok3n',
    ];
    const message = [
      'GET https://alice:hunter2@api.example.com/v1/items?api_key=SECRET123&page=2 failed: 401',
      'Authorization: Bearer abc.def.ghi',
      'Cookie: sid=s3ss10n; theme=dark',
      '{"x-api-key":"k3y-v4lu3"}',
      'login with password=pa55w0rd',
      'clone https://ghp_tok3n@github.com/o/r.git',
    ].join('\n');
    const stored = (await lastErrorOf(new Error(message))) ?? '';
    for (const secret of secrets) expect(stored, secret).not.toContain(secret);
    // What a reader needs to debug stays.
    expect(stored).toContain('Error: GET https://[redacted]@api.example.com/v1/items?[redacted] failed: 401');
    expect(stored).toContain('Authorization: [redacted]');
    expect(stored).toContain('clone https://[redacted]@github.com/o/r.git');
    expect(await lastErrorOf(new Error('connect ECONNREFUSED 127.0.0.1:5432'))).toBe(
      'Error: connect ECONNREFUSED 127.0.0.1:5432',
    );
  });

  it('redacts a secret in a handler error the worker records, and in what onFailed/onDead hand over', async () => {
    const store = createStore();
    const clock = createFakeClock({ now: 1e12 });
    const seen: (string | null)[] = [];
    const queue = createQueue({
      name: 'q',
      store,
      clock,
      attempts: 1,
      onFailed: (job) => seen.push(job.lastError),
      onDead: (job) => seen.push(job.lastError),
    });
    const { id } = await queue.push('x');
    const worker = queue.process(() => {
      throw new Error('POST https://api.example.com/hook?token=SECRET-T0KEN failed');
    });
    await settle();
    await worker.close();
    const stored = (await queue.get(id))?.lastError;
    expect(stored).toBe('Error: POST https://api.example.com/hook?[redacted] failed');
    expect(seen).toEqual([stored, stored]);
    await store.close();
  });

  it('records an error whose message getter throws, instead of fail() throwing and leaving the job leased', async () => {
    const hostile = Object.defineProperty(new Error(), 'message', {
      get() {
        throw new Error('getter');
      },
    });
    expect(await lastErrorOf(hostile)).toBe('an error whose name or message could not be read');
    const store = createStore();
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }), attempts: 1 });
    const { id } = await queue.push('x');
    const worker = queue.process(() => {
      throw hostile;
    });
    await settle();
    await worker.close();
    expect((await queue.get(id))?.status).toBe('dead');
    await store.close();
  });
});

describe.each(stores)('push options on the %s store', (_name, createStore) => {
  it('refuses a backoff field its type does not have (a typo, a BigInt, a cycle, a blob) with InvalidArgumentError', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }) });
    const cyclic: { type: string; delay: number; self?: unknown } = { type: 'constant', delay: 5 };
    cyclic.self = cyclic;
    for (const [backoff, field] of [
      [{ type: 'exponential', delay: 5, maxDelay: 100 }, 'backoff.maxDelay'],
      [{ type: 'constant', delay: 5, max: 1n }, 'backoff.max'],
      [{ type: 'constant', delay: 5, note: 'x'.repeat(100_000) }, 'backoff.note'],
      [cyclic, 'backoff.self'],
    ] as const) {
      const error = await queue.push(1, { backoff: backoff as never }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: field });
    }
    expect((await queue.stats()).total).toBe(0);
    // Every field a type has is still accepted and kept with the job.
    const job = await queue.push(1, {
      backoff: { type: 'exponential', delay: 5, factor: 3, max: 100, jitter: 'none' },
    });
    await (await queue.next())?.fail(new Error('x'));
    expect((await queue.get(job.id))?.runAt).toBe(new Date(1e12 + 5).toISOString());
    await store.close();
  });
});

describe.each(stores)('reads on the %s store', (_name, createStore) => {
  it('refuses a list() status that is not a job status instead of answering an empty page', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }) });
    await queue.push(1);
    for (const status of ['bogus', 'Pending', 5, null])
      await expect(queue.list({ status: status as never })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        argument: 'status',
      });
    expect(await queue.list({ status: 'pending' })).toHaveLength(1);
    expect(await queue.list({ status: undefined })).toHaveLength(1);
    await store.close();
  });
});

describe.each(stores)('half-writes and handler shapes on the %s store', (_name, createStore) => {
  it('pushMany with one bad payload among good ones stores none of them and names its index', async () => {
    const store = createStore();
    const queue = createQueue<unknown>({ name: 'q', store, maxPayloadBytes: 64 });
    for (const [bad, code] of [
      [10n, 'ERR_PAYLOAD_INVALID'],
      [new Date(0), 'ERR_PAYLOAD_INVALID'],
      [Number.NaN, 'ERR_PAYLOAD_INVALID'],
      [undefined, 'ERR_PAYLOAD_INVALID'],
      ['x'.repeat(100), 'ERR_PAYLOAD_TOO_LARGE'],
    ] as const) {
      const error = await queue.pushMany([1, { ok: true }, bad, 4]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code, index: 2 });
    }
    expect((await queue.stats()).total).toBe(0);
    await store.close();
  });

  it('fails the attempt of a handler that throws synchronously and acks one that returns a non-promise', async () => {
    const store = createStore();
    const clock = createFakeClock({ now: 1e12 });
    const handlers: Record<string, () => unknown> = {
      'throws sync': () => {
        throw new Error('sync');
      },
      'throws a string': () => {
        throw 'no';
      },
      'returns 5': () => 5,
      'returns null': () => null,
      'returns a rejecting thenable': () => ({
        // biome-ignore lint/suspicious/noThenProperty: a handler may return any thenable, not only a Promise
        then: (_: unknown, reject: (e: unknown) => void) => reject(new Error('thenable')),
      }),
    };
    const outcome: Record<string, unknown> = {};
    for (const [name, handler] of Object.entries(handlers)) {
      const queue = createQueue({ name, store, clock, attempts: 1 });
      const { id } = await queue.push(name);
      const worker = queue.process(handler);
      await settle();
      await worker.close();
      const job = await queue.get(id);
      outcome[name] = [job?.status, job?.lastError];
    }
    expect(outcome).toEqual({
      'throws sync': ['dead', 'Error: sync'],
      'throws a string': ['dead', 'no'],
      'returns 5': ['done', null],
      'returns null': ['done', null],
      'returns a rejecting thenable': ['dead', 'Error: thenable'],
    });
    await store.close();
  });
});

describe('createQueue and process', () => {
  it('refuse a clock, random, logger or hook of the wrong shape up front, not with a TypeError mid-job', () => {
    const store = memoryStore();
    for (const [option, value] of [
      ['clock', {}],
      ['clock', Date],
      ['random', 0.5],
      ['logger', {}],
      ['logger', console.log],
      ['onCompleted', 'log'],
      ['onFailed', {}],
      ['onDead', 1],
      ['onStalled', true],
    ] as const)
      expect(() => createQueue({ name: 'q', store, [option]: value } as never), option).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: option }),
      );
    const queue = createQueue({ name: 'q', store });
    for (const [option, value] of [
      ['onError', 'log'],
      ['signal', {}],
      ['signal', 'abort'],
    ] as const)
      expect(() => queue.process(() => {}, { [option]: value } as never), option).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: option }),
      );
  });
});

describe('a settle the store rejects', () => {
  it('leaves the job to queue.close(), which returns it to pending', async () => {
    const base = memoryStore();
    const store: QueueStore = {
      ...base,
      ack: () => Promise.reject(Object.assign(new Error('locked'), { code: 'ERR_STORE_LOCKED' })),
    };
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }) });
    await queue.push('x');
    const job = await queue.next();
    await expect(job?.ack()).rejects.toThrow('locked');
    await queue.close({ timeout: 0 });
    expect(await queue.stats()).toMatchObject({ pending: 1, processing: 0 });
  });
});

describe.each(stores)('durations longer than a timer holds on the %s store', (_name, createStore) => {
  const DAY = 86_400_000;

  it('cleans jobs finished more than 30 days ago (a delay or age is stored, not a setTimeout)', async () => {
    const store = createStore();
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const queue = createQueue<string>({ name: 'q', store, clock });
    const old = await queue.push('old');
    await (await queue.next())?.ack();
    clock.setWallClock(clock.now() + 20 * DAY);
    await queue.push('recent');
    await (await queue.next())?.ack();
    clock.setWallClock(clock.now() + 11 * DAY);
    expect(await queue.clean({ status: 'done', olderThan: 30 * DAY })).toBe(1);
    expect(await queue.get(old.id)).toBe(null);
    expect((await queue.list()).map((j) => j.payload)).toEqual(['recent']);
    await store.close();
  });

  it('delays a job by 30 days, and refuses a delay past what a Date can hold', async () => {
    const store = createStore();
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const queue = createQueue<string>({ name: 'q', store, clock });
    const job = await queue.push('reminder', { delay: 30 * DAY });
    expect(job.runAt).toBe('2030-01-31T00:00:00.000Z');
    expect(await queue.next()).toBe(null);
    clock.setWallClock(clock.now() + 30 * DAY);
    expect((await queue.next())?.payload).toBe('reminder');
    await expect(queue.push('never', { delay: 8.64e15 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    expect((await queue.stats()).total).toBe(1);
    await store.close();
  });

  it("fails a job with fail()'s delay of 30 days, as push takes, and refuses one past what a Date can hold", async () => {
    const store = createStore();
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const queue = createQueue<string>({ name: 'q', store, clock });
    await queue.pushMany(['a', 'b']);
    const a = await queue.next();
    // Before: InvalidArgumentError 'Invalid fail delay: expected a number of ms from 0 to 2147483647'.
    await a?.fail(new Error('later'), { delay: 30 * DAY });
    expect((await queue.get(a?.id ?? ''))?.runAt).toBe('2030-01-31T00:00:00.000Z');
    const b = await queue.next();
    await expect(b?.fail(new Error('never'), { delay: 8.64e15 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      argument: 'fail delay',
    });
    await b?.ack(); // the refused fail() left the lease to its holder
    expect(await queue.next()).toBe(null);
    clock.setWallClock(clock.now() + 30 * DAY - 1);
    expect(await queue.next()).toBe(null);
    clock.setWallClock(clock.now() + 1);
    expect((await queue.next())?.payload).toBe('a');
    await store.close();
  });

  it("retries after a stored backoff spec whose delay, step and max pass 24.8 days, as push's delay does", async () => {
    const store = createStore();
    const T0 = Date.UTC(2030, 0, 1);
    const clock = createFakeClock({ now: T0 });
    const queue = createQueue<string>({ name: 'q', store, clock, attempts: 4, random: () => 0.5 });
    const days = async (backoff: BackoffSpec): Promise<number[]> => {
      // Before: push threw InvalidArgumentError for each spec ('backoff.delay', 'linear step', 'exponential max').
      const { id } = await queue.push('x', { backoff });
      const delays: number[] = [];
      for (let at = clock.now(); ; ) {
        const job = await queue.next();
        if (job === null) break;
        await job.fail(new Error('again'));
        const runAt = Date.parse((await queue.get(id))?.runAt ?? '');
        if ((await queue.get(id))?.status === 'dead') break;
        delays.push((runAt - at) / DAY);
        clock.setWallClock(runAt);
        at = runAt;
      }
      return delays;
    };
    expect(await days(30 * DAY)).toEqual([30, 30, 30]);
    expect(await days({ type: 'constant', delay: 25 * DAY })).toEqual([25, 25, 25]);
    expect(await days({ type: 'linear', delay: 10 * DAY, step: 30 * DAY, max: 60 * DAY })).toEqual([
      10, 40, 60,
    ]);
    expect(
      await days({ type: 'exponential', delay: 20 * DAY, factor: 2, max: 60 * DAY, jitter: 'none' }),
    ).toEqual([20, 40, 60]);
    // random 0.5: min(max, delay + (3 x delay - delay) / 2) = min(45, 60) days.
    expect(await days({ type: 'decorrelated', delay: 30 * DAY, max: 45 * DAY })).toEqual([45, 45, 45]);
    await expect(
      queue.push('x', { backoff: { type: 'exponential', delay: 1, max: 8.64e15 + 1 } }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'backoff.max' });
    await store.close();
  });

  it.each([
    ['a stored spec', 'spec'],
    ['a default backoff function', 'function'],
  ])('caps a retry past what a Date can hold at the last instant it holds (%s)', async (_what, kind) => {
    const store = createStore();
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const queue = createQueue<string>({ name: 'q', store, clock, backoff: () => 1e300 });
    await queue.push('x', kind === 'spec' ? { backoff: 8.64e15 } : undefined);
    const job = await queue.next();
    // Before: the spec was refused at push; the function's retry rejected with 'RangeError: Invalid time value'
    // after the store had committed it.
    await job?.fail(new Error('again'));
    expect((await queue.get(job?.id ?? ''))?.runAt).toBe('+275760-09-13T00:00:00.000Z');
    await store.close();
  });
});
