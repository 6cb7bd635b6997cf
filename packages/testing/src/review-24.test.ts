/**
 * Review round 24 of @integ/testing: re-entrancy at the callback points (angle A). An abort listener that adds
 * another `once` listener while the abort is being dispatched, which Node calls when a listener follows it; an
 * open `sseStream` whose request is aborted in the middle of a long stream.
 */
import { sseStream, type TrackedAbortController, trackedAbortController } from '@integ/testing';
import { describe, expect, it } from 'vitest';

// A tracked controller whose first abort listener adds `late`, a once listener counting its calls, during the abort.
function addingLateDuringAbort(): { tracked: TrackedAbortController; late: () => void; fired: () => number } {
  const tracked = trackedAbortController();
  let calls = 0;
  const late = (): void => {
    calls++;
  };
  tracked.signal.addEventListener(
    'abort',
    () => tracked.signal.addEventListener('abort', late, { once: true }),
    {
      once: true,
    },
  );
  return { tracked, late, fired: () => calls };
}

describe('trackedAbortController when an abort listener adds another during the abort', () => {
  it('stops counting a once listener added during the abort once it has fired', () => {
    const { tracked, fired } = addingLateDuringAbort();
    // Node reaches a listener appended during dispatch when another one still follows (the DOM never does).
    tracked.signal.addEventListener('abort', () => {}, { once: true });
    tracked.abort();
    expect(fired()).toBe(1);
    expect(tracked.listeners).toBe(0);
  });

  it('keeps counting one that was not called and stays attached', () => {
    const { tracked, late, fired } = addingLateDuringAbort();
    tracked.abort();
    tracked.signal.addEventListener('abort', () => {}, { once: true }); // after the abort: never called
    expect(fired()).toBe(0);
    expect(tracked.listeners).toBe(2);
    tracked.signal.removeEventListener('abort', late);
    expect(tracked.listeners).toBe(1);
  });
});

describe('sseStream when the request is aborted in the middle of a long stream', () => {
  it('fails the read with the abort reason and leaves no listener on the request signal', async () => {
    // Called directly, as in sse.test.ts: the signal is a tracked one, which msw's request would not let us count.
    const events = Array.from({ length: 100_000 }, (_, i) => ({ id: String(i), data: `e${i}` }));
    const resolver = sseStream(events);
    const tracked = trackedAbortController();
    const request = new Request('https://stream.example.test/live');
    Object.defineProperty(request, 'signal', { value: tracked.signal });
    const reader = (await resolver({ request })).body!.getReader();
    for (let i = 0; i < 1_000; i++) await reader.read();
    expect(tracked.listeners).toBe(1);
    const reason = new Error('client went away');
    tracked.abort(reason);
    await expect(reader.read()).rejects.toBe(reason);
    expect(tracked.listeners).toBe(0);
  });
});
