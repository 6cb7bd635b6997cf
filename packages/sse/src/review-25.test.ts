/**
 * Review round 25: a cross-review of round 24's fixes (9f699b3, 2ba01a1, 1d88dc4, b5e2ddd). 2ba01a1 ended the stream
 * for a custom fetch's Response whose body was used, before the status check and only for that one way a body cannot
 * be read: it is now checked where the body is read, after the status. 9f699b3 ended it for a fetch resolving to no
 * object only: an object that is no Response is refused too.
 */
import { InvalidArgumentError } from '@integ/core';
import { EventSource, SseHttpError } from '@integ/sse';
import { describe, expect, it } from 'vitest';
import { iterate, lookalike, sourceErrors } from './test-server.js';

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
  const noWebStream = (): Response => lookalike(200, 'text/event-stream', { pipe: () => {} });
  it.each([
    ['locked', locked],
    ['no web stream', noWebStream],
  ])('%s: connect() throws an InvalidArgumentError for fetch; an EventSource closes', async (_, response) => {
    const { outcome, fetched, errors, timers } = await iterate(response);
    expect(outcome).toBeInstanceOf(InvalidArgumentError);
    expect(outcome).toMatchObject({ argument: 'fetch' });
    expect([fetched, errors, timers]).toEqual([1, [], 0]);
    expect(await sourceErrors(response)).toEqual({ states: [EventSource.CLOSED], errors: [], timers: 0 });
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
