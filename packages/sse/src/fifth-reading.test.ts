/**
 * Fifth, adversarial reading of the client (round 2 review): each test here failed before the fix it names.
 */

import { connect, type ReconnectInfo, SseParseError } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { WAIT } from './test-server.js';

const eventStream = (body: BodyInit | null): Response =>
  new Response(body, { headers: { 'content-type': 'text/event-stream' } });

// ReconnectInfo.attempt is "1-based count of reconnections since the last connection that delivered an event",
// and the backoff starts over then. The reset ran only after the chunk's feed() returned, so an event delivered
// in the same chunk as an oversized one (SseParseError) did not count: the third wait below was 300, not 100.
describe('an oversized event after a delivered one in the same chunk', () => {
  it('restarts the backoff: the connection delivered an event', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const fetch = vi.fn(async () => {
      calls++;
      if (calls <= 2) return Response.error();
      if (calls === 3) return eventStream(`data: a\n\ndata: ${'x'.repeat(100)}\n\n`);
      return eventStream(new ReadableStream());
    });
    const reconnects: ReconnectInfo[] = [];
    const stream = connect('http://sse.test/live', {
      fetch,
      clock,
      maxEventSize: 50,
      backoff: ({ attempt }) => attempt * 100,
      onReconnect: (info) => reconnects.push(info),
    });
    const first = stream[Symbol.asyncIterator]().next();
    await vi.waitFor(() => expect(reconnects).toHaveLength(1), WAIT);
    await clock.advance(100);
    await vi.waitFor(() => expect(reconnects).toHaveLength(2), WAIT);
    await clock.advance(200);
    await vi.waitFor(() => expect(reconnects).toHaveLength(3), WAIT);
    expect((await first).value?.data).toBe('a');
    expect(reconnects[2]?.error).toBeInstanceOf(SseParseError);
    expect(reconnects.map((info) => [info.attempt, info.delay])).toEqual([
      [1, 100],
      [2, 200],
      [1, 100],
    ]);
    stream.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
