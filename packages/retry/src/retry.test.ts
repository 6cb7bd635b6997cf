import { getEventListeners } from 'node:events';
import { InvalidArgumentError, isIntegError, TimeoutError } from '@integ/core';
import {
  type AttemptContext,
  type BackoffContext,
  constant,
  exponential,
  type GiveUpEvent,
  isRetryable,
  isRetryError,
  RejectedResultError,
  RetryBudgetError,
  RetryError,
  type RetryEvent,
  retry,
  retryBudget,
  withRetry,
} from '@integ/retry';
import { createFakeClock, type FakeClock, seededRandom, trackedAbortController } from '@integ/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from './settle.test-support.js';

async function failure(promise: Promise<unknown>, clock: FakeClock): Promise<unknown> {
  const result = await run(promise, clock);
  if (result.ok) throw new Error('expected a rejection');
  return result.error;
}

const boom = (message = 'boom') => new Error(message);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('retry', () => {
  it('resolves with the value of the first successful call, calling fn once with { attempt, signal }', async () => {
    const calls: AttemptContext[] = [];
    const value = await retry((context) => {
      calls.push(context);
      return Promise.resolve(42);
    });
    expect(value).toBe(42);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.attempt).toBe(1);
    expect(calls[0]?.signal).toBeInstanceOf(AbortSignal);
    expect(calls[0]?.signal.aborted).toBe(false);
  });

  it('accepts a function that returns a plain value', async () => {
    expect(await retry(() => 'sync')).toBe('sync');
  });

  it('makes 3 attempts by default and rejects with RetryError (ERR_RETRY_EXHAUSTED) keeping every error', async () => {
    const clock = createFakeClock();
    const errors = [boom('1'), boom('2'), boom('3')];
    let calls = 0;
    const error = await failure(
      retry(
        () => {
          throw errors[calls++];
        },
        { clock },
      ),
      clock,
    );
    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(RetryError);
    const retryError = error as RetryError;
    expect(retryError.code).toBe('ERR_RETRY_EXHAUSTED');
    expect(retryError.attempts).toBe(3);
    expect(retryError.errors).toEqual(errors);
    expect(retryError.cause).toBe(errors[2]);
    expect(retryError.reason).toBe('attempts');
    expect(retryError.retryable).toBe(false);
    expect(isRetryError(error)).toBe(true);
    expect(isIntegError(error, 'ERR_RETRY_EXHAUSTED')).toBe(true);
  });

  it('retries thrown primitives, null and undefined like any failure, keeping them in errors', async () => {
    const clock = createFakeClock();
    const thrown = ['down', null, undefined];
    let calls = 0;
    const error = await failure(
      retry(
        () => {
          throw thrown[calls++];
        },
        { clock, backoff: constant(5) },
      ),
      clock,
    );
    expect(calls).toBe(3);
    expect(clock.now()).toBe(10);
    expect((error as RetryError).errors).toEqual(thrown);
    expect((error as RetryError).reason).toBe('attempts');
  });

  it('counts every call in attempts: attempts 1 never retries', async () => {
    const fn = vi.fn(async () => {
      throw boom();
    });
    const error = await retry(fn, { attempts: 1 }).catch((e: unknown) => e);
    expect(fn).toHaveBeenCalledTimes(1);
    expect((error as RetryError).attempts).toBe(1);
  });

  it('succeeds on a later attempt, passing the attempt number', async () => {
    const clock = createFakeClock();
    const seen: number[] = [];
    const result = await run(
      retry(
        ({ attempt }) => {
          seen.push(attempt);
          if (attempt < 3) throw boom();
          return 'ok';
        },
        { clock, attempts: 5 },
      ),
      clock,
    );
    expect(result).toEqual({ ok: true, value: 'ok' });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('waits the backoff delay between attempts, on the injected clock', async () => {
    const clock = createFakeClock();
    const starts: number[] = [];
    await failure(
      retry(
        () => {
          starts.push(clock.now());
          throw boom();
        },
        { clock, attempts: 4, backoff: constant(100) },
      ),
      clock,
    );
    expect(starts).toEqual([0, 100, 200, 300]);
  });

  it('uses exponential backoff with full jitter by default, drawing from the injected random', async () => {
    const clock = createFakeClock();
    const delays: number[] = [];
    await failure(
      retry(
        () => {
          throw boom();
        },
        { clock, attempts: 4, random: () => 0.5, onRetry: ({ delay }) => delays.push(delay) },
      ),
      clock,
    );
    expect(delays).toEqual([50, 100, 200]);
  });

  it('gives a backoff the failed attempt, the previous delay and the random source', async () => {
    const clock = createFakeClock();
    const contexts: BackoffContext[] = [];
    const random = () => 0.25;
    await failure(
      retry(
        () => {
          throw boom();
        },
        {
          clock,
          attempts: 3,
          random,
          backoff: (context) => {
            contexts.push(context);
            return 10 * context.attempt;
          },
        },
      ),
      clock,
    );
    // `random` draws from the injected source, each value checked to be in [0, 1] (review-7.test.ts).
    expect(contexts).toEqual([
      { attempt: 1, previousDelay: 0, random: expect.any(Function) },
      { attempt: 2, previousDelay: 10, random: expect.any(Function) },
    ]);
    expect(contexts.map((context) => context.random())).toEqual([0.25, 0.25]);
  });

  it.each([[Number.NaN], [-1], ['5']])(
    'rejects with InvalidArgumentError when a backoff returns %j (not a delay)',
    async (result) => {
      const onGiveUp = vi.fn();
      const error = await retry(
        () => {
          throw boom();
        },
        { backoff: () => result as number, onGiveUp },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('backoff result');
      expect(onGiveUp).not.toHaveBeenCalled();
    },
  );

  it('caps a backoff result above 2^31 - 1 ms, which a timer would fire at once', async () => {
    const clock = createFakeClock();
    const starts: number[] = [];
    await run(
      retry(
        () => {
          starts.push(clock.now());
          throw boom();
        },
        { clock, attempts: 2, backoff: () => Number.POSITIVE_INFINITY },
      ),
      clock,
    );
    expect(starts).toEqual([0, 2 ** 31 - 1]);
  });

  describe('what is retried', () => {
    it('does not retry an error marked retryable: false and rejects with it as is', async () => {
      const error = Object.assign(boom('bad request'), { retryable: false });
      const fn = vi.fn(async () => {
        throw error;
      });
      await expect(retry(fn)).rejects.toBe(error);
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it('does not retry an @integ error with retryable false (InvalidArgumentError)', async () => {
      const error = new InvalidArgumentError('id', 'a uuid', 'x');
      const fn = vi.fn(async () => {
        throw error;
      });
      await expect(retry(fn)).rejects.toBe(error);
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it('does not retry an AbortError thrown by the function', async () => {
      const error = new DOMException('stopped', 'AbortError');
      const fn = vi.fn(async () => {
        throw error;
      });
      await expect(retry(fn)).rejects.toBe(error);
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it('retries a TimeoutError (retryable) and plain errors', () => {
      expect(isRetryable(new TimeoutError(5))).toBe(true);
      expect(isRetryable(new TypeError('fetch failed'))).toBe(true);
      expect(isRetryable('a string')).toBe(true);
      expect(isRetryable({ retryable: false })).toBe(false);
    });

    it('asks retryIf with the error and the attempt context, and rethrows what it declines', async () => {
      const clock = createFakeClock();
      const seen: [unknown, number][] = [];
      const errors = [boom('transient'), boom('fatal')];
      let call = 0;
      const error = await failure(
        retry(
          () => {
            throw errors[call++];
          },
          {
            clock,
            attempts: 5,
            retryIf: (err, { attempt }) => {
              seen.push([err, attempt]);
              return (err as Error).message === 'transient';
            },
          },
        ),
        clock,
      );
      expect(error).toBe(errors[1]);
      expect(seen).toEqual([
        [errors[0], 1],
        [errors[1], 2],
      ]);
    });

    it('accepts an async retryIf', async () => {
      const clock = createFakeClock();
      const fn = vi.fn(async () => {
        throw boom();
      });
      await failure(retry(fn, { clock, retryIf: async () => false }), clock);
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it('retryIf cannot widen the default: aborts are never retried', async () => {
      const fn = vi.fn(async () => {
        throw new DOMException('stopped', 'AbortError');
      });
      await expect(retry(fn, { retryIf: () => true })).rejects.toMatchObject({ name: 'AbortError' });
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it('retries a value that retryOnResult rejects and resolves with the first accepted one', async () => {
      const clock = createFakeClock();
      const values = [503, 503, 200];
      let call = 0;
      const result = await run(
        retry(() => values[call++] as number, { clock, retryOnResult: (status) => status >= 500 }),
        clock,
      );
      expect(result).toEqual({ ok: true, value: 200 });
      expect(call).toBe(3);
    });

    it('cancels the body of each Response it turns down and retries, not of the one it returns or gives up on', async () => {
      const clock = createFakeClock();
      const responses: Response[] = [];
      const fetchLike = (status: number) => () => {
        const actual = responses.length < 2 ? 503 : status;
        const response = new Response(`status ${actual}`, { status: actual });
        responses.push(response);
        return response;
      };
      const ok = await run(retry(fetchLike(200), { clock, retryOnResult: (r) => r.status === 503 }), clock);
      expect(ok.ok && ok.value.status).toBe(200);
      await expect(responses[0]!.text()).rejects.toThrow(TypeError);
      await expect(responses[1]!.text()).rejects.toThrow(TypeError);
      expect(await responses[2]!.text()).toBe('status 200');

      // The last one turned down is the caller's, in RejectedResultError.value: still readable.
      responses.length = 0;
      const error = await failure(
        retry(fetchLike(503), { clock, attempts: 2, retryOnResult: (r) => r.status === 503 }),
        clock,
      );
      const last = ((error as RetryError).cause as RejectedResultError).value as Response;
      expect(last).toBe(responses[1]);
      expect(await last.text()).toBe('status 503');
      // A body the caller is reading (locked) is left alone.
      responses.length = 0;
      const reads: Promise<string>[] = [];
      await run(
        retry(fetchLike(200), {
          clock,
          retryOnResult: (r) => {
            if (r.status !== 503) return false;
            reads.push(r.text()); // still reading when retry moves on
            return true;
          },
        }),
        clock,
      );
      expect(await Promise.all(reads)).toEqual(['status 503', 'status 503']);
    });

    it('cancels the body of a Response whose retryOnResult threw, when it retries or the attempt was cut', async () => {
      const clock = createFakeClock();
      const responses: Response[] = [];
      const respond = () => {
        const response = new Response(`body ${responses.length}`, { status: 502 });
        responses.push(response);
        return response;
      };
      // A predicate that throws on a 502 (say, a proxy's HTML page it cannot parse): a retried failure.
      const judge = (r: Response) => {
        if (r.status === 502) throw new Error('not JSON');
        return false;
      };
      const error = await failure(retry(respond, { clock, attempts: 3, retryOnResult: judge }), clock);
      expect((error as RetryError).errors.map((e) => (e as Error).message)).toEqual(
        Array(3).fill('not JSON'),
      );
      expect(responses).toHaveLength(3);
      // Retried: nobody reads those two; the last is the caller's (as a turned-down value on giving up).
      await expect(responses[0]!.text()).rejects.toThrow(TypeError);
      await expect(responses[1]!.text()).rejects.toThrow(TypeError);
      expect(await responses[2]!.text()).toBe('body 2');
      // Async too, and a predicate still deciding when the timeout cut the attempt.
      responses.length = 0;
      const cut = retry(respond, {
        clock,
        timeout: 50,
        attempts: 1,
        retryOnResult: () =>
          new Promise<boolean>((_, reject) => clock.setTimeout(() => reject(new Error('late')), 100)),
      });
      expect(((await failure(cut, clock)) as RetryError).cause).toBeInstanceOf(TimeoutError);
      await clock.runAll();
      await expect(responses[0]!.text()).rejects.toThrow(TypeError);
    });

    it('cancels the body of a Response it turned down when the caller aborts while retryIf decides', async () => {
      const clock = createFakeClock();
      const controller = new AbortController();
      const responses: Response[] = [];
      const result = retry(
        () => {
          const response = new Response('busy', { status: 503 });
          responses.push(response);
          return response;
        },
        {
          clock,
          signal: controller.signal,
          retryOnResult: (r) => r.status === 503,
          retryIf: () => new Promise<boolean>((resolve) => clock.setTimeout(() => resolve(true), 100)),
        },
      );
      clock.setTimeout(() => controller.abort('caller left'), 50);
      expect(await failure(result, clock)).toBe('caller left');
      // The caller got its abort reason, not the Response: nobody can read its body any more.
      expect(responses).toHaveLength(1);
      await expect(responses[0]!.text()).rejects.toThrow(TypeError);
    });

    it('gives up on rejected results with RetryError whose cause is a RejectedResultError carrying the value', async () => {
      const clock = createFakeClock();
      const error = await failure(
        retry(() => ({ status: 503 }), { clock, attempts: 2, retryOnResult: async (r) => r.status === 503 }),
        clock,
      );
      expect(error).toBeInstanceOf(RetryError);
      const cause = (error as RetryError).cause;
      expect(cause).toBeInstanceOf(RejectedResultError);
      expect((cause as RejectedResultError).value).toEqual({ status: 503 });
      expect((cause as RejectedResultError).code).toBe('ERR_RETRY_RESULT_REJECTED');
    });
  });

  describe('hooks', () => {
    it('calls onRetry before each wait with { attempt, delay, error }, and onGiveUp once', async () => {
      const clock = createFakeClock();
      const retries: RetryEvent[] = [];
      const giveUps: GiveUpEvent[] = [];
      const errors = [boom('1'), boom('2'), boom('3')];
      let call = 0;
      await failure(
        retry(
          () => {
            throw errors[call++];
          },
          {
            clock,
            backoff: constant(7),
            onRetry: (event) => retries.push(event),
            onGiveUp: (event) => giveUps.push(event),
          },
        ),
        clock,
      );
      expect(retries).toEqual([
        { attempt: 1, delay: 7, error: errors[0] },
        { attempt: 2, delay: 7, error: errors[1] },
      ]);
      expect(giveUps).toEqual([{ attempts: 3, error: errors[2], reason: 'attempts' }]);
    });

    it('reports a non-retryable failure to onGiveUp', async () => {
      const error = Object.assign(boom(), { retryable: false });
      const onGiveUp = vi.fn();
      await expect(retry(() => Promise.reject(error), { onGiveUp })).rejects.toBe(error);
      expect(onGiveUp).toHaveBeenCalledWith({ attempts: 1, error, reason: 'not-retryable' });
    });
  });

  describe('per-attempt timeout', () => {
    it('fails a slow attempt with a retryable TimeoutError, aborts its signal, and retries', async () => {
      const clock = createFakeClock();
      const signals: AbortSignal[] = [];
      const starts: number[] = [];
      const result = await run(
        retry(
          ({ attempt, signal }) => {
            signals.push(signal);
            starts.push(clock.now());
            // the first attempt never settles; the second answers at once
            return attempt === 1 ? new Promise<string>(() => {}) : 'second';
          },
          { clock, timeout: 50, backoff: constant(10) },
        ),
        clock,
      );
      expect(result).toEqual({ ok: true, value: 'second' });
      expect(starts).toEqual([0, 60]);
      expect(signals[0]?.aborted).toBe(true);
      expect(signals[0]?.reason).toBeInstanceOf(TimeoutError);
      expect(((signals[0] as AbortSignal).reason as TimeoutError).timeoutMs).toBe(50);
      expect(signals[1]?.aborted).toBe(false);
      expect(clock.pendingTimers).toBe(0);
    });

    it('keeps each TimeoutError in RetryError.errors when every attempt times out', async () => {
      const clock = createFakeClock();
      const error = await failure(
        retry(() => new Promise(() => {}), { clock, timeout: 20, attempts: 2, backoff: constant(0) }),
        clock,
      );
      expect((error as RetryError).errors.map((e) => (e as TimeoutError).code)).toEqual([
        'ERR_TIMEOUT',
        'ERR_TIMEOUT',
      ]);
      expect(clock.now()).toBe(40);
    });

    it('cancels the body of a Response that arrives after its attempt was cut (fn ignored its signal)', async () => {
      const clock = createFakeClock();
      const responses: Response[] = [];
      // Like `() => fetch(url)` without the signal: the response comes after the timeout.
      const late = () =>
        new Promise<Response>((resolve) => {
          clock.setTimeout(() => {
            const response = new Response(`late ${responses.length}`);
            responses.push(response);
            resolve(response);
          }, 80);
        });
      const error = await failure(
        retry(late, { clock, timeout: 50, attempts: 2, backoff: constant(0) }),
        clock,
      );
      expect((error as RetryError).errors).toHaveLength(2);
      await clock.runAll();
      expect(responses).toHaveLength(2);
      for (const response of responses) await expect(response.text()).rejects.toThrow(TypeError);
      // With retryOnResult too, and also when the caller's signal cut it; a value in time is left alone.
      responses.length = 0;
      const controller = new AbortController();
      const aborted = retry(late, { clock, signal: controller.signal, retryOnResult: () => false });
      clock.setTimeout(() => controller.abort(new Error('stop')), 10);
      expect(await failure(aborted, clock)).toEqual(new Error('stop'));
      await clock.runAll();
      await expect(responses[0]!.text()).rejects.toThrow(TypeError);
      const inTime = await run(retry(late, { clock, timeout: 100 }), clock);
      expect(inTime.ok && (await inTime.value.text())).toBe('late 1');
      // Turned down by a retryOnResult that was still deciding when the timeout cut the attempt.
      const judged: Response[] = [];
      const slowJudge = retry(() => new Response('judged'), {
        clock,
        timeout: 50,
        attempts: 1,
        retryOnResult: (response) => {
          judged.push(response);
          return new Promise<boolean>((resolve) => clock.setTimeout(() => resolve(true), 100));
        },
      });
      expect(((await failure(slowJudge, clock)) as RetryError).cause).toBeInstanceOf(TimeoutError);
      await clock.runAll();
      await expect(judged[0]!.text()).rejects.toThrow(TypeError);
    });

    it('clears the attempt timer when the attempt finishes first', async () => {
      const clock = createFakeClock();
      await run(
        retry(() => 1, { clock, timeout: 1000 }),
        clock,
      );
      expect(clock.now()).toBe(0);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('deadline', () => {
    it('does not start an attempt that would begin at or after the deadline', async () => {
      const clock = createFakeClock();
      const starts: number[] = [];
      const error = await failure(
        retry(
          () => {
            starts.push(clock.now());
            throw boom();
          },
          { clock, attempts: 10, backoff: constant(400), deadline: 1000 },
        ),
        clock,
      );
      expect(starts).toEqual([0, 400, 800]);
      expect(error).toBeInstanceOf(RetryError);
      expect((error as RetryError).reason).toBe('deadline');
      expect((error as RetryError).code).toBe('ERR_RETRY_EXHAUSTED');
      // gave up at once instead of sleeping into the deadline
      expect(clock.now()).toBe(800);
    });

    it('starts no attempt after the deadline even when the wait fires late', async () => {
      const fake = createFakeClock();
      // A busy event loop: every timer fires 500 ms late.
      const clock = {
        ...fake,
        setTimeout: (callback: () => void, ms: number) => fake.setTimeout(callback, ms + 500),
      };
      const starts: number[] = [];
      const onGiveUp = vi.fn();
      const error = await failure(
        retry(
          () => {
            starts.push(fake.now());
            throw boom();
          },
          { clock, backoff: constant(600), deadline: 1000, onGiveUp },
        ),
        fake,
      );
      expect(starts).toEqual([0]);
      expect((error as RetryError).reason).toBe('deadline');
      expect((error as RetryError).attempts).toBe(1);
      expect(onGiveUp).toHaveBeenCalledWith(expect.objectContaining({ reason: 'deadline', attempts: 1 }));
    });

    it('aborts the running attempt when the deadline passes', async () => {
      const clock = createFakeClock();
      let signal: AbortSignal | undefined;
      const error = await failure(
        retry(
          (context) => {
            signal = context.signal;
            return new Promise(() => {});
          },
          { clock, deadline: 500, timeout: 10_000 },
        ),
        clock,
      );
      expect(clock.now()).toBe(500);
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBeInstanceOf(TimeoutError);
      expect((error as RetryError).reason).toBe('deadline');
      expect((error as RetryError).cause).toBe(signal?.reason);
      expect(clock.pendingTimers).toBe(0);
    });

    it('caps the per-attempt timeout by the time left', async () => {
      const clock = createFakeClock();
      const starts: number[] = [];
      await failure(
        retry(
          () => {
            starts.push(clock.now());
            return new Promise(() => {});
          },
          { clock, deadline: 250, timeout: 100, backoff: constant(0), attempts: 10 },
        ),
        clock,
      );
      expect(starts).toEqual([0, 100, 200]);
      expect(clock.now()).toBe(250);
    });
  });

  describe('abort', () => {
    it('never calls fn when the signal is already aborted', async () => {
      const controller = new AbortController();
      const reason = new Error('shutdown');
      controller.abort(reason);
      const fn = vi.fn();
      await expect(retry(fn, { signal: controller.signal })).rejects.toBe(reason);
      expect(fn).not.toHaveBeenCalled();
    });

    it('leaves no timer or listener on the caller signal after attempts and waits that ran to the end', async () => {
      const clock = createFakeClock();
      const tracked = trackedAbortController();
      const { signal } = tracked;
      let calls = 0;
      const result = await run(
        retry(
          async () => {
            if (++calls < 3) throw boom();
            return 'done';
          },
          { clock, signal, timeout: 1000, backoff: constant(10) },
        ),
        clock,
      );
      expect(result).toEqual({ ok: true, value: 'done' });
      expect(clock.now()).toBe(20);
      expect(tracked.listeners).toBe(0);
      expect(clock.pendingTimers).toBe(0);
    });

    it('aborts the running attempt at once with the caller reason, leaving no timer or listener', async () => {
      const clock = createFakeClock();
      const tracked = trackedAbortController();
      const { controller, signal } = tracked;
      let attemptSignal: AbortSignal | undefined;
      const promise = retry(
        (context) => {
          attemptSignal = context.signal;
          return new Promise(() => {});
        },
        { clock, signal, timeout: 5000 },
      );
      const settled = promise.catch((e: unknown) => e);
      await clock.advance(10);
      expect(tracked.listeners).toBe(1);
      const reason = new Error('user left');
      controller.abort(reason);
      expect(await settled).toBe(reason);
      expect(attemptSignal?.aborted).toBe(true);
      expect(attemptSignal?.reason).toBe(reason);
      expect(clock.pendingTimers).toBe(0);
      expect(tracked.listeners).toBe(0);
    });

    it('aborts the pending wait at once and starts no further attempt', async () => {
      const clock = createFakeClock();
      const tracked = trackedAbortController();
      const { controller, signal } = tracked;
      const fn = vi.fn(async () => {
        throw boom();
      });
      const onGiveUp = vi.fn();
      const settled = retry(fn, { clock, signal, backoff: constant(10_000), onGiveUp }).catch(
        (e: unknown) => e,
      );
      await clock.advance(100);
      expect(fn).toHaveBeenCalledTimes(1);
      expect(clock.pendingTimers).toBe(1);
      controller.abort();
      const error = await settled;
      expect((error as DOMException).name).toBe('AbortError');
      expect(clock.pendingTimers).toBe(0);
      expect(tracked.listeners).toBe(0);
      await clock.runAll();
      expect(fn).toHaveBeenCalledTimes(1);
      expect(onGiveUp).toHaveBeenCalledWith(expect.objectContaining({ reason: 'aborted', attempts: 1 }));
    });

    it('rejects with the abort reason, not a RetryError, when fn fails because of the abort', async () => {
      const clock = createFakeClock();
      const controller = new AbortController();
      const settled = retry(
        ({ signal }) =>
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error('socket closed'))),
          ),
        { clock, signal: controller.signal },
      ).catch((e: unknown) => e);
      await clock.advance(1);
      controller.abort('stop');
      expect(await settled).toBe('stop');
    });

    it('starts no attempt after an abort from inside a hook, even with no wait', async () => {
      const clock = createFakeClock();
      const controller = new AbortController();
      const fn = vi.fn(async () => {
        throw boom();
      });
      const error = await failure(
        retry(fn, {
          clock,
          signal: controller.signal,
          backoff: constant(0),
          onRetry: () => controller.abort('enough'),
        }),
        clock,
      );
      expect(error).toBe('enough');
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it.each([[0], [100]])(
      'reports an abort from inside onRetry (wait %i ms) to onGiveUp with the attempts made and the last failure',
      async (wait) => {
        const clock = createFakeClock();
        const controller = new AbortController();
        const failureError = boom();
        const onGiveUp = vi.fn();
        const error = await failure(
          retry(
            async () => {
              throw failureError;
            },
            {
              clock,
              signal: controller.signal,
              backoff: constant(wait),
              onRetry: () => controller.abort('enough'),
              onGiveUp,
            },
          ),
          clock,
        );
        expect(error).toBe('enough');
        expect(onGiveUp).toHaveBeenCalledTimes(1);
        expect(onGiveUp).toHaveBeenCalledWith({ attempts: 1, error: failureError, reason: 'aborted' });
        expect(clock.pendingTimers).toBe(0);
      },
    );
  });

  describe('server hints', () => {
    it('waits retryAfterMs from the error instead of the backoff, without jitter', async () => {
      const clock = createFakeClock();
      const starts: number[] = [];
      await run(
        retry(
          ({ attempt }) => {
            starts.push(clock.now());
            if (attempt === 1) throw Object.assign(boom('429'), { retryAfterMs: 1234 });
            return 'ok';
          },
          { clock, backoff: exponential({ jitter: 'full' }), random: () => 0 },
        ),
        clock,
      );
      expect(starts).toEqual([0, 1234]);
    });

    it('caps a hint at maxRetryAfter', async () => {
      const clock = createFakeClock();
      const delays: number[] = [];
      await run(
        retry(
          ({ attempt }) => {
            if (attempt === 1) throw Object.assign(boom(), { retryAfterMs: 3_600_000 });
            return 1;
          },
          { clock, maxRetryAfter: 5000, onRetry: ({ delay }) => delays.push(delay) },
        ),
        clock,
      );
      expect(delays).toEqual([5000]);
    });

    it('waits maxRetryAfter, not the backoff, for a Retry-After of 13 or more digits', async () => {
      const clock = createFakeClock();
      const delays: number[] = [];
      await run(
        retry(
          ({ attempt }) => {
            if (attempt === 1)
              throw new Response(null, { status: 503, headers: { 'Retry-After': '1234567890123' } });
            return 1;
          },
          { clock, backoff: constant(100), onRetry: ({ delay }) => delays.push(delay) },
        ),
        clock,
      );
      expect(delays).toEqual([60_000]);
    });

    it('reads Retry-After seconds from a thrown Response', async () => {
      const clock = createFakeClock();
      const delays: number[] = [];
      await run(
        retry(
          ({ attempt }) => {
            if (attempt === 1) throw new Response(null, { status: 503, headers: { 'Retry-After': '2' } });
            return 1;
          },
          { clock, onRetry: ({ delay }) => delays.push(delay) },
        ),
        clock,
      );
      expect(delays).toEqual([2000]);
    });

    it('reads an HTTP-date Retry-After from error.response, relative to the clock', async () => {
      const clock = createFakeClock({ now: Date.parse('2026-01-01T00:00:00Z') });
      const delays: number[] = [];
      const response = new Response(null, {
        status: 429,
        headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' },
      });
      await run(
        retry(
          ({ attempt }) => {
            if (attempt === 1) throw Object.assign(boom('429'), { response });
            return 1;
          },
          { clock, onRetry: ({ delay }) => delays.push(delay) },
        ),
        clock,
      );
      expect(delays).toEqual([30_000]);
    });

    it('reads Retry-After from plain-object headers on error.response (got, node:http)', async () => {
      const clock = createFakeClock();
      const delays: number[] = [];
      await run(
        retry(
          ({ attempt }) => {
            if (attempt === 1)
              throw Object.assign(boom('429'), {
                response: { statusCode: 429, headers: { 'retry-after': '7' } },
              });
            if (attempt === 2) throw Object.assign(boom('503'), { headers: { 'retry-after-ms': '40' } });
            return 1;
          },
          { clock, onRetry: ({ delay }) => delays.push(delay) },
        ),
        clock,
      );
      expect(delays).toEqual([7000, 40]);
    });

    it('reads retry-after-ms from a Response rejected by retryOnResult', async () => {
      const clock = createFakeClock();
      const delays: number[] = [];
      const result = await run(
        retry(
          ({ attempt }) =>
            attempt === 1
              ? new Response(null, { status: 503, headers: { 'retry-after-ms': '150' } })
              : new Response('ok'),
          { clock, retryOnResult: (r) => r.status === 503, onRetry: ({ delay }) => delays.push(delay) },
        ),
        clock,
      );
      expect(result.ok && result.value.status).toBe(200);
      expect(delays).toEqual([150]);
    });

    it('gives up at once when the hint goes past the deadline', async () => {
      const clock = createFakeClock();
      const fn = vi.fn(async () => {
        throw Object.assign(boom(), { retryAfterMs: 2000 });
      });
      const error = await failure(retry(fn, { clock, deadline: 1000 }), clock);
      expect(fn).toHaveBeenCalledTimes(1);
      expect((error as RetryError).reason).toBe('deadline');
      expect(clock.now()).toBe(0);
    });
  });

  describe('budget', () => {
    it('fails fast with RetryBudgetError (ERR_RETRY_BUDGET_EXHAUSTED) carrying the last error when spent', async () => {
      const clock = createFakeClock();
      const budget = retryBudget({ ratio: 0, minPerSecond: 0, clock });
      const error = boom('down');
      const fn = vi.fn(async () => {
        throw error;
      });
      const thrown = await failure(retry(fn, { clock, budget }), clock);
      expect(fn).toHaveBeenCalledTimes(1);
      expect(thrown).toBeInstanceOf(RetryBudgetError);
      expect(thrown).toBeInstanceOf(RetryError);
      expect((thrown as RetryBudgetError).code).toBe('ERR_RETRY_BUDGET_EXHAUSTED');
      expect((thrown as RetryBudgetError).cause).toBe(error);
      expect((thrown as RetryBudgetError).reason).toBe('budget');
      expect(isRetryError(thrown)).toBe(true);
    });

    it('is shared: calls together retry at most ratio x calls + the reserve', async () => {
      const clock = createFakeClock();
      // 10 s window, reserve 1 retry/s => 10 retries, plus 0.1 per call
      const budget = retryBudget({ ratio: 0.1, minPerSecond: 1, clock });
      let calls = 0;
      const fn = async () => {
        calls++;
        throw boom();
      };
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          run(retry(fn, { clock, budget, attempts: 3, backoff: constant(0) }), clock),
        ),
      );
      // 20 first attempts + at most 0.1 * 20 + 10 = 12 retries
      expect(calls).toBe(32);
      const codes = results.map((r) => (r.ok ? 'ok' : (r.error as RetryError).code));
      expect(codes.filter((c) => c === 'ERR_RETRY_BUDGET_EXHAUSTED').length).toBeGreaterThan(0);
    });
  });

  describe('validation', () => {
    it.each([
      ['attempts', { attempts: 0 }],
      ['attempts', { attempts: 1.5 }],
      ['timeout', { timeout: -1 }],
      ['timeout', { timeout: 2 ** 40 }],
      ['deadline', { deadline: 0 }],
      ['maxRetryAfter', { maxRetryAfter: Number.NaN }],
      ['timeout', { timeout: '5' as unknown as number }],
      ['deadline', { deadline: 2 ** 31 }],
      ['backoff', { backoff: 1000 as never }],
      ['retryIf', { retryIf: true as never }],
      ['retryOnResult', { retryOnResult: 'yes' as never }],
      ['onRetry', { onRetry: {} as never }],
      ['onGiveUp', { onGiveUp: 1 as never }],
      ['random', { random: 0.5 as never }],
    ])('rejects a bad %s with InvalidArgumentError before calling fn', async (name, options) => {
      const fn = vi.fn();
      const error = await retry(fn, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(name);
      expect(fn).not.toHaveBeenCalled();
    });

    it('accepts undefined and null for every function option', async () => {
      const none = { backoff: undefined, retryIf: null, onRetry: undefined, random: null };
      await expect(retry(async () => 1, none as never)).resolves.toBe(1);
    });

    it('rejects a non-function', async () => {
      await expect(retry(42 as unknown as () => number)).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('success path', () => {
    it('creates no AbortController per call when no signal, timeout or deadline is given', async () => {
      await retry(async () => 1); // the shared never-aborted signal exists from here on
      const Original = globalThis.AbortController;
      let created = 0;
      globalThis.AbortController = class extends Original {
        constructor() {
          super();
          created++;
        }
      };
      try {
        await retry(({ signal }) => signal.aborted);
        await retry(async () => 1, { attempts: 5, backoff: constant(1) });
        expect(created).toBe(0);
        await retry(async () => 1, { timeout: 1000 });
        expect(created).toBe(1);
      } finally {
        globalThis.AbortController = Original;
      }
    });

    it('hands every unguarded attempt a plain { attempt, signal } whose signal never aborts and keeps no listener', async () => {
      const contexts: AttemptContext[] = [];
      const fn = vi.fn((context: AttemptContext) => {
        contexts.push({ ...context });
        const onAbort = vi.fn();
        context.signal.addEventListener('abort', onAbort);
        context.signal.onabort = onAbort;
        expect(getEventListeners(context.signal, 'abort')).toHaveLength(0);
        if (context.attempt < 3) throw boom();
        return context.attempt;
      });
      const clock = createFakeClock();
      expect(await run(retry(fn, { clock, backoff: constant(1) }), clock)).toEqual({ ok: true, value: 3 });
      expect(fn).toHaveBeenNthCalledWith(1, { attempt: 1, signal: expect.any(AbortSignal) });
      expect(fn).toHaveBeenNthCalledWith(3, { attempt: 3, signal: expect.any(AbortSignal) });
      expect(contexts.map((c) => [c.attempt, c.signal.aborted])).toEqual([
        [1, false],
        [2, false],
        [3, false],
      ]);
      // One signal for all of them: nothing can abort it, so nothing is allocated per call.
      expect(new Set(contexts.map((c) => c.signal)).size).toBe(1);
    });

    // Node 20 keeps every signal AbortSignal.any() derives from a plain long-lived signal for as long as that
    // signal lives (nodejs/node#55351; Node 24 still does while one is observed): the shared signal lives as long
    // as the module, so `AbortSignal.any([signal, AbortSignal.timeout(ms)])` in fn leaked one entry per call.
    // Read through Node's own bookkeeping (kDependantSignals), checked first on a plain long-lived signal.
    it('does not keep the signals fn derives from the shared signal with AbortSignal.any()', async () => {
      const dependants = (signal: AbortSignal): number => {
        const key = Object.getOwnPropertySymbols(signal).find((k) => k.description === 'kDependantSignals');
        return key ? ((signal as unknown as Record<symbol, Set<unknown>>)[key]?.size ?? 0) : 0;
      };
      const derive = (signal: AbortSignal): void => {
        const derived = AbortSignal.any([signal, new AbortController().signal]);
        const onAbort = (): void => {};
        derived.addEventListener('abort', onAbort); // observed, as fetch() observes its signal
        derived.removeEventListener('abort', onAbort);
      };
      const longLived = new AbortController().signal;
      for (let i = 0; i < 50; i++) derive(longLived);
      expect(dependants(longLived)).toBe(50); // the probe sees Node's bookkeeping on this runtime

      let shared: AbortSignal | undefined;
      for (let i = 0; i < 50; i++)
        await retry(({ signal }) => {
          shared = signal;
          derive(signal);
          return i;
        });
      expect(dependants(shared as AbortSignal)).toBe(0);
    });
  });
});

describe('withRetry', () => {
  it('returns a function with the same parameters that retries each call', async () => {
    const clock = createFakeClock();
    let failures = 1;
    const add = withRetry(
      async (a: number, b: number) => {
        if (failures-- > 0) throw boom();
        return a + b;
      },
      { clock, backoff: constant(5) },
    );
    const result = await run(add(2, 3), clock);
    expect(result).toEqual({ ok: true, value: 5 });
  });

  it('rejects a non-function at once', () => {
    expect(() => withRetry(null as unknown as () => void)).toThrow(InvalidArgumentError);
  });
});

describe('properties', () => {
  it('never calls fn more than `attempts` times, and exactly that many when every call fails', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        async (attempts, outcomes) => {
          const clock = createFakeClock();
          let calls = 0;
          const result = await run(
            retry(
              () => {
                if (!outcomes[calls++]) throw boom();
                return 'ok';
              },
              { clock, attempts, backoff: exponential({ initial: 10 }), random: seededRandom(attempts) },
            ),
            clock,
          );
          expect(calls).toBeLessThanOrEqual(attempts);
          const firstSuccess = outcomes.indexOf(true);
          if (firstSuccess === -1 || firstSuccess >= attempts) {
            expect(result.ok).toBe(false);
            expect(calls).toBe(attempts);
          } else {
            expect(result).toEqual({ ok: true, value: 'ok' });
            expect(calls).toBe(firstSuccess + 1);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps every delay it waits within the backoff bounds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.constantFrom('none' as const, 'full' as const, 'equal' as const),
        fc.integer(),
        async (initial, max, jitter, seed) => {
          const clock = createFakeClock();
          const starts: number[] = [];
          await run(
            retry(
              () => {
                starts.push(clock.now());
                throw boom();
              },
              {
                clock,
                attempts: 6,
                backoff: exponential({ initial, max, jitter }),
                random: seededRandom(seed),
              },
            ),
            clock,
          );
          for (let i = 1; i < starts.length; i++) {
            const waited = (starts[i] as number) - (starts[i - 1] as number);
            const ceiling = Math.min(max, initial * 2 ** (i - 1));
            expect(waited).toBeLessThanOrEqual(ceiling);
            expect(waited).toBeGreaterThanOrEqual(jitter === 'equal' ? ceiling / 2 : 0);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('with a shared budget, retries never exceed ratio x calls + the reserve', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }),
        async (callers, ratio, minPerSecond, attempts, failuresPerCaller) => {
          const clock = createFakeClock();
          const budget = retryBudget({ ratio, minPerSecond, ttl: 1000, clock });
          let calls = 0;
          await Promise.all(
            Array.from({ length: callers }, (_, i) => {
              let failuresLeft = failuresPerCaller[i % failuresPerCaller.length] as number;
              return run(
                retry(
                  () => {
                    calls++;
                    if (failuresLeft-- > 0) throw boom();
                    return 'ok';
                  },
                  { clock, budget, attempts, backoff: constant(0) },
                ),
                clock,
              );
            }),
          );
          // No time passed (zero backoff), so every retry counts against one window.
          expect(calls - callers).toBeLessThanOrEqual(ratio * callers + minPerSecond + 1e-9);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never starts an attempt after an abort or at/after the deadline', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2000 }),
        fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 0, max: 400 }),
        async (deadline, abortAt, durations, delay) => {
          const clock = createFakeClock();
          const controller = new AbortController();
          if (abortAt !== undefined) clock.setTimeout(() => controller.abort(), abortAt);
          const starts: number[] = [];
          let call = 0;
          await run(
            retry(
              async () => {
                expect(controller.signal.aborted).toBe(false);
                starts.push(clock.now());
                const duration = durations[call++ % durations.length] as number;
                await new Promise<void>((resolve) => clock.setTimeout(resolve, duration));
                throw boom();
              },
              { clock, deadline, signal: controller.signal, attempts: 50, backoff: constant(delay) },
            ),
            clock,
          );
          for (const start of starts) {
            expect(start).toBeLessThan(deadline);
            if (abortAt !== undefined) expect(start).toBeLessThanOrEqual(abortAt);
          }
          // a deadline retry never outlives its deadline (leftover timers of the fake fn aside)
          expect(starts.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
