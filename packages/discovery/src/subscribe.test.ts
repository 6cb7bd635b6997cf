/**
 * `subscribe()` listeners that change the subscriptions, or throw, while a change is being announced.
 * Each change is announced to the listeners subscribed when it happened (as EventTarget dispatches to the
 * listeners registered when dispatch starts): one added meanwhile hears the next change, one removed
 * meanwhile hears nothing more.
 */
import { createRegistry, type Endpoint, type Snapshot, type Source } from '@integ/discovery';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

/** A source answered by hand: each `answer()` settles the lookup in flight. */
function handSource() {
  let pending: ((snapshot: Snapshot) => void) | undefined;
  const source: Source = {
    kind: 'hand',
    description: 'answered by the test',
    open: () => ({
      resolve: () =>
        new Promise<Snapshot>((resolve) => {
          pending = resolve;
        }),
    }),
  };
  const answer = (...urls: string[]): void => {
    pending?.({ endpoints: urls.map((url) => ({ url })), ttlMs: 0 });
    pending = undefined;
  };
  return { source, answer };
}

const urls = (endpoints: readonly Endpoint[]): string => endpoints.map((e) => e.url).join(' ');

function setup() {
  const clock = createFakeClock();
  const { source, answer } = handSource();
  const errors: unknown[][] = [];
  const logger = {
    debug() {},
    info() {},
    warn() {},
    error: (...args: unknown[]) => void errors.push(args),
  };
  const registry = createRegistry({ clock, logger, minInterval: 1000, services: { s: source } });
  /** Answers the lookup in flight, then lets the next one start. */
  const change = async (...list: string[]): Promise<void> => {
    answer(...list);
    await clock.advance(1000);
  };
  return { registry, change, errors };
}

describe('subscribe() during a notification', () => {
  it('a listener subscribed by another listener first hears the next change', async () => {
    const { registry, change } = setup();
    const heard: string[] = [];
    let added = false;
    registry.subscribe('s', () => {
      if (added) return;
      added = true;
      registry.subscribe('s', (endpoints) => heard.push(urls(endpoints)));
    });
    await change('http://a:1');
    expect(heard).toEqual([]);
    await change('http://a:1', 'http://b:1');
    expect(heard).toEqual(['http://a:1 http://b:1']);
  });

  it('a listener that re-subscribes a fresh wrapper each time hears each change once (no endless loop)', async () => {
    const { registry, change } = setup();
    const heard: string[] = [];
    let calls = 0;
    const follow = (): void => {
      const off = registry.subscribe('s', (endpoints) => {
        if (++calls > 100) return; // before the fix: each new wrapper was called at once, without end
        off();
        heard.push(urls(endpoints));
        follow();
      });
    };
    follow();
    await change('http://a:1');
    await change('http://b:1');
    expect(heard).toEqual(['http://a:1', 'http://b:1']);
    expect(calls).toBe(2);
  });

  it('a listener that unsubscribes and subscribes itself again hears each change once', async () => {
    const { registry, change } = setup();
    const heard: string[] = [];
    let off = (): void => {};
    const listener = (endpoints: readonly Endpoint[]): void => {
      heard.push(urls(endpoints));
      if (heard.length > 100) return;
      off();
      off = registry.subscribe('s', listener);
    };
    off = registry.subscribe('s', listener);
    await change('http://a:1');
    await change('http://b:1');
    expect(heard).toEqual(['http://a:1', 'http://b:1']);
  });

  it('a listener unsubscribed by an earlier listener is not called any more', async () => {
    const { registry, change } = setup();
    const heard: string[] = [];
    let offSecond = (): void => {};
    registry.subscribe('s', () => offSecond());
    offSecond = registry.subscribe('s', (endpoints) => heard.push(urls(endpoints)));
    await change('http://a:1');
    expect(heard).toEqual([]);
  });

  it('a listener that throws is logged, and the others still hear the change', async () => {
    const { registry, change, errors } = setup();
    const heard: string[] = [];
    registry.subscribe('s', () => {
      throw new Error('listener broke at http://user:secret@x:1/?token=t');
    });
    registry.subscribe('s', (endpoints) => heard.push(urls(endpoints)));
    await change('http://a:1');
    expect(heard).toEqual(['http://a:1']);
    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors)).not.toMatch(/secret|token=t/);
    expect(registry.url('s')).toBe('http://a:1');
  });
});
