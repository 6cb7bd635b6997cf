/**
 * Review round 31: cross-review of round 30's fixes. The headers() promise let go once settled (b8a176c), the request
 * of a body read to its end not aborted (85340d7, decision 0209).
 */
import { getEventListeners } from 'node:events';
import { connect, EventSource } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { settle } from './test-server.js';

describe('a headers promise that settles as the client stops', () => {
  // The attempt awaits a race of headers() and its signal: resolved by headers() a few microtasks before close() (or the
  // caller's abort) came, its continuation ran after it and called fetch with the signal already aborted. A fetch that
  // checks the signal only by listening (an abort event never comes for one aborted already) sent a request after
  // close(), and held its socket for as long as the server sent; the platform's rejected at once, unsent.
  it.each(['close', 'abort', 'EventSource close'])(
    'fetches nothing after %s, whichever microtask the promise settled in',
    async (how) => {
      for (let ticks = 0; ticks <= 12; ticks++) {
        const clock = createFakeClock();
        const controller = new AbortController();
        let answer!: (init: HeadersInit) => void;
        const pending = new Promise<HeadersInit>((resolve) => {
          answer = resolve;
        });
        const aborted: boolean[] = [];
        const fetch = vi.fn(async (_url: string, init: RequestInit) => {
          aborted.push(init.signal?.aborted === true);
          return new Response(null, { status: 404 });
        });
        const options = { clock, fetch, headers: () => pending };
        let close: () => void;
        if (how === 'EventSource close') {
          const source = new EventSource('http://h/x', options);
          source.onerror = () => {};
          close = () => source.close();
        } else {
          const stream = connect('http://h/x', { ...options, signal: controller.signal });
          stream[Symbol.asyncIterator]()
            .next()
            .catch(() => {});
          close = how === 'abort' ? () => controller.abort(new Error('stop')) : () => stream.close();
        }
        await settle(2);
        answer({ authorization: 'Bearer t' });
        for (let i = 0; i < ticks; i++) await null;
        close();
        await settle(2);
        // Before the continuation ran: nothing at all. After it: the request was made while the client was open.
        expect({ ticks, aborted }).toEqual({ ticks, aborted: aborted.length ? [false] : [] });
        expect(clock.pendingTimers).toBe(0);
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      }
    },
  );
});
