import { trackedAbortController } from '@integ/testing';
import { describe, expect, it } from 'vitest';

describe('trackedAbortController: the onabort handler', () => {
  it('counts onabort while it holds a handler, and not after it is set back to null', () => {
    const tracked = trackedAbortController();
    tracked.signal.onabort = () => {};
    expect(tracked.listeners).toBe(1);
    tracked.signal.onabort = () => {};
    expect(tracked.listeners).toBe(1);
    tracked.signal.onabort = null;
    expect(tracked.listeners).toBe(0);
    tracked.signal.addEventListener('abort', () => {});
    expect(tracked.listeners).toBe(1);
  });

  it('still calls the handler, reads it back, and keeps counting it after the abort (it is no once listener)', () => {
    const tracked = trackedAbortController();
    let fired = 0;
    const handler = (): void => {
      fired++;
    };
    tracked.signal.onabort = handler;
    expect(tracked.signal.onabort).toBe(handler);
    tracked.abort();
    expect(fired).toBe(1);
    expect(tracked.listeners).toBe(1);
    tracked.signal.onabort = null;
    expect(tracked.listeners).toBe(0);
  });
});
