/**
 * Review round 30: the public types as a user meets them (checked by `npx tsc -p tsconfig.json --noEmit` in the
 * package; the runtime assertions only make sure what is typed here is accepted by the code too).
 */
import { type Clock, connect, EventSource, type TimerHandle } from '@integ/sse';
import { describe, expect, expectTypeOf, it } from 'vitest';

/** A fetch that answers 204 (the stream ends for good): enough to construct clients. */
const stop = async (): Promise<Response> => new Response(null, { status: 204 });

describe('the clock types', () => {
  // The `clock` option is a Clock from @integ/core, which pnpm's strict node_modules does not let a user import
  // without installing it: exported here as retry (413a8a5), breaker (6f4d767) and queue do.
  it('are exported by @integ/sse, so a custom clock is typed without installing @integ/core', () => {
    const clock: Clock = { now: () => 0, setTimeout: () => 1, clearTimeout: () => {} };
    expectTypeOf<ReturnType<Clock['setTimeout']>>().toEqualTypeOf<TimerHandle>();
    const stream = connect('http://h/x', { clock, fetch: stop });
    expect(typeof stream.close).toBe('function');
    stream.close();
  });
});

describe('EventSource listeners and handlers as DOM code writes them', () => {
  it("takes a named event's listener annotated MessageEvent, and handlers reading this.lastEventId", () => {
    const source = new EventSource('http://h/x', { fetch: stop });
    const custom = (event: MessageEvent): unknown => event.data;
    source.addEventListener('custom', custom);
    source.removeEventListener('custom', custom);
    source.addEventListener('custom', function (event) {
      expectTypeOf(event).toEqualTypeOf<MessageEvent>();
      expectTypeOf(this.lastEventId).toBeString();
    });
    source.onerror = function () {
      expectTypeOf(this.lastEventId).toBeString();
      if (this.readyState === EventSource.CLOSED) this.close();
    };
    source.close();
    expect(source.readyState).toBe(EventSource.CLOSED);
  });
});
