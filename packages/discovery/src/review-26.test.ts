/**
 * Review round 26: a cross-review of round 25's fixes (2461bb1 a late Consul/etcd answer has its body cancelled,
 * 6c1c0cd an async close() of a custom source that rejects, 785584e the token masked trimmed), attacking each for
 * the cases next to the probed one: the etcd watch's own answers, answers that are no WHATWG Response, and tokens
 * that are whitespace only.
 */
import { createRegistry, etcd, type Registry } from '@integ/discovery';
import { createFakeClock } from '@integ/testing';
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
    await vi.waitFor(() => expect(closed).toBe(1), { timeout: 1000, interval: 5 });
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
