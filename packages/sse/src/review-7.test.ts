/**
 * Seventh review round (real HTTP features, reconnect timing, EventSource fidelity, CJS parity): each test
 * here failed before the fix it names.
 */

import { connect, type ReconnectInfo } from '@integ/sse';
import { createFakeClock, seededRandom } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { WAIT } from './test-server.js';

const eventStream = (body: string): Response =>
  new Response(body, { headers: { 'content-type': 'text/event-stream' } });

/** The waits of one client whose server ends every response at once (after `body`), on a fake clock. */
async function waits(seed: number, count: number, maxDelay: number, body = ''): Promise<number[]> {
  const clock = createFakeClock();
  const reconnects: ReconnectInfo[] = [];
  const stream = connect('http://sse.test/live', {
    fetch: async () => eventStream(body),
    clock,
    random: seededRandom(seed),
    maxDelay,
    onReconnect: (info) => reconnects.push(info),
  });
  void stream[Symbol.asyncIterator]().next();
  for (let i = 1; i <= count; i++) {
    await vi.waitFor(() => expect(reconnects).toHaveLength(i), WAIT);
    await clock.advance(reconnects[i - 1]!.delay);
  }
  stream.close();
  expect(clock.pendingTimers).toBe(0);
  return reconnects.map((info) => info.delay);
}

// The default backoff grew to 30 s whatever maxDelay said, and was then cut at maxDelay: with `maxDelay: 5000`
// every client waited exactly 5000 ms from the fourth or fifth attempt on, so a fleet came back in lockstep after a
// server restart, the herd the jitter is there to spread (README: "without piling them up at the cap").
describe('the default backoff under a maxDelay below 30 s', () => {
  it('keeps late waits of a fleet spread below the cap, also with a retry: floor', async () => {
    for (const [maxDelay, body, floor] of [
      [5000, '', 0],
      [5000, 'retry: 3000\n\n', 3000],
      [1000, '', 0],
    ] as const) {
      const late: number[] = [];
      for (const seed of [1, 2, 3, 4, 5, 6]) late.push(...(await waits(seed, 8, maxDelay, body)).slice(4));
      for (const delay of late) {
        // Equal jitter of a backoff capped at maxDelay: from half the room above the floor to the cap.
        expect(delay).toBeGreaterThanOrEqual(floor + (maxDelay - floor) / 2);
        expect(delay).toBeLessThan(maxDelay);
      }
      expect(new Set(late).size).toBe(late.length);
    }
  });
});
