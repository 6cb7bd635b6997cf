import { InvalidArgumentError } from '@integ/core';
import { createParser, type SseEvent } from '@integ/sse';
import {
  createTestServer,
  encodeSseEvent,
  type SseEventInit,
  sseStream,
  trackedAbortController,
} from '@integ/testing';
import fc from 'fast-check';
import { http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const url = 'https://stream.example.test/live';
const server = createTestServer();
beforeAll(() => server.listen());
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

async function readAll(response: Response): Promise<string> {
  return new TextDecoder().decode(await response.arrayBuffer());
}

describe('encodeSseEvent', () => {
  it('writes every field and splits multi-line data into data lines', () => {
    expect(encodeSseEvent({ event: 'tick', id: '7', retry: 1000, data: 'a\nb' })).toBe(
      'event: tick\nid: 7\nretry: 1000\ndata: a\ndata: b\n\n',
    );
    expect(encodeSseEvent('hello')).toBe('data: hello\n\n');
    expect(encodeSseEvent({ comment: 'keep-alive' })).toBe(': keep-alive\n\n');
  });
});

describe('encodeSseEvent and the @integ/sse parser', () => {
  it('refuses an event name with CR or LF, an id with CR, LF or NULL and a retry that is not an integer >= 0', () => {
    // Each would reach the client as something else: a second field line, an id the parser ignores, a retry
    // it ignores.
    for (const bad of [
      { event: 'a\nb', data: 'x' },
      { event: 'a\rb', data: 'x' },
      { id: '1\n2', data: 'x' },
      { id: '1\r\n', data: 'x' },
      { id: '1\u00002', data: 'x' },
      { retry: 1.5 },
      { retry: -1 },
      { retry: Number.NaN },
    ]) {
      expect(() => encodeSseEvent(bad)).toThrow(InvalidArgumentError);
      expect(() => sseStream([bad])).toThrow(InvalidArgumentError);
    }
  });

  it('property: the parser reads back every event as encoded (CR and CRLF in data come back as LF)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const line = text.map((s) => s.replace(/[\r\n]/g, ''));
    const eventArb = fc.record(
      {
        data: text,
        event: line,
        id: line.map((s) => s.replace(/\0/g, '')),
        retry: fc.nat(100_000),
        comment: text,
      },
      { requiredKeys: ['data'] },
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(text, eventArb), { maxLength: 6 }), (events: SseEventInit[]) => {
        const got: SseEvent[] = [];
        const retries: number[] = [];
        const parser = createParser({ onEvent: (e) => got.push(e), onRetry: (ms) => retries.push(ms) });
        parser.feed(events.map(encodeSseEvent).join(''));
        let lastEventId = '';
        const want = events.map((e) => {
          const init = typeof e === 'string' ? { data: e } : e;
          if (init.id !== undefined) lastEventId = init.id;
          const data = (init.data ?? '').replace(/\r\n|\r/g, '\n');
          return { type: init.event || 'message', data, lastEventId };
        });
        expect(got.map(({ type, data, lastEventId }) => ({ type, data, lastEventId }))).toEqual(want);
        expect(retries).toEqual(
          events.flatMap((e) => (typeof e !== 'string' && e.retry !== undefined ? [e.retry] : [])),
        );
      }),
      { seed: 160, numRuns: 300 },
    );
  });
});

describe('sseStream', () => {
  it('serves text/event-stream over plain fetch on Node 20 without flags', async () => {
    server.use(
      http.get(
        url,
        sseStream(
          [
            { id: '1', data: 'a' },
            { id: '2', data: 'b' },
          ],
          { disconnectAfter: 2 },
        ),
      ),
    );
    const response = await fetch(url);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await readAll(response)).toBe('id: 1\ndata: a\n\nid: 2\ndata: b\n\n');
  });

  it('disconnects after n events and resumes after Last-Event-ID on the next connection', async () => {
    const resolver = sseStream(
      [
        { id: '1', data: 'a' },
        { id: '2', data: 'b' },
        { id: '3', data: 'c' },
      ],
      { disconnectAfter: 1 },
    );
    server.use(http.get(url, resolver));
    expect(await readAll(await fetch(url))).toBe('id: 1\ndata: a\n\n');
    const resumed = await fetch(url, { headers: { 'last-event-id': '2' } });
    expect(await readAll(resumed)).toBe('id: 3\ndata: c\n\n');
    expect(resolver.calls).toBe(2);
  });

  it('can end a connection with a network error', async () => {
    server.use(http.get(url, sseStream(['x'], { disconnectAfter: 1, disconnectWith: 'error' })));
    const response = await fetch(url);
    await expect(response.text()).rejects.toThrow();
  });

  it("delivers the events before the network error of disconnectWith: 'error', so a reconnect can resume", async () => {
    const events = [
      { id: '1', data: 'a' },
      { id: '2', data: 'b' },
      { id: '3', data: 'c' },
    ];
    server.use(http.get(url, sseStream(events, { disconnectAfter: 2, disconnectWith: 'error' })));
    const reader = (await fetch(url)).body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let failure: unknown;
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
        text += decoder.decode(chunk.value, { stream: true });
    } catch (error) {
      failure = error;
    }
    expect(text).toBe('id: 1\ndata: a\n\nid: 2\ndata: b\n\n');
    expect(failure).toBeInstanceOf(TypeError);
    const resumed = await fetch(url, { headers: { 'last-event-id': '2' } });
    await expect(resumed.text()).rejects.toThrow();
  });

  it('keeps the stream open after the last event when no disconnect is configured', async () => {
    server.use(http.get(url, sseStream(['only'])));
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: only\n\n');
    const next = reader.read();
    const raced = await Promise.race([
      next.then(() => 'data'),
      new Promise((r) => setImmediate(() => r('open'))),
    ]);
    expect(raced).toBe('open');
    controller.abort();
    await expect(next).rejects.toBeDefined();
  });

  it('detaches from the request signal when the client cancels the body of an open stream without aborting', async () => {
    // Called directly: through msw on Node the client's cancel does not reach the body (msw tees it for its
    // 'response' event and that copy stays unread), so only a direct call shows what the stream does on cancel.
    const resolver = sseStream(['only']);
    const tracked = trackedAbortController();
    const request = new Request(url);
    Object.defineProperty(request, 'signal', { value: tracked.signal });
    const reader = (await resolver({ request })).body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: only\n\n');
    expect(tracked.listeners).toBe(1);
    await reader.cancel();
    expect(tracked.listeners).toBe(0);
  });

  it('serves other statuses and content types so clients can be tested against them', async () => {
    server.use(http.get(url, sseStream([], { status: 204 })));
    expect((await fetch(url)).status).toBe(204);
    server.use(
      http.get(url, sseStream(['x'], { headers: { 'content-type': 'text/plain' }, disconnectAfter: 1 })),
    );
    expect((await fetch(url)).headers.get('content-type')).toBe('text/plain');
  });

  it('replaces content-type and cache-control whatever the case of the header name given', async () => {
    server.use(
      http.get(
        url,
        sseStream(['x'], {
          headers: { 'Content-Type': 'text/html', 'Cache-Control': 'no-store', 'X-Extra': '1' },
          disconnectAfter: 1,
        }),
      ),
    );
    const response = await fetch(url);
    expect(response.headers.get('content-type')).toBe('text/html');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-extra')).toBe('1');
    await response.arrayBuffer();
  });

  it('refuses a disconnectAfter that is not a whole number >= 0, an unknown disconnectWith and a status outside 200 to 599', async () => {
    // disconnectAfter NaN sent no event on any connection: a client would reconnect for ever
    for (const options of [
      { disconnectAfter: Number.NaN },
      { disconnectAfter: -1 },
      { disconnectAfter: 1.5 },
      { disconnectWith: 'reset' as 'error' },
      { status: 99 },
      { status: 600 },
    ])
      expect(() => sseStream(['a'], options), JSON.stringify(options)).toThrow(InvalidArgumentError);
    server.use(http.get(url, sseStream(['a', 'b'], { disconnectAfter: 0 })));
    expect(await readAll(await fetch(url))).toBe('');
  });
});
