/**
 * Review round 32: cross-review of round 31's sse fix 0b2f34a (an attempt whose headers() promise resolved a few
 * microtasks before close(), the caller's abort or the watchdog came returns `connection.signal.reason` before fetch).
 */
import { getEventListeners } from 'node:events';
import { TimeoutError } from '@integ/core';
import { connect, EventSource } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { settle } from './test-server.js';

type How = 'close' | 'abort' | 'EventSource close' | 'watchdog' | 'EventSource watchdog';
/** The caller's abort reasons: none given (a DOMException then), a non-Error, a DOMException of the caller's. */
const reasons = {
  none: () => undefined,
  string: () => 'stop',
  DOMException: () => new DOMException('gone', 'AbortError'),
} satisfies Record<string, () => unknown>;

/**
 * One client whose first headers() promise resolves `ticks` microtasks before `how` comes (the watchdog: the last ms of
 * idleTimeout passing). fetch is the node-fetch-like kind that only listens for the abort: it answers a 200 event
 * stream that never sends, and records whether each request's signal was aborted when it was called.
 */
async function scenario(how: How, ticks: number, reason: () => unknown = reasons.none) {
  const clock = createFakeClock();
  const controller = new AbortController();
  const calls: { aborted: boolean; afterStop: boolean; authorization: string | null; signal: AbortSignal }[] =
    [];
  let stopped = false;
  const cancelled: unknown[] = [];
  const bodies = { made: 0 };
  const fetch = async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal as AbortSignal;
    calls.push({
      aborted: signal.aborted,
      afterStop: stopped,
      authorization: new Headers(init?.headers).get('authorization'),
      signal,
    });
    bodies.made++;
    const body = new ReadableStream<Uint8Array>({
      cancel(why) {
        cancelled.push(why);
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  };
  let answer!: (init: HeadersInit) => void;
  const first = new Promise<HeadersInit>((resolve) => {
    answer = resolve;
  });
  let asked = 0;
  const headers = () => (++asked === 1 ? first : Promise.resolve({ authorization: 'Bearer second' }));
  const errors: unknown[] = [];
  const errorEvents: number[] = [];
  const options = {
    clock,
    fetch,
    headers,
    idleTimeout: 1000,
    backoff: () => 0,
    onError: (error: unknown) => errors.push(error),
  };
  let ended: unknown = 'waiting';
  let stop: () => void;
  let source: EventSource | undefined;
  if (how.startsWith('EventSource')) {
    const es = new EventSource('http://h/x', options);
    source = es;
    es.onerror = () => errorEvents.push(es.readyState);
    stop = () => es.close();
  } else {
    const stream = connect('http://h/x', { ...options, signal: controller.signal });
    stream[Symbol.asyncIterator]()
      .next()
      .then(
        (result) => {
          ended = result;
        },
        (error: unknown) => {
          ended = { threw: error };
        },
      );
    stop = how === 'abort' ? () => controller.abort(reason()) : () => stream.close();
  }
  await settle(2);
  await clock.advance(999);
  answer({ authorization: 'Bearer first' });
  for (let i = 0; i < ticks; i++) await null;
  if (how.endsWith('watchdog')) clock.advanceSync(1);
  else {
    stopped = true;
    stop();
  }
  await settle(3);
  await clock.advance(0);
  await settle(3);
  return { clock, controller, calls, errors, errorEvents, source, ended, cancelled, bodies, stop };
}

describe('a headers promise that resolves as the client stops or its watchdog fires (0b2f34a)', () => {
  it.each(['close', 'abort', 'EventSource close'] as const)(
    '%s: no request after it, whichever of microtasks 0..12 the promise resolved in; nothing left behind',
    async (how) => {
      for (let ticks = 0; ticks <= 12; ticks++) {
        const { clock, controller, calls, errors, errorEvents, source, ended, cancelled, bodies } =
          await scenario(how, ticks);
        await clock.advance(10_000);
        await settle(3);
        // A request made before the stop was made with a live signal, and aborted by the stop.
        expect({ ticks, calls: calls.map(({ aborted, afterStop }) => ({ aborted, afterStop })) }).toEqual({
          ticks,
          calls: calls.length ? [{ aborted: false, afterStop: false }] : [],
        });
        expect(calls.every(({ signal }) => signal.aborted)).toBe(true);
        // Every body fetch gave was cancelled: none holds its connection.
        expect({ ticks, cancelled: cancelled.length }).toEqual({ ticks, cancelled: bodies.made });
        expect({ ticks, errors }).toEqual({ ticks, errors: [] });
        if (how === 'close')
          expect({ ticks, ended }).toEqual({ ticks, ended: { done: true, value: undefined } });
        if (source)
          expect({ ticks, state: source.readyState, errorEvents }).toEqual({
            ticks,
            state: 2,
            errorEvents: [],
          });
        expect({ ticks, timers: clock.pendingTimers }).toEqual({ ticks, timers: 0 });
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      }
    },
  );

  it.each(Object.keys(reasons) as (keyof typeof reasons)[])(
    "abort with reason %s: the iteration throws the signal's reason (never undefined), no request after it",
    async (kind) => {
      for (let ticks = 0; ticks <= 12; ticks++) {
        const { clock, controller, calls, errors, ended } = await scenario('abort', ticks, reasons[kind]);
        expect(calls.filter(({ afterStop, aborted }) => afterStop || aborted)).toEqual([]);
        expect(errors).toEqual([]);
        const thrown = (ended as { threw: unknown }).threw;
        expect(thrown).toBe(controller.signal.reason);
        if (kind === 'none') expect(thrown).toMatchObject({ name: 'AbortError' });
        if (kind === 'string') expect(thrown).toBe('stop');
        if (kind === 'DOMException') expect(thrown).toMatchObject({ name: 'AbortError', message: 'gone' });
        expect(clock.pendingTimers).toBe(0);
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      }
    },
  );

  it.each(['watchdog', 'EventSource watchdog'] as const)(
    '%s: one TimeoutError, then a reconnection with the next headers, whichever of microtasks 0..12; nothing left',
    async (how) => {
      for (let ticks = 0; ticks <= 12; ticks++) {
        const { clock, controller, calls, errors, errorEvents, source, ended, cancelled, bodies, stop } =
          await scenario(how, ticks);
        // The first attempt was cut by the watchdog: if its request went out, with a live signal; never one aborted.
        expect({ ticks, aborted: calls.filter(({ aborted }) => aborted) }).toEqual({ ticks, aborted: [] });
        expect({ ticks, errors: errors.length }).toEqual({ ticks, errors: 1 });
        expect(errors[0]).toBeInstanceOf(TimeoutError);
        // Reconnected: the last request carries the second headers() result and is open.
        const last = calls.at(-1);
        expect({ ticks, authorization: last?.authorization, aborted: last?.signal.aborted }).toEqual({
          ticks,
          authorization: 'Bearer second',
          aborted: false,
        });
        expect(calls.length).toBeLessThanOrEqual(2);
        expect(ended).toBe('waiting');
        if (source)
          expect({ ticks, state: source.readyState, errorEvents }).toEqual({
            ticks,
            state: 1,
            errorEvents: [0],
          });
        stop();
        await settle(3);
        expect(calls.every(({ signal }) => signal.aborted)).toBe(true);
        expect({ ticks, cancelled: cancelled.length }).toEqual({ ticks, cancelled: bodies.made });
        expect({ ticks, timers: clock.pendingTimers }).toEqual({ ticks, timers: 0 });
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      }
    },
  );
});

describe("the caller's abort on a signal without `reason` (an AbortController polyfill's)", () => {
  // The abort-controller package (node-fetch 2's era) gives a signal with `aborted` and events but no `reason`: the
  // iteration threw `undefined`, which a `catch (error)` cannot tell from nothing. It throws an AbortError instead, as
  // core's abortReason() (which retry and sleep use) gives for such a signal.
  class OldSignal extends EventTarget {
    aborted = false;
    onabort = null;
    abort(): void {
      this.aborted = true;
      this.dispatchEvent(new Event('abort'));
    }
  }

  it.each(['before the first request', 'while connected'])(
    'the iteration throws an AbortError, not undefined, when it aborts %s',
    async (when) => {
      const clock = createFakeClock();
      const signal = new OldSignal();
      const fetch = async () =>
        new Response(new ReadableStream(), { headers: { 'content-type': 'text/event-stream' } });
      const stream = connect('http://h/x', { clock, fetch, signal: signal as unknown as AbortSignal });
      const next = stream[Symbol.asyncIterator]()
        .next()
        .then(
          () => 'ended',
          (error: unknown) => ({ threw: error }),
        );
      if (when === 'while connected') await settle(3);
      signal.abort();
      const result = await next;
      expect(result).toEqual({ threw: expect.objectContaining({ name: 'AbortError' }) });
      expect(clock.pendingTimers).toBe(0);
    },
  );
});
