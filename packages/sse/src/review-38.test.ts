/**
 * Round 38: a hook that throws `undefined` or `null` (a value, not an Error) still ends the connection as a failure:
 * connect()'s iteration rejects with that value and EventSource fires `error` at CLOSED. Before, `undefined` read as
 * "no error": the iteration ended as if close() had been called and EventSource closed without an error event.
 */
import { connect, EventSource } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const URL_ = 'https://example.test/live';
const stream = (): Response =>
  new Response('data: a\n\n', { headers: { 'content-type': 'text/event-stream' } });

describe('a hook that throws a value that is not an Error', () => {
  for (const thrown of [undefined, null]) {
    for (const hook of ['onOpen', 'onReconnect', 'onError'] as const) {
      it(`${hook} throws ${thrown}: connect() rejects with it, EventSource fires error at CLOSED`, async () => {
        const make = () => {
          const clock = createFakeClock();
          let fetches = 0;
          const options = {
            clock,
            // A network error first, so that onError and onReconnect run.
            fetch: async () => (fetches++ === 0 ? Promise.reject(new TypeError('fetch failed')) : stream()),
            [hook]: () => {
              throw thrown;
            },
          };
          return { clock, options, fetches: () => fetches };
        };

        const a = make();
        const outcome = (async () => {
          const seen: string[] = [];
          for await (const event of connect(URL_, a.options)) seen.push(event.data);
          return { ended: 'normally', seen };
        })().then(
          (value) => value,
          (error: unknown) => ({ ended: 'with', error }),
        );
        await a.clock.runAll();
        expect(await outcome).toEqual({ ended: 'with', error: thrown });

        const b = make();
        const source = new EventSource(URL_, b.options);
        const fired: number[] = [];
        source.onerror = () => fired.push(source.readyState);
        await b.clock.runAll();
        expect(fired.at(-1)).toBe(EventSource.CLOSED);
        expect(source.readyState).toBe(EventSource.CLOSED);
        expect(b.fetches()).toBe(a.fetches());
        expect(b.clock.pendingTimers).toBe(0);
      });
    }
  }
});
