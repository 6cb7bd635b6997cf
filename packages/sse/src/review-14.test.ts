/**
 * Round 14: what `connect()` and `EventSource` do alike and where they differ, as the README states it.
 */
import { connect, EventSource } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const URL_ = 'https://example.test/live';
const stream = (): Response =>
  new Response('data: a\n\n', { headers: { 'content-type': 'text/event-stream' } });

// Round 38: also a hook that throws `undefined` or `null`, which ended the iteration quietly (as after close()) and
// closed EventSource without an error event: `undefined` was read as "no error".
describe('a hook that throws', () => {
  for (const [what, boom] of [
    ['an Error', new Error('boom')],
    ['undefined', undefined],
    ['null', null],
  ] as const)
    for (const hook of ['onOpen', 'onReconnect', 'onError'] as const) {
      it(`${hook} throws ${what}: connect() throws it from the iteration, EventSource fires error at CLOSED and reports it nowhere`, async () => {
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
          return { ended: 'quietly' };
        })().catch((error: unknown) => ({ ended: 'with', error }));
        await a.clock.runAll();
        expect(await iteration).toEqual({ ended: 'with', error: boom });

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
