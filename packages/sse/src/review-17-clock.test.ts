/**
 * Round 17 (clock): a user's own test on the fake clock, standing at a fraction of a ms (a fractional start, or
 * the default jittered backoff's fractional delays), sees the watchdog fire within advance(idleTimeout) after
 * the last activity, as the README promises, not 1 ms later now and then.
 */
import { connect } from '@integ/sse';
import { createFakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// A fetch whose bodies the test writes to: one controller per request.
function world(start: number) {
  const clock = createFakeClock({ now: start });
  const bodies: ReadableStreamDefaultController<Uint8Array>[] = [];
  const fetch = async (): Promise<Response> =>
    new Response(new ReadableStream<Uint8Array>({ start: (c) => void bodies.push(c) }), {
      headers: { 'content-type': 'text/event-stream' },
    });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await tick();
  };
  return { clock, bodies, fetch, settle };
}

const start = fc.double({ min: 0, max: 2e12, noNaN: true });
const idleTimeout = fc.integer({ min: 1, max: 60_000 });

describe('idleTimeout on a fake clock at a fraction of a ms', () => {
  it('fires within advance(idleTimeout) of a silent connection, and after the last chunk', async () => {
    await fc.assert(
      fc.asyncProperty(start, idleTimeout, fc.double({ min: 0, max: 1, noNaN: true }), async (s, idle, f) => {
        const { clock, bodies, fetch, settle } = world(s);
        const timeouts: number[] = [];
        const stream = connect('http://sse.test/', {
          clock,
          fetch,
          idleTimeout: idle,
          backoff: () => 100,
          onError: (error) => timeouts.push((error as { timeoutMs: number }).timeoutMs),
        });
        await settle();
        expect(bodies).toHaveLength(1);
        // A chunk (a comment) a fraction of the way in: the silence counts from it.
        const before = idle * f * 0.999;
        await clock.advance(before);
        expect(timeouts).toEqual([]);
        bodies[0]!.enqueue(new TextEncoder().encode(': ping\n'));
        await settle();
        await clock.advance(idle);
        expect(timeouts).toEqual([idle]);
        stream.close();
      }),
      { seed: 1717, numRuns: 300 },
    );
  });

  it('fires within advance(idleTimeout) of a connection made after a jittered (fractional) backoff', async () => {
    await fc.assert(
      fc.asyncProperty(start, idleTimeout, fc.integer(), async (s, idle, seed) => {
        const { clock, bodies, fetch, settle } = world(s);
        const timeouts: number[] = [];
        const delays: number[] = [];
        const stream = connect('http://sse.test/', {
          clock,
          fetch,
          idleTimeout: idle,
          random: seededRandom(seed),
          onError: () => timeouts.push(clock.now()),
          onReconnect: (info) => delays.push(info.delay),
        });
        await settle();
        await clock.advance(idle);
        expect(timeouts).toHaveLength(1);
        await settle();
        // The default backoff's delay, a fraction of a ms more often than not.
        expect(delays).toHaveLength(1);
        await clock.advance(delays[0]!);
        await settle();
        expect(bodies).toHaveLength(2);
        await clock.advance(idle);
        expect(timeouts).toHaveLength(2);
        stream.close();
      }),
      { seed: 1718, numRuns: 300 },
    );
  });
});
