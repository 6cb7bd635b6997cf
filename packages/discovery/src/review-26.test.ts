/**
 * Review round 26: a cross-review of round 25's fixes (2461bb1 a late Consul/etcd answer has its body cancelled,
 * 6c1c0cd an async close() of a custom source that rejects, 785584e the token masked trimmed), attacking each for
 * the cases next to the probed one: the etcd watch's own answers, answers that are no WHATWG Response, and tokens
 * that are whitespace only.
 */
import { consul, createRegistry, etcd, httpCheck, type Registry } from '@integ/discovery';
import { createFakeClock, trackUnhandledRejections } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { b64 } from './internal/test-etcd-fetch.js';
import { closeServers, serve } from './internal/test-servers.js';

const opened: Registry[] = [];
afterEach(async () => {
  for (const registry of opened.splice(0)) registry.close();
  await closeServers();
});

/** etcd's range answer: one key. */
const rangeAnswer = (): string =>
  JSON.stringify({
    header: { revision: '1' },
    kvs: [{ key: b64('/s/a'), value: b64('http://10.0.0.1:80') }],
  });

describe('an etcd watch that fails on what its stream sent (next to 2461bb1)', () => {
  it.each([
    ['a message that is not JSON', '{not json}\n'],
    ['a message larger than maxResponseBytes', `{"result":{"pad":"${'x'.repeat(2000)}"`],
  ])('drops its connection after %s, where it stayed open', async (_, sent) => {
    // The watch's finally unlinked its signal before aborting it, so the abort reached neither the fetch nor the
    // reader: a real fetch's connection stayed open (the server still streaming), one more per failed watch,
    // and close() did not drop it either (it aborts the current watch only).
    let closed = 0;
    const url = await serve((req, res) => {
      if (req.url?.endsWith('/v3/kv/range')) return void res.end(rangeAnswer());
      res.on('close', () => closed++);
      res.writeHead(200);
      res.write(sent);
    });
    const registry = createRegistry({
      services: { s: etcd('/s/', { endpoints: [url], maxResponseBytes: 1024 }) },
      clock: createFakeClock(),
    });
    opened.push(registry);
    await registry.ready('s');
    // A real socket: wait for its close, with room for a loaded machine.
    await vi.waitFor(() => expect(closed).toBe(1), { timeout: 10_000, interval: 5 });
  });
});

describe('an etcd watch answered with an HTTP error by a fetch not tied to its signal (next to 2461bb1)', () => {
  it.each([
    ['at once', false],
    ['after close()', true],
  ])('has the answer body cancelled when it comes %s, as the range refuses one', async (_, late) => {
    // A custom fetch's (or msw's) body is not ended by the request's abort: the watch threw on the status and
    // dropped the body unread, which held its connection; a late answer after close() too.
    let cancelled = 0;
    let answer = (): void => {};
    const error = (): Response =>
      new Response(
        new ReadableStream({
          start: (controller) => controller.enqueue(new TextEncoder().encode('<html>')),
          cancel: () => void cancelled++,
        }),
        { status: 503 },
      );
    const fetchStub = (async (input: string) => {
      if (input.endsWith('/v3/kv/range')) return new Response(rangeAnswer());
      return new Promise<Response>((resolve) => {
        answer = () => resolve(error());
        if (!late) answer();
      });
    }) as unknown as typeof fetch;
    const clock = createFakeClock();
    const registry = createRegistry({ services: { s: etcd('/s/', { fetch: fetchStub }) }, clock });
    opened.push(registry);
    await registry.ready('s');
    if (late) {
      registry.close();
      answer();
    }
    await clock.advance(0);
    expect(cancelled).toBe(1);
  });
});

describe('a late answer that the lookup or check gave up on (2461bb1)', () => {
  /** A fetch that ignores its signal and answers with `answer` when the test says. */
  function heldFetch() {
    let answer = (_: unknown): void => {};
    const fetchStub = (() =>
      new Promise((resolve) => {
        answer = resolve;
      })) as unknown as typeof fetch;
    return { fetch: fetchStub, answer: (response: unknown) => answer(response) };
  }

  it.each([
    ['a body with no cancel() (a Node stream, as node-fetch gives)', { ok: true, status: 200, body: {} }],
    ['no answer at all (undefined)', undefined],
  ])('that is not a WHATWG Response, %s, is no unhandled rejection', async (_, late) => {
    // Cancelling it throws synchronously (TypeError): caught with the rest of the chain, as it is not when the
    // cancel's own promise gets the catch (`.then((r) => r.body?.cancel().catch(...), () => {})`).
    const held = heldFetch();
    const clock = createFakeClock();
    const registry = createRegistry({ services: { s: consul('api', { fetch: held.fetch }) }, clock });
    opened.push(registry);
    const unhandled = trackUnhandledRejections();
    try {
      const failed = registry.ready('s').catch((error: { code?: string }) => error.code);
      await clock.advance(10_000);
      expect(await failed).toBe('ERR_DISCOVERY_SOURCE');
      held.answer(late);
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });

  it('httpCheck: an answer after the check timed out has its body cancelled', async () => {
    // httpCheck has no untilAbort(): the registry stops waiting at the timeout, and the answer that still comes
    // is cancelled by httpCheck itself, which cancels every body.
    const held = heldFetch();
    let cancelled = 0;
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { s: { urls: ['http://a:1'] } },
      clock,
      healthCheck: {
        check: httpCheck({ fetch: held.fetch }),
        timeout: 2000,
        unhealthyThreshold: 1,
        jitter: 0,
      },
    });
    opened.push(registry);
    await clock.advance(2000);
    expect(registry.inspect('s').endpoints[0]?.health.lastError).toMatch(/2000/);
    held.answer(new Response(new ReadableStream({ cancel: () => void cancelled++ })));
    await clock.advance(0);
    expect(cancelled).toBe(1);
  });
});

describe('a token that is whitespace only (785584e)', () => {
  it.each(['\n', '\r\n', '  '])('%j masks nothing: the message is not garbled', async (token) => {
    // Trimmed, it is empty: masking it would split the message between every character.
    const message = 'connect ECONNREFUSED 10.0.0.1:8500\nretry later';
    const failing = (async () => {
      throw new TypeError(message);
    }) as unknown as typeof fetch;
    const registry = createRegistry({
      services: { c: consul('api', { token, fetch: failing }), e: etcd('/s/', { token, fetch: failing }) },
      clock: createFakeClock(),
    });
    opened.push(registry);
    await expect(registry.ready('c')).rejects.toThrow(`consul: api: ${message}`);
    await expect(registry.ready('e')).rejects.toThrow(`etcd: range /s/: ${message}`);
  });
});
