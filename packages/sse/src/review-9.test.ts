/**
 * Ninth review round: a long `id:` and the Last-Event-ID header. Servers cap request headers (Node 16 KiB in all,
 * nginx and Apache 8 KiB per line, Tomcat and Jetty 8 KiB in all) and answer 431 or 400, which the standard's
 * response rules make fatal: one id built from user content ended every client for good. Ids over 4096 bytes of
 * UTF-8 are now not sent; the reconnection sends the latest id that fits (decision 0146). Each test here failed
 * before that fix but the one at the bound. Also: the watchdog's TimeoutError after a redirect names the URL that
 * answered, as SseHttpError does.
 */
import { InvalidArgumentError, TimeoutError } from '@integ/core';
import { connect, EventSource, type ReconnectInfo, type SseEvent } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  chunksThenHang,
  lastEventIdsSent,
  type Reply,
  type SseTestServer,
  startSseServer,
  WAIT,
} from './test-server.js';

let server: SseTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(chunks: string[]): Promise<SseTestServer> {
  server = await startSseServer(({ index }) => chunksThenHang(chunks)(index));
  return server;
}
const requests = lastEventIdsSent;

// /events answers a redirect to /moved?token=abc, which hangs once its head is sent.
const redirectThenHang = (request: { path: string }): Reply =>
  request.path.startsWith('/events')
    ? { status: 302, headers: { location: '/moved?token=abc' } }
    : { end: 'hang' };

const long = 'x'.repeat(20_000);

describe('connect() given an id too long for a request header', () => {
  it('keeps reconnecting and sends no Last-Event-ID while no id of the stream fits (the report)', async () => {
    const srv = await serve([`id: ${long}\ndata: hi\n\n`, 'data: again\n\n']);
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const events: SseEvent[] = [];
    const stream = connect(srv.url, { clock, backoff: () => 10, onError: (error) => errors.push(error) });
    void (async () => {
      for await (const event of stream) events.push(event);
    })().catch((error: unknown) => errors.push(error));
    expect(await requests(srv, clock, 3)).toEqual([undefined, undefined, undefined]);
    expect(errors).toEqual([]);
    // Events and the connection keep the standard's last event id.
    expect(events.map((event) => event.lastEventId)).toEqual([long, long]);
    expect(stream.lastEventId).toBe(long);
    stream.close();
  });

  it('sends the latest id that fits, and onReconnect says so', async () => {
    const srv = await serve([
      `id: a1\ndata: one\n\nid: ${long}\ndata: two\n\n`,
      'data: three\n\n',
      `id: ${'€'.repeat(1366)}\ndata: four\n\n`,
      'id: a5\ndata: five\n\n',
    ]);
    const clock = createFakeClock();
    const reconnects: ReconnectInfo[] = [];
    const events: SseEvent[] = [];
    const stream = connect(srv.url, {
      clock,
      backoff: () => 10,
      onReconnect: (info) => reconnects.push(info),
    });
    const done = (async () => {
      for await (const event of stream) events.push(event);
    })().catch((error: unknown) => error);
    // '€' is 3 bytes of UTF-8: 1366 of them (4098 bytes, 1366 characters) do not fit either.
    expect(await requests(srv, clock, 5)).toEqual([undefined, 'a1', 'a1', 'a1', 'a5']);
    expect(reconnects.map((info) => info.lastEventId)).toEqual(['a1', 'a1', 'a1', 'a5']);
    expect(events.map((event) => [event.data, event.lastEventId])).toEqual([
      ['one', 'a1'],
      ['two', long],
      ['three', long],
      ['four', '€'.repeat(1366)],
      ['five', 'a5'],
    ]);
    stream.close();
    expect(await done).toBeUndefined();
  });

  it('sends what went before while no id fitted: the lastEventId option, or your own header as given', async () => {
    for (const [options, first] of [
      [{ lastEventId: '7' }, '7'],
      [{ headers: { 'Last-Event-ID': '41' } }, '41'],
    ] as const) {
      const srv = await serve([`id: ${long}\ndata: a\n\n`, 'data: b\n\n']);
      const clock = createFakeClock();
      const stream = connect(srv.url, { clock, backoff: () => 10, ...options });
      expect(await requests(srv, clock, 3)).toEqual([first, first, first]);
      stream.close();
      await srv.close();
    }
  });

  it('sends an id of exactly 4096 bytes of UTF-8', async () => {
    const euros = `${'€'.repeat(1365)}x`;
    const ascii = 'y'.repeat(4096);
    const srv = await serve([`id: ${euros}\ndata: a\n\n`, `id: ${ascii}\ndata: b\n\n`]);
    const clock = createFakeClock();
    const stream = connect(srv.url, { clock, backoff: () => 10 });
    const sent = await requests(srv, clock, 3);
    // Node reads header bytes as Latin-1: the UTF-8 bytes of the id, one character each.
    expect(sent).toEqual([undefined, Buffer.from(euros).toString('latin1'), ascii]);
    stream.close();
  });

  it('refuses a lastEventId option over 4096 bytes of UTF-8 up front, as one with a control character', () => {
    for (const lastEventId of [long, '€'.repeat(1366)]) {
      expect(() => connect('http://127.0.0.1:9/events', { lastEventId })).toThrow(InvalidArgumentError);
      expect(() => new EventSource('http://127.0.0.1:9/events', { lastEventId })).toThrow(
        InvalidArgumentError,
      );
    }
    connect('http://127.0.0.1:9/events', { lastEventId: `${'€'.repeat(1365)}x` }).close();
  });
});

describe('EventSource given an id too long for a request header', () => {
  it('reconnects (error at CONNECTING) with the latest id that fits; events keep the long one', async () => {
    const srv = await serve([`id: a1\ndata: one\n\nid: ${long}\ndata: two\n\n`, 'data: three\n\n']);
    const clock = createFakeClock();
    const source = new EventSource(srv.url, { clock, backoff: () => 10 });
    const seen: [string, number, string][] = [];
    source.onmessage = (event) => seen.push([event.data, source.readyState, event.lastEventId]);
    source.onerror = () => seen.push(['error', source.readyState, source.lastEventId]);
    expect(await requests(srv, clock, 3)).toEqual([undefined, 'a1', 'a1']);
    await vi.waitFor(() => expect(seen).toHaveLength(5), WAIT);
    expect(seen).toEqual([
      ['one', 1, 'a1'],
      ['two', 1, long],
      ['error', 0, long],
      ['three', 1, long],
      ['error', 0, long],
    ]);
    source.close();
  });
});

describe('the watchdog after a redirect', () => {
  it('names the URL that answered, without its query, as SseHttpError does', async () => {
    server = await startSseServer(redirectThenHang);
    const clock = createFakeClock();
    const errors: unknown[] = [];
    let opened = 0;
    const stream = connect(`${server.url}?token=secret`, {
      clock,
      idleTimeout: 1000,
      onOpen: () => opened++,
      onError: (error) => errors.push(error),
    });
    void stream[Symbol.asyncIterator]().next();
    // Silent from the response head on, the one the redirect led to.
    await vi.waitFor(() => expect(opened).toBe(1), WAIT);
    await clock.advance(1000);
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    const [error] = errors as TimeoutError[];
    expect(error).toBeInstanceOf(TimeoutError);
    const moved = new URL('/moved', server.url).href;
    expect(error?.message).toContain(`Reading ${moved} timed out`);
    expect(error?.message).not.toMatch(/token|secret/);
    stream.close();
  });

  it('names the final URL in EventSource, which asks it on reconnect', async () => {
    server = await startSseServer(redirectThenHang);
    const clock = createFakeClock();
    const errors: unknown[] = [];
    let opened = 0;
    const source = new EventSource(`${server.url}?token=secret`, {
      clock,
      idleTimeout: 1000,
      backoff: () => 10,
      onOpen: () => opened++,
      onError: (error) => errors.push(error),
    });
    const moved = new URL('/moved', server.url).href;
    for (const count of [1, 2]) {
      await vi.waitFor(() => expect(opened).toBe(count), WAIT);
      await clock.advance(1000);
      await vi.waitFor(() => expect(errors).toHaveLength(count), WAIT);
      if (count === 1) {
        await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
        await clock.advance(10);
      }
    }
    // The second connection asked the final URL itself (no redirect) and its error names it too.
    expect(server.requests.map((request) => request.path)).toEqual([
      '/events?token=secret',
      '/moved?token=abc',
      '/moved?token=abc',
    ]);
    for (const error of errors as TimeoutError[]) {
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toContain(`Reading ${moved} timed out`);
    }
    source.close();
  });
});
