/**
 * Review round 25: a cross-review of round 24's fixes (9f699b3, 2ba01a1, 1d88dc4, b5e2ddd). 2ba01a1 ended the stream
 * for a custom fetch's Response whose body was used, before the status check and only for that one way a body cannot
 * be read: it is now checked where the body is read, after the status. 9f699b3 ended it for a fetch resolving to no
 * object only: an object that is no Response is refused too.
 */
import { InvalidArgumentError } from '@integ/core';
import { connect, EventSource, SseHttpError } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { settle } from './test-server.js';

// How connect()'s iteration ends with this fetch, within five reconnection waits; the calls of fetch and onError.
const iterate = async (response: () => Response | Promise<Response>) => {
  const clock = createFakeClock();
  const fetch = vi.fn(async () => response());
  const onError = vi.fn();
  let outcome: unknown = 'pending';
  (async () => {
    for await (const _ of connect('http://h/x', { clock, fetch, onError }));
  })().then(
    () => (outcome = 'ended'),
    (error: unknown) => (outcome = error),
  );
  for (let i = 0; i < 5 && outcome === 'pending'; i++) {
    await settle(3);
    await clock.advance(30_000);
  }
  return {
    outcome,
    fetched: fetch.mock.calls.length,
    errors: onError.mock.calls,
    timers: clock.pendingTimers,
  };
};

describe('a custom fetch wrapper that read the body of a response it hands on', () => {
  // A wrapper that logs the body of a failed response (`if (!res.ok) log(await res.text())`) got the InvalidArgumentError
  // for fetch meant for a mock that hands out the same Response, not the SseHttpError the status or type ends it with.
  it.each([
    ['a 404', 'ERR_SSE_STATUS', 404, 'text/plain'],
    ['a 200 with text/html', 'ERR_SSE_CONTENT_TYPE', 200, 'text/html'],
  ])(
    '%s: the SseHttpError of its status or type ends the stream, onError gets it',
    async (_, code, status, type) => {
      const { outcome, fetched, errors } = await iterate(async () => {
        const response = new Response('nope', { status, headers: { 'content-type': type } });
        await response.text();
        return response;
      });
      expect(outcome).toBeInstanceOf(SseHttpError);
      expect(outcome).toMatchObject({ code, status });
      expect(errors).toEqual([[outcome]]);
      expect(fetched).toBe(1);
    },
  );
});

describe('a custom fetch resolving to a Response whose body cannot be read', () => {
  // As a used body (2ba01a1), a locked one or one that is no web stream (node-fetch's is a Node Readable) threw a
  // TypeError from getReader() on every attempt, taken for a network error: the client reconnected for ever.
  const locked = (): Response => {
    const response = new Response('data: a\n\n', { headers: { 'content-type': 'text/event-stream' } });
    response.body?.getReader();
    return response;
  };
  const noWebStream = (): Response =>
    ({
      type: 'basic',
      status: 200,
      redirected: false,
      bodyUsed: false,
      url: 'http://h/x',
      headers: new Headers({ 'content-type': 'text/event-stream' }),
      body: { pipe: () => {} },
    }) as unknown as Response;
  it.each([
    ['locked', locked],
    ['no web stream', noWebStream],
  ])('%s: connect() throws an InvalidArgumentError for fetch; an EventSource closes', async (_, response) => {
    const { outcome, fetched, errors, timers } = await iterate(response);
    expect(outcome).toBeInstanceOf(InvalidArgumentError);
    expect(outcome).toMatchObject({ argument: 'fetch' });
    expect([fetched, errors, timers]).toEqual([1, [], 0]);
    const clock = createFakeClock();
    const source = new EventSource('http://h/x', { clock, fetch: async () => response() });
    const states: number[] = [];
    source.onopen = () => states.push(-1);
    source.onerror = () => states.push(source.readyState);
    await settle(3);
    await clock.advance(30_000);
    await settle(3);
    expect(states).toEqual([EventSource.CLOSED]);
  });
});

describe('a custom fetch resolving to an object that is no Response', () => {
  // 9f699b3 refused undefined and other non-objects only: a hand-made mock ({ ok: true, status: 200 }) or a wrapper that
  // hands on res.json() threw a TypeError reading its headers on every attempt, taken for a network error: the client
  // reconnected for ever.
  it.each([
    ['a hand-made mock', { ok: true, status: 200 }],
    ['a parsed JSON body', { items: [] }],
  ])('%s: connect() throws an InvalidArgumentError for fetch, without reconnecting', async (_, value) => {
    const { outcome, fetched, errors, timers } = await iterate(() => value as unknown as Response);
    expect(outcome).toBeInstanceOf(InvalidArgumentError);
    expect(outcome).toMatchObject({ argument: 'fetch' });
    expect([fetched, errors, timers]).toEqual([1, [], 0]);
  });
});
