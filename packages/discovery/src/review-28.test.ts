/**
 * Review round 28: a cross-review of round 27's fix 6a50c29 (every body cancel goes through drop(), which ignores a
 * body it cannot cancel), attacking the cancels drop() does not cover: a reader's, in readJson().
 */
import { consul, createRegistry, type Registry } from '@integ/discovery';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, it } from 'vitest';

const opened: Registry[] = [];
afterEach(() => {
  for (const registry of opened.splice(0)) registry.close();
});

describe('a reader whose cancel() returns no promise (6a50c29 covered bodies only)', () => {
  it.each([
    ['returns undefined', (): undefined => undefined],
    [
      'throws',
      (): never => {
        throw new TypeError('no cancel');
      },
    ],
  ])(
    'when its cancel() %s, an answer past maxResponseBytes and a read past the time limit say why',
    async (_, cancel) => {
      // A mock reader whose cancel() ends its pending read, then returns no promise (or throws).
      const reader = (chunks: Uint8Array[]) => {
        let end = (): void => {};
        return {
          read: () => {
            const value = chunks.shift();
            if (value) return Promise.resolve({ value, done: false });
            return new Promise((resolve) => {
              end = () => resolve({ value: undefined, done: true });
            });
          },
          cancel: () => {
            end();
            return cancel();
          },
        };
      };
      const fetchStub = (async (input: string) => ({
        ok: true,
        status: 200,
        headers: new Headers(),
        body: { getReader: () => reader(input.includes('/big') ? [new Uint8Array(2048)] : []) },
      })) as unknown as typeof fetch;
      const clock = createFakeClock();
      const registry = createRegistry({
        services: {
          big: consul('big', { fetch: fetchStub, maxResponseBytes: 1024 }),
          slow: consul('slow', { fetch: fetchStub }),
        },
        clock,
      });
      opened.push(registry);
      const failure = (name: string) => registry.ready(name).catch((error: Error) => error.message);
      expect(await failure('big')).toMatch(/^consul: big: health API: the answer is larger than 1024 bytes/);
      const slow = failure('slow');
      await clock.advance(10_000);
      expect(await slow).toBe('consul: no answer within 10000 ms');
    },
  );
});
