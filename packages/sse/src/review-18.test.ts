/**
 * Review round 18: the watchdog after c847292 (decision 0176) on a fake clock at a fraction of a ms. Activity at the
 * very instant its timer is due is activity: the silence counts from it, so the timer neither fires there nor
 * lets the stream go silent for good; a wall clock set back delays it by at most one idleTimeout.
 */
import { connect } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await tick();
};

function world(start: number, idleTimeout: number) {
  const clock = createFakeClock({ now: start });
  const bodies: ReadableStreamDefaultController<Uint8Array>[] = [];
  const timeouts: number[] = [];
  const stream = connect('http://sse.test/', {
    clock,
    idleTimeout,
    backoff: () => 100,
    fetch: async () =>
      new Response(new ReadableStream<Uint8Array>({ start: (c) => void bodies.push(c) }), {
        headers: { 'content-type': 'text/event-stream' },
      }),
    onError: () => timeouts.push(clock.now()),
  });
  const ping = async (): Promise<void> => {
    bodies.at(-1)!.enqueue(new TextEncoder().encode(': ping\n'));
    await settle();
  };
  return { clock, bodies, timeouts, stream, ping };
}

describe('idleTimeout watchdog at the edges of its timer', () => {
  for (const start of [0, 0.1, 445.2885, 1_700_000_000_000.3]) {
    it(`counts activity at the instant its timer is due (start ${start})`, async () => {
      const idle = 1000;
      const { clock, bodies, timeouts, stream, ping } = world(start, idle);
      await settle();
      expect(bodies).toHaveLength(1);
      // A chunk half-way: the timer armed at the start is still due at start + idle.
      await clock.advance(500);
      await ping();
      // Time set to that instant without firing the timer, a chunk read there, then the timer fires.
      clock.setNow(start + idle);
      await ping();
      await clock.advance(0);
      expect(timeouts).toEqual([]);
      // The silence counts from that chunk: the timeout comes at its + idle, not before.
      const last = clock.now();
      await clock.advance(idle - 1);
      expect(timeouts).toEqual([]);
      await clock.advance(1);
      expect(timeouts).toEqual([last + idle]);
      stream.close();
    });
  }

  it('on a wall clock set back after a chunk, times out within two idleTimeouts of the chunk, not never', async () => {
    const idle = 1000;
    const { clock, timeouts, stream, ping } = world(0.3, idle);
    await settle();
    await clock.advance(200);
    await ping();
    clock.setWallClock(clock.now() - 86_400_000);
    await clock.advance(2 * idle);
    expect(timeouts).toHaveLength(1);
    stream.close();
  });
});
