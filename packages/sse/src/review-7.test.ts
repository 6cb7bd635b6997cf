/**
 * Seventh review round (real HTTP features, reconnect timing, EventSource fidelity, CJS parity): each test
 * here failed before the fix it names.
 */

import { connect, type ReconnectInfo, SseHttpError } from '@integ/sse';
import { createFakeClock, seededRandom } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { startSseServer, WAIT } from './test-server.js';

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

// The watchdog measured silence as `clock.now() - lastActivity` on the wall clock (Date.now() by default) and re-armed
// for what was left: a clock set back a day (NTP, a resumed VM, an operator) re-armed it for a day, so a dead
// connection went unnoticed for a day (breaker decision 0120 fixed the same for the breaker).
describe('the idleTimeout watchdog when the wall clock is set back', () => {
  it('still reconnects a silent connection within two idleTimeouts', async () => {
    const clock = createFakeClock({ now: 1_000_000_000_000 });
    const reconnects: ReconnectInfo[] = [];
    const fetch = vi.fn(
      async () => new Response(new ReadableStream(), { headers: { 'content-type': 'text/event-stream' } }),
    );
    const stream = connect('http://sse.test/live', {
      fetch,
      clock,
      idleTimeout: 1000,
      onReconnect: (info) => reconnects.push(info),
    });
    void stream[Symbol.asyncIterator]().next();
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1), WAIT);
    await clock.advance(400);
    clock.setWallClock(clock.now() - 86_400_000);
    await clock.advance(1600);
    expect(reconnects.map((info) => (info.error as Error).name)).toEqual(['TimeoutError']);
    stream.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

// SseHttpError named the URL given even when a redirect led elsewhere: an auth proxy that redirects to its login page
// read "https://api/live answered text/html", hiding where the HTML came from (its url: "The URL that answered").
describe('SseHttpError after a redirect', () => {
  it('names the URL that answered, without its query', async () => {
    const server = await startSseServer((request) =>
      request.path.startsWith('/events')
        ? { status: 302, headers: { location: '/login?next=%2Fevents&token=abc' } }
        : { headers: { 'content-type': 'text/html' }, chunks: ['<html>login</html>'] },
    );
    try {
      const error = await (async () => {
        for await (const _ of connect(`${server.url}?token=secret`)) return undefined;
      })().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SseHttpError);
      const { url, message, contentType } = error as SseHttpError;
      const login = new URL('/login', server.url).href;
      expect([url, contentType]).toEqual([login, 'text/html']);
      expect(message).toContain(`${login} answered text/html`);
      expect(message).not.toMatch(/token|secret/);
    } finally {
      await server.close();
    }
  });
});
