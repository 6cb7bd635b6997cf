/**
 * Review round 33: 78a5899 skips the per-event `maxEventSize` compare in the LF loop for a chunk that cannot hold an
 * oversized event (data buffered + chunk length <= limit). These pin the edge of that bound: an event that fills its
 * whole chunk, and one that completes data buffered from earlier chunks, at the limit and one past it.
 */
import { createParser, type SseEvent, SseParseError } from '@integ/sse';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** Feeds `chunks`, then empty feeds until the rest a throw left behind is parsed; counts the throws. */
function run(chunks: string[], maxEventSize: number): { data: string[]; throws: number } {
  const data: string[] = [];
  let throws = 0;
  const parser = createParser({ onEvent: (e: SseEvent) => data.push(e.data), maxEventSize });
  const feed = (text: string): void => {
    for (let first = true; ; first = false) {
      try {
        parser.feed(first ? text : '');
        return;
      } catch (error) {
        expect(error).toBeInstanceOf(SseParseError);
        throws++;
      }
    }
  };
  for (const chunk of chunks) feed(chunk);
  return { data, throws };
}

describe('maxEventSize at the edge of the per-chunk bound (78a5899)', () => {
  for (const n of [1, 2, 7, 64, 1000]) {
    const value = 'x'.repeat(n);
    it(`one event filling its whole chunk, ${n} characters: dispatched at the limit, dropped one below`, () => {
      // With no `data: ` space the chunk is n + 7 characters: the bound must not let n + 1 through.
      for (const chunk of [`data:${value}\n\n`, `data: ${value}\n\n`]) {
        expect(run([chunk], n)).toEqual({ data: [value], throws: 0 });
        if (n > 1) expect(run([chunk], n - 1)).toEqual({ data: [], throws: 1 });
      }
    });

    it(`an event whose data came in earlier chunks, ${n} characters in all, ends in the LF loop`, () => {
      // 'a' in chunk one (kept as data), the rest and the blank line in chunk two, followed by a small event.
      const head = value.slice(0, Math.ceil(n / 2));
      const tail = value.slice(head.length);
      const chunks = [`data:${head}\n`, `data:${tail}\n\ndata:y\n\n`];
      const joined = `${head}\n${tail}`;
      expect(run(chunks, joined.length)).toEqual({ data: [joined, 'y'], throws: 0 });
      expect(run(chunks, joined.length - 1)).toEqual({ data: ['y'], throws: 1 });
    });
  }

  it('property: whole LF chunks of events dispatch exactly the events within the limit, one throw per other', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ' ', ':') }), { minLength: 1, maxLength: 3 }),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 8 }),
        (events, limit, perChunk) => {
          const text = events.map((lines) => `${lines.map((l) => `data: ${l}\n`).join('')}\n`);
          const chunks: string[] = [];
          for (let i = 0; i < text.length; i += perChunk) chunks.push(text.slice(i, i + perChunk).join(''));
          const all = events.map((lines) => lines.join('\n'));
          expect(run(chunks, limit)).toEqual({
            data: all.filter((d) => d.length <= limit),
            throws: all.filter((d) => d.length > limit).length,
          });
        },
      ),
      { seed: 33, numRuns: 500 },
    );
  });
});
