/**
 * A stream resumed with the user's own `Last-Event-ID` header (no `lastEventId` option): the server's `id:` lines
 * take over from it. After `id: 42` the reconnection sends 42, whatever the case of the user's header name; after
 * an empty `id:` (the last event id reset to '') it sends none, as WHATWG HTML says ("if the last event ID string
 * is not the empty string, set Last-Event-ID"); before any `id:` the user's header goes as given.
 */
import { connect, EventSource } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

import { chunksThenHang, lastEventIdsSent, type SseTestServer, serveEach } from './test-server.js';

type HeadersOption = NonNullable<Parameters<typeof connect>[1]>['headers'];

const forms: [string, () => HeadersOption][] = [
  ['a record (Last-Event-ID)', () => ({ 'Last-Event-ID': '41' })],
  ['a record (last-event-id)', () => ({ 'last-event-id': '41' })],
  ['a record (LAST-EVENT-ID)', () => ({ 'LAST-EVENT-ID': '41' })],
  ['a Headers object', () => new Headers({ 'Last-Event-ID': '41' })],
  ['an array of pairs', () => [['Last-Event-Id', '41']]],
  ['an async function', () => async () => ({ 'Last-Event-ID': '41' })],
];

const serveEachConnection = serveEach();
const serve = (chunks: string[]): Promise<SseTestServer> => serveEachConnection(chunksThenHang(chunks));
const requests = lastEventIdsSent;

describe("the user's Last-Event-ID header and the stream's id", () => {
  for (const [name, headers] of forms) {
    it(`connect() with ${name}: 41 as given, then the server's 42, then none after an empty id`, async () => {
      const srv = await serve(['data: a\n\n', 'id: 42\ndata: b\n\n', 'data: c\n\n', 'id:\ndata: d\n\n']);
      const clock = createFakeClock();
      const stream = connect(srv.url, { clock, headers: headers(), backoff: () => 10 });
      expect(await requests(srv, clock, 5)).toEqual(['41', '41', '42', '42', undefined]);
      expect(stream.lastEventId).toBe('');
      stream.close();
    });

    it(`EventSource with ${name}: the same`, async () => {
      const srv = await serve(['id: 42\n\n', 'id:\n\n']);
      const clock = createFakeClock();
      const source = new EventSource(srv.url, { clock, headers: headers(), backoff: () => 10 });
      expect(await requests(srv, clock, 3)).toEqual(['41', '42', undefined]);
      source.close();
    });
  }

  it('an empty id as the first id of the stream also drops the header', async () => {
    const srv = await serve(['id:\ndata: a\n\n', 'data: b\n\n']);
    const clock = createFakeClock();
    const events: unknown[] = [];
    const stream = connect(srv.url, {
      clock,
      headers: { 'Last-Event-ID': '41' },
      backoff: () => 10,
    });
    void (async () => {
      for await (const event of stream) events.push(event);
    })();
    expect(await requests(srv, clock, 3)).toEqual(['41', undefined, undefined]);
    expect(events).toEqual([
      { type: 'message', data: 'a', lastEventId: '' },
      { type: 'message', data: 'b', lastEventId: '' },
    ]);
    stream.close();
  });

  it('an id-only block with an empty id (no event dispatched) also drops the header', async () => {
    const srv = await serve(['id:\n\n']);
    const clock = createFakeClock();
    const stream = connect(srv.url, { clock, headers: { 'Last-Event-ID': '41' }, backoff: () => 10 });
    expect(await requests(srv, clock, 2)).toEqual(['41', undefined]);
    stream.close();
  });

  it('without any id line the header is sent as given on every request, also as it changes', async () => {
    const srv = await serve(['data: a\n\n', ': comment\n\n']);
    const clock = createFakeClock();
    let n = 40;
    const events: unknown[] = [];
    const stream = connect(srv.url, {
      clock,
      headers: () => ({ 'Last-Event-ID': `${++n}` }),
      backoff: () => 10,
    });
    void (async () => {
      for await (const event of stream) events.push(event);
    })();
    expect(await requests(srv, clock, 3)).toEqual(['41', '42', '43']);
    // The user's header is theirs: the stream's last event id is still the empty string.
    expect(events).toEqual([{ type: 'message', data: 'a', lastEventId: '' }]);
    expect(stream.lastEventId).toBe('');
    stream.close();
  });

  it('the lastEventId option replaces the header from the first request on', async () => {
    const srv = await serve(['id:\n\n']);
    const clock = createFakeClock();
    const stream = connect(srv.url, {
      clock,
      lastEventId: '7',
      headers: { 'Last-Event-ID': '41' },
      backoff: () => 10,
    });
    expect(await requests(srv, clock, 2)).toEqual(['7', undefined]);
    stream.close();
  });
});
