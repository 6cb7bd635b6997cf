/**
 * Round 16: maxEventSize's error against what the client does with it, the DOM EventSource against the
 * WHATWG IDL, and what connect() starts before a check that can throw.
 */
import { connect, SseParseError } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { serveEach, WAIT } from './test-server.js';

const serve = serveEach();

describe('an event past maxEventSize', () => {
  it('is reported as retryable, since the client reconnects after it (and gets past it when its id came first)', async () => {
    // The server replays after Last-Event-ID; event 2 (id before data, as encodeEvent writes it) is too large.
    const server = await serve((index) =>
      index === 0
        ? { chunks: ['id: 1\ndata: one\n\n', `id: 2\ndata: ${'x'.repeat(200)}`] }
        : { chunks: ['id: 3\ndata: three\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const stream = connect(server.url, { clock, maxEventSize: 50, onError: (error) => errors.push(error) });
    const events = stream[Symbol.asyncIterator]();
    expect((await events.next()).value).toMatchObject({ data: 'one' });
    const next = events.next();
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(30_000);
    expect((await next).value).toMatchObject({ data: 'three', lastEventId: '3' });
    expect(server.requests.map((request) => request.lastEventId)).toEqual([undefined, '2']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SseParseError);
    // The flag said false while the client retried: a retry policy (or a user reading it) took it for fatal.
    expect(errors[0]).toMatchObject({ code: 'ERR_SSE_EVENT_TOO_LARGE', retryable: true, limit: 50 });
    stream.close();
  });
});
