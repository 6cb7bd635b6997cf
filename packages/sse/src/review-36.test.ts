/**
 * Review round 36 (brief B3): the built package in a workerd 2026-11-17 module worker, connect() and EventSource
 * against a loopback server that streams (runtimes/, checks/sse.mjs). EventSource ran every onopen, onmessage and
 * onerror handler twice there. workerd's EventTarget calls a target's `on<type>` property itself when an event is
 * dispatched (measured in workerd 2026-11-17 on EventTarget subclasses: an own property or a prototype accessor
 * holding a function is called before the listeners, `this` not the target, its return value ignored with a console
 * warning; an object with handleEvent is not called; Node, Deno, Bun and Chromium do no such thing), and
 * EventSource also runs the handler from its own listener, as the DOM does. The dispatchEvent below does what
 * workerd's does.
 */
import { EventSource } from '@integ/sse';
import { createFakeClock, drain } from '@integ/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const dispatchEvent = EventTarget.prototype.dispatchEvent;
/** EventTarget's dispatchEvent as workerd 2026-11-17's: `on<type>` first, if it holds a function, then the listeners. */
function workerdDispatchEvent(this: EventTarget, event: Event): boolean {
  const handler: unknown = (this as unknown as Record<string, unknown>)[`on${event.type}`];
  if (typeof handler === 'function') handler.call(undefined, event);
  return dispatchEvent.call(this, event);
}

/** A stream of two events, then (backoff 0, fake clock) a 204 that closes the source. */
function twoEventsThen204(): typeof fetch {
  let n = 0;
  return async () =>
    ++n === 1
      ? new Response('id: 1\ndata: a\n\nevent: tick\nid: 2\ndata: b\n\n', {
          headers: { 'content-type': 'text/event-stream' },
        })
      : new Response(null, { status: 204 });
}

describe('EventSource where EventTarget calls on<type> itself (workerd)', () => {
  beforeEach(() => {
    EventTarget.prototype.dispatchEvent = workerdDispatchEvent;
  });
  afterEach(() => {
    EventTarget.prototype.dispatchEvent = dispatchEvent;
  });

  it('the model is faithful: a handler property of an EventTarget runs before its listeners, `this` not the target', () => {
    class Target extends EventTarget {
      onping: ((event: Event) => void) | null = null;
    }
    const target = new Target();
    const seen: string[] = [];
    target.addEventListener('ping', () => seen.push('listener'));
    target.onping = function (this: unknown) {
      seen.push(`handler:${this === target}`);
    };
    target.dispatchEvent(new Event('ping'));
    expect(seen).toEqual(['handler:false', 'listener']);
  });

  it('runs onopen, onmessage and onerror once per event, as on Node', async () => {
    const clock = createFakeClock();
    const source = new EventSource('http://h/x', { clock, fetch: twoEventsThen204(), backoff: () => 0 });
    const seen: string[] = [];
    source.onopen = () => seen.push('open');
    source.onmessage = (event) => seen.push(`message:${event.data}:${event.lastEventId}`);
    source.addEventListener('tick', (event) => seen.push(`tick:${event.data}`));
    source.onerror = () => seen.push(`error:${source.readyState}`);
    await drain(5);
    await clock.advance(1);
    await drain(5);
    expect(seen).toEqual(['open', 'message:a:1', 'tick:b', 'error:0', 'error:2']);
  });

  it('runs a handler in its place among the listeners, with the source as `this`; listeners read it as set', async () => {
    const clock = createFakeClock();
    const source = new EventSource('http://h/x', { clock, fetch: twoEventsThen204(), backoff: () => 0 });
    const seen: string[] = [];
    const handler = function (this: unknown): void {
      seen.push(`handler:${this === source}`);
    };
    source.addEventListener('message', () => seen.push(`before:${source.onmessage === handler}`));
    source.onmessage = handler;
    source.addEventListener('message', () => seen.push(`after:${source.onmessage === handler}`));
    await drain(5);
    source.close();
    expect(seen).toEqual(['before:true', 'handler:true', 'after:true']);
  });
});
