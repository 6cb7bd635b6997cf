/**
 * Review round 41 (memory of an open connection): what a connection keeps besides Node's fetch. Each AbortSignal
 * costs ~0.5-1 kB with its listener maps: these tests keep the three a connection no longer makes from coming back, and
 * pin the close and abort paths the change rewrote.
 */
import { type ConnectOptions, connect, EventSource } from '@integ/sse';
import { createFakeClock, drain, settledValue, trackedAbortController } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';

const URL_ = 'http://h/x';
/** A response with one event whose body then stays open. */
const open = (): Response =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data: a\n\n'));
      },
    }),
    { headers: { 'content-type': 'text/event-stream' } },
  );
/** A response with one event whose body then ends: the client waits its backoff and reconnects. */
const ended = (): Response =>
  new Response('data: a\n\n', { headers: { 'content-type': 'text/event-stream' } });

/**
 * A connect() stream whose body ended after one event: the first event read, the client in its reconnection wait
 * and the consumer waiting for the next event (`next` settles with what that read gave, an error as a value).
 */
async function waitingToReconnect(
  options: Omit<ConnectOptions, 'fetch'>,
): Promise<{ fetchFn: ReturnType<typeof vi.fn>; next: Promise<unknown> }> {
  const fetchFn = vi.fn(async () => ended());
  const it = connect(URL_, { ...options, fetch: fetchFn })[Symbol.asyncIterator]();
  expect((await it.next()).value).toMatchObject({ data: 'a' });
  const next = it.next().then(
    () => 'resolved',
    (error: unknown) => error,
  );
  await drain();
  return { fetchFn, next };
}

/** Counts the AbortControllers made while it is stubbed in. */
function countControllers(): { readonly made: number } {
  const counter = { made: 0 };
  vi.stubGlobal(
    'AbortController',
    class extends AbortController {
      constructor() {
        super();
        counter.made++;
      }
    },
  );
  return counter;
}

describe('review 41: what an open connection holds', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('connect() makes one AbortController per attempt and none for the session (there were four for one attempt)', async () => {
    const counter = countControllers();
    const clock = createFakeClock();
    const caller = new AbortController();
    const made = counter.made;
    let calls = 0;
    const stream = connect(URL_, {
      clock,
      signal: caller.signal,
      backoff: () => 0,
      fetch: async () => (++calls === 1 ? ended() : open()),
    });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ data: 'a' });
    expect(counter.made - made).toBe(1);
    // The first body ended: the second attempt makes the second controller.
    await clock.advance(0);
    expect((await it.next()).value).toMatchObject({ data: 'a' });
    expect(calls).toBe(2);
    expect(counter.made - made).toBe(2);
    stream.close();
  });

  it('EventSource makes one AbortController per attempt too', async () => {
    const counter = countControllers();
    const clock = createFakeClock();
    const source = new EventSource(URL_, { clock, fetch: async () => open() });
    const opened = new Promise((resolve) => source.addEventListener('open', resolve));
    await opened;
    expect(counter.made).toBe(1);
    source.close();
  });

  it("the caller's abort during the reconnection wait ends it at once: the iteration throws the reason, no timer or listener left", async () => {
    const clock = createFakeClock();
    const caller = trackedAbortController();
    // The body ended: the client waits 60 s, and the consumer waits for the next event.
    const { fetchFn, next } = await waitingToReconnect({
      clock,
      signal: caller.signal,
      backoff: () => 60_000,
    });
    expect(clock.pendingTimers).toBe(1);
    expect(caller.listeners).toBe(1);
    const reason = new Error('user left');
    caller.abort(reason);
    expect(await settledValue(next)).toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    expect(caller.listeners).toBe(0);
    await clock.advance(60_000);
    expect(fetchFn).toHaveBeenCalledTimes(1);
  });

  it("a clock whose setTimeout throws for the reconnection wait ends the stream with the clock's error", async () => {
    const fake = createFakeClock();
    const broken = new Error('clock broke');
    const clock = {
      now: () => fake.now(),
      setTimeout: (fn: () => void, ms: number) => {
        if (ms === 5000) throw broken;
        return fake.setTimeout(fn, ms);
      },
      clearTimeout: (handle: unknown) => fake.clearTimeout(handle as never),
    };
    // Before review 41 core's sleep() rejected with it and the stream ended as if closed: the error was lost.
    const { fetchFn, next } = await waitingToReconnect({ clock, backoff: () => 5000 });
    expect(await settledValue(next)).toBe(broken);
    expect(fake.pendingTimers).toBe(0);
    expect(fetchFn).toHaveBeenCalledTimes(1);
  });

  it('close() during the reconnection wait ends EventSource at once, no timer left', async () => {
    const clock = createFakeClock();
    const fetchFn = vi.fn(async () => ended());
    const source = new EventSource(URL_, { clock, backoff: () => 60_000, fetch: fetchFn });
    const errors: number[] = [];
    source.onerror = () => errors.push(source.readyState);
    await drain();
    expect(errors).toEqual([0]);
    expect(clock.pendingTimers).toBe(1);
    source.close();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(60_000);
    expect(fetchFn).toHaveBeenCalledTimes(1);
    expect(source.readyState).toBe(2);
  });
});
