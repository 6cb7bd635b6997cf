/**
 * Review round 29: defects noticed and left by earlier rounds. A `headers` function handing back the same promise
 * on every reconnection, bodies of refused node-fetch responses, a custom fetch that throws synchronously, and a
 * reader whose read() throws synchronously.
 */
import { connect } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { settle } from './test-server.js';

describe('a headers function returning the same promise on every attempt', () => {
  // A token cache whose refresh hangs hands back one pending promise on every call. Each reconnection subscribed to
  // it again (a reaction held by that promise until it settles): a closure per attempt over a long outage.
  it('subscribes to it once over 10,000 attempts ended by idleTimeout', async () => {
    const clock = createFakeClock();
    const pending = new Promise<HeadersInit>(() => {});
    // Counts the subscriptions (a race, a resolve with it, allSettled: each calls then()).
    let subscriptions = 0;
    const { then } = pending;
    Object.defineProperty(pending, 'then', {
      value(this: Promise<HeadersInit>, ...args: Parameters<typeof then>) {
        subscriptions++;
        return then.apply(this, args);
      },
    });
    // Not a vi.fn(): a spy subscribes to a promise it returns.
    let calls = 0;
    const stream = connect('http://h/x', {
      clock,
      headers: () => {
        calls++;
        return pending;
      },
      idleTimeout: 1,
      backoff: () => 0,
      fetch: async () => new Response(null, { status: 500 }),
    });
    const iterator = stream[Symbol.asyncIterator]();
    iterator.next().catch(() => {});
    await settle(1);
    while (calls < 10_000) await clock.advance(1);
    expect(subscriptions).toBe(1);
    stream.close();
    await settle(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('still asks headers() on each attempt and uses a promise that settles later', async () => {
    const clock = createFakeClock();
    let answer!: (init: HeadersInit) => void;
    const pending = new Promise<HeadersInit>((resolve) => {
      answer = resolve;
    });
    const headers = vi.fn(() => pending);
    const fetch = vi.fn(async (_url: unknown, _init?: RequestInit) => new Response(null, { status: 404 }));
    const stream = connect('http://h/x', { clock, headers, idleTimeout: 10, backoff: () => 0, fetch });
    const next = stream[Symbol.asyncIterator]().next();
    next.catch(() => {});
    await settle(1);
    for (let i = 0; i < 3; i++) await clock.advance(10);
    expect(headers.mock.calls.length).toBe(4);
    expect(fetch).not.toHaveBeenCalled();
    answer({ authorization: 'Bearer t' });
    await expect(next).rejects.toMatchObject({ code: 'ERR_SSE_STATUS' });
    expect(new Headers(fetch.mock.calls[0]?.[1]?.headers).get('authorization')).toBe('Bearer t');
  });
});
