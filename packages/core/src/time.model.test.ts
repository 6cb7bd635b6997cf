/**
 * Properties of core's time helpers on the fake clock: `sleep` settles exactly at its time or with the
 * exact abort reason, `createDeadline` aborts at `expiresAt`, `linkSignals` follows the first source; each
 * leaves no timer and no listener behind.
 */
import { getEventListeners } from 'node:events';
import { createDeadline, linkSignals, sleep, TimeoutError } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;
// Reasons a caller may abort with, including the ones easy to lose (null, undefined, 0, '').
const reasonArb = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.constantFrom(0, '', false),
  fc.string(),
  fc.constant(new Error('caller')),
  fc.object(),
);
const msArb = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(0.5, 2.25, 10.125));
// How a promise stands after every promise callback queued so far has run (one macrotask turn).
const settled = async (promise: Promise<unknown>): Promise<{ state: string; value?: unknown }> => {
  let outcome: { state: string; value?: unknown } = { state: 'pending' };
  promise.then(
    () => {
      outcome = { state: 'resolved' };
    },
    (error: unknown) => {
      outcome = { state: 'rejected', value: error };
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return outcome;
};

describe('sleep (properties)', () => {
  it('resolves exactly at its time on the fake clock and leaves no timer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), msArb, async (start, ms) => {
        const clock = createFakeClock({ now: start });
        const signal = new AbortController().signal;
        const done = sleep(ms, { clock, signal });
        let at: number | undefined;
        void done.then(() => {
          at = clock.now();
        });
        if (ms >= 1) {
          await clock.advance(ms - 1);
          expect(at).toBeUndefined();
        }
        await clock.advance(Math.min(ms, 1));
        expect(at).toBe(start + ms);
        expect(clock.pendingTimers).toBe(0);
        expect(listeners(signal)).toBe(0);
      }),
      { seed: 1, numRuns: 60 },
    );
  });

  it('rejects with the exact signal.reason when aborted before its time, leaving nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        reasonArb,
        async (ms, fraction, reason) => {
          const clock = createFakeClock();
          const controller = new AbortController();
          const done = sleep(ms, { clock, signal: controller.signal });
          await clock.advance(Math.floor(ms * fraction));
          expect(await settled(done)).toEqual({ state: 'pending' });
          controller.abort(reason);
          const outcome = await settled(done);
          expect(outcome.state).toBe('rejected');
          // abort(undefined) stores an AbortError DOMException as the reason: that is what comes out.
          expect(outcome.value).toBe(controller.signal.reason);
          if (reason !== undefined) expect(outcome.value).toBe(reason);
          expect(clock.pendingTimers).toBe(0);
          expect(listeners(controller.signal)).toBe(0);
        },
      ),
      { seed: 2, numRuns: 60 },
    );
  });

  it('rejects at once with the reason of an already-aborted signal, without a timer or a listener', async () => {
    await fc.assert(
      fc.asyncProperty(msArb, reasonArb, async (ms, reason) => {
        const clock = createFakeClock();
        const controller = new AbortController();
        controller.abort(reason);
        const outcome = await settled(sleep(ms, { clock, signal: controller.signal }));
        expect(outcome).toEqual({ state: 'rejected', value: controller.signal.reason });
        expect(outcome.value).toBe(controller.signal.reason);
        expect(clock.pendingTimers).toBe(0);
        expect(listeners(controller.signal)).toBe(0);
      }),
      { seed: 3, numRuns: 40 },
    );
  });
});

describe('createDeadline (properties)', () => {
  it('aborts at expiresAt with a TimeoutError, not before, and dispose() leaves nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), msArb, async (start, ms) => {
        const clock = createFakeClock({ now: start });
        const caller = new AbortController();
        const deadline = createDeadline(ms, { clock, signal: caller.signal });
        expect(deadline.expiresAt).toBe(start + ms);
        if (ms >= 1) {
          await clock.advance(ms - 1);
          expect(deadline.signal.aborted).toBe(false);
          expect(deadline.expired()).toBe(false);
          expect(deadline.remaining()).toBe(deadline.expiresAt - clock.now());
        }
        await clock.advance(Math.min(ms, 1));
        expect(clock.now()).toBe(deadline.expiresAt);
        expect(deadline.signal.aborted).toBe(true);
        expect(deadline.signal.reason).toBeInstanceOf(TimeoutError);
        expect((deadline.signal.reason as TimeoutError).timeoutMs).toBe(ms);
        expect(deadline.expired()).toBe(true);
        expect(deadline.remaining()).toBe(0);
        expect(listeners(caller.signal)).toBe(0);
        deadline.dispose();
        expect(clock.pendingTimers).toBe(0);
        expect(listeners(caller.signal)).toBe(0);
      }),
      { seed: 4, numRuns: 60 },
    );
  });

  it("follows the caller's exact reason, and dispose() at any point frees the timer and the listener", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 999 }),
        fc.option(reasonArb, { nil: Symbol.for('no abort') }),
        fc.boolean(),
        async (ms, at, reason, alreadyAborted) => {
          const clock = createFakeClock();
          const caller = new AbortController();
          const aborts = reason !== Symbol.for('no abort');
          if (aborts && alreadyAborted) caller.abort(reason);
          const deadline = createDeadline(ms, { clock, signal: caller.signal });
          await clock.advance(Math.min(at, ms - 1));
          expect(deadline.signal.aborted).toBe(aborts && alreadyAborted);
          if (aborts && !alreadyAborted) caller.abort(reason);
          if (aborts) {
            expect(deadline.signal.aborted).toBe(true);
            expect(deadline.signal.reason).toBe(caller.signal.reason);
            expect(listeners(caller.signal)).toBe(0);
          }
          deadline.dispose();
          expect(clock.pendingTimers).toBe(0);
          expect(listeners(caller.signal)).toBe(0);
          expect(listeners(deadline.signal)).toBe(0);
          await clock.advance(ms);
          // A disposed deadline that had not fired never fires.
          expect(deadline.signal.aborted).toBe(aborts);
        },
      ),
      { seed: 5, numRuns: 80 },
    );
  });
});

describe('linkSignals (properties)', () => {
  it('follows the first source to abort with its exact reason, and detaches from every source', async () => {
    const sourceArb = fc.record({
      present: fc.boolean(),
      preAborted: fc.boolean(),
      reason: reasonArb,
    });
    await fc.assert(
      fc.property(
        fc.array(sourceArb, { maxLength: 5 }),
        fc.array(fc.nat(4), { maxLength: 6 }),
        fc.boolean(),
        (specs, abortOrder, disposeFirst) => {
          const controllers = specs.map((spec) => {
            const controller = new AbortController();
            if (spec.present && spec.preAborted) controller.abort(spec.reason);
            return controller;
          });
          const inputs = specs.map((spec, i) => (spec.present ? controllers[i]?.signal : undefined));
          const linked = linkSignals(...inputs);
          const firstPre = inputs.find((s) => s?.aborted);
          if (firstPre !== undefined) {
            expect(linked.signal.aborted).toBe(true);
            expect(linked.signal.reason).toBe(firstPre.reason);
          } else expect(linked.signal.aborted).toBe(false);
          if (disposeFirst) linked.dispose();
          let expected = firstPre;
          for (const i of abortOrder) {
            const source = inputs[i];
            if (source === undefined || source.aborted) continue;
            controllers[i]?.abort(specs[i]?.reason);
            if (expected === undefined && !disposeFirst) expected = source;
          }
          expect(linked.signal.aborted).toBe(expected !== undefined);
          if (expected !== undefined) expect(linked.signal.reason).toBe(expected.reason);
          if (expected !== undefined || disposeFirst)
            for (const c of controllers) expect(listeners(c.signal)).toBe(0);
          linked.dispose();
          for (const c of controllers) expect(listeners(c.signal)).toBe(0);
        },
      ),
      { seed: 6, numRuns: 200 },
    );
  });
});
