/**
 * Round 14: what `connect()` and `EventSource` do alike and where they differ, as the README states it.
 */
import { connect, EventSource } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const URL_ = 'https://example.test/live';
const stream = (): Response =>
  new Response('data: a\n\n', { headers: { 'content-type': 'text/event-stream' } });

describe('a hook that throws', () => {
  for (const hook of ['onOpen', 'onReconnect', 'onError'] as const) {
    it(`${hook}: connect() throws its error from the iteration, EventSource fires error at CLOSED and reports it nowhere`, async () => {
      const boom = new Error('boom');
      const make = () => {
        const clock = createFakeClock();
        const errors: unknown[] = [];
        let fetches = 0;
        const options = {
          clock,
          // A network error first, so that onError and onReconnect run.
          fetch: async () => (fetches++ === 0 ? Promise.reject(new TypeError('fetch failed')) : stream()),
          onError: (error: unknown) => {
            errors.push(error);
            if (hook === 'onError') throw boom;
          },
          [hook === 'onError' ? 'unused' : hook]: () => {
            throw boom;
          },
        };
        return { clock, errors, options, fetches: () => fetches };
      };

      const a = make();
      const iteration = (async () => {
        for await (const _ of connect(URL_, a.options));
      })().catch((error: unknown) => error);
      await a.clock.runAll();
      expect(await iteration).toBe(boom);

      const b = make();
      const source = new EventSource(URL_, b.options);
      const fired: number[] = [];
      source.onerror = () => fired.push(source.readyState);
      await b.clock.runAll();
      expect(fired.at(-1)).toBe(EventSource.CLOSED);
      expect(source.readyState).toBe(EventSource.CLOSED);
      // Not handed to onError (it was not the hook's error that onError got), nothing reconnects after it.
      expect(b.errors.includes(boom) && hook !== 'onError').toBe(false);
      expect(b.fetches()).toBe(a.fetches());
      expect(b.clock.pendingTimers).toBe(0);
    });
  }
});
