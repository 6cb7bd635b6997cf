/**
 * Eleventh review round (rounds 7 and 9 read again: the Last-Event-ID bound, the backoff cap, the watchdog, the
 * error URLs): each test here failed before the fix it names.
 */
import { connect } from '@integ/sse';
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.restoreAllMocks();
});

// The 4096-byte bound (decision 0146) was checked at every event by encoding the stream's last event id, which
// persists across events: one 20,000-character id followed by 5,000 small events encoded 100 MB of UTF-8, 20 kB per
// event, where the parser itself copies nothing. The id is now checked once each time it changes.
describe('the Last-Event-ID bound on the hot path', () => {
  it('checks a long id once, not at every event that carries it', async () => {
    const long = 'x'.repeat(20_000);
    const count = 200;
    const body = `id: ${long}\ndata: 0\n\n${'data: more\n\n'.repeat(count)}`;
    const encode = vi.spyOn(TextEncoder.prototype, 'encode');
    const stream = connect('http://sse.test/live', {
      fetch: async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
    });
    let events = 0;
    for await (const event of stream) {
      expect(event.lastEventId).toBe(long);
      if (++events === count + 1) break;
    }
    const encoded = encode.mock.calls.filter(([text]) => text === long);
    // Once, when the id arrives; before, once per event and reconnection (202).
    expect(encoded.length).toBeLessThanOrEqual(1);
    expect(stream.lastEventId).toBe(long);
  });
});
