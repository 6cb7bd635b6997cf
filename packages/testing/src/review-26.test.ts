/**
 * Review round 26: a cross-review of round 25's fix 7036b14 (a `once` abort listener added by another abort listener
 * during the abort gets a companion listener that forgets it when the dispatch reaches it). The companion was added
 * after the late listener: a late listener that stopped the dispatch (`event.stopImmediatePropagation()`) was called
 * and dropped but stayed counted, and the companion, one more listener at the end, made Node call listeners that a
 * plain signal never calls (one added by the late listener). A `once` listener that a listener before it kept from
 * being called (it stays attached) was not counted since the abort began.
 */
import { getEventListeners } from 'node:events';
import { trackedAbortController } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * Aborts a plain and a tracked controller whose listeners `setup` adds; returns what each called, the tracked count,
 * and how many listeners the plain signal still holds.
 */
const dispatch = (setup: (signal: AbortSignal, called: string[]) => void) => {
  const plain = new AbortController();
  const tracked = trackedAbortController();
  const calls = [[], []] as [string[], string[]];
  setup(plain.signal, calls[0]);
  setup(tracked.signal, calls[1]);
  plain.abort();
  tracked.abort();
  const attached = getEventListeners(plain.signal, 'abort').length;
  return { plain: calls[0], tracked: calls[1], listeners: tracked.listeners, attached };
};

describe('trackedAbortController, once listeners and the abort dispatch', () => {
  it('does not count a once listener added during the abort once it was called, even if it stops the dispatch', () => {
    const run = dispatch((signal, called) => {
      const late = (event: Event): void => {
        called.push('late');
        event.stopImmediatePropagation();
      };
      signal.addEventListener('abort', () => signal.addEventListener('abort', late, { once: true }), {
        once: true,
      });
      signal.addEventListener('abort', () => {}, { once: true }); // so that Node reaches the late one
    });
    expect(run.tracked).toEqual(['late']);
    expect(run.listeners).toBe(0);
  });

  it.each([
    ['a late listener', true],
    ['a listener added again while attached (nothing is added)', false],
  ])('calls no listener a plain signal does not call: the last one called adds one, after %s', (_, late) => {
    const run = dispatch((signal, called) => {
      const last = (): void => void called.push('last');
      const x = (): void => {
        called.push('x');
        signal.addEventListener('abort', last, { once: true });
      };
      signal.addEventListener('abort', () => signal.addEventListener('abort', x, { once: true }), {
        once: true,
      });
      // Late, Node reaches x when a listener follows; else x is attached already when it is added again.
      signal.addEventListener('abort', late ? () => {} : x, { once: true });
    });
    expect(run.plain).toEqual(['x']);
    expect(run.tracked).toEqual(run.plain);
    expect(run.listeners).toBe(1); // `last`, added and never called
  });

  it('counts a once listener that a listener before it kept from being called', () => {
    const run = dispatch((signal, called) => {
      signal.addEventListener('abort', (event) => event.stopImmediatePropagation(), { once: true });
      signal.addEventListener('abort', () => void called.push('skipped'), { once: true });
    });
    expect(run.tracked).toEqual([]);
    expect(run.listeners).toBe(1);
  });
});

describe('trackedAbortController against a plain signal, listeners that add, remove and stop during the abort', () => {
  // Listener i, when called, runs its actions: add or remove listener j (with `once` / `capture`), or stop the
  // dispatch. The tracked signal must call the same listeners in the same order, and count what stays attached.
  const action = fc.oneof(
    fc.record({
      kind: fc.constantFrom('add', 'remove'),
      j: fc.nat(5),
      once: fc.boolean(),
      capture: fc.boolean(),
    }),
    fc.constant({ kind: 'stop' as const }),
  );
  it('calls the same listeners and counts those left attached (Node lists them)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(action, { maxLength: 3 }), { minLength: 6, maxLength: 6 }),
        fc.array(fc.record({ i: fc.nat(5), once: fc.boolean(), capture: fc.boolean() }), { maxLength: 6 }),
        (actions, initial) => {
          const run = dispatch((signal, called) => {
            const listeners = actions.map((list, i) => (event: Event): void => {
              called.push(`${i}`);
              for (const a of list)
                if (a.kind === 'stop') event.stopImmediatePropagation();
                else if (a.kind === 'add') signal.addEventListener('abort', listeners[a.j]!, a);
                else signal.removeEventListener('abort', listeners[a.j]!, a);
            });
            for (const { i, once, capture } of initial)
              signal.addEventListener('abort', listeners[i]!, { once, capture });
          });
          expect(run.tracked).toEqual(run.plain);
          expect(run.listeners).toBe(run.attached);
        },
      ),
      { seed: 26, numRuns: 1000 },
    );
  });
});
