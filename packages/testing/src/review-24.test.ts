/**
 * Review round 24 of @integ/testing: re-entrancy at the callback points (angle A). An abort listener that adds
 * another `once` listener while the abort is being dispatched, which Node calls when a listener follows it.
 */
import { trackedAbortController } from '@integ/testing';
import { describe, expect, it } from 'vitest';

describe('trackedAbortController when an abort listener adds another during the abort', () => {
  it('stops counting a once listener added during the abort once it has fired', () => {
    const tracked = trackedAbortController();
    let fired = 0;
    const late = (): void => {
      fired++;
    };
    tracked.signal.addEventListener(
      'abort',
      () => tracked.signal.addEventListener('abort', late, { once: true }),
      { once: true },
    );
    // Node reaches a listener appended during dispatch when another one still follows (the DOM never does).
    tracked.signal.addEventListener('abort', () => {}, { once: true });
    tracked.abort();
    expect(fired).toBe(1);
    expect(tracked.listeners).toBe(0);
  });

  it('keeps counting one that was not called and stays attached', () => {
    const tracked = trackedAbortController();
    let fired = 0;
    const late = (): void => {
      fired++;
    };
    tracked.signal.addEventListener(
      'abort',
      () => tracked.signal.addEventListener('abort', late, { once: true }),
      { once: true },
    );
    tracked.abort();
    tracked.signal.addEventListener('abort', () => {}, { once: true }); // after the abort: never called
    expect(fired).toBe(0);
    expect(tracked.listeners).toBe(2);
    tracked.signal.removeEventListener('abort', late);
    expect(tracked.listeners).toBe(1);
  });
});

