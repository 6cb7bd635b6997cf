/**
 * Review round 34: cross-review of 78a5899, which skips the per-event `maxEventSize` compare in the LF loop for a
 * chunk that "cannot hold an oversized event" (data buffered + chunk length <= limit, computed once per chunk).
 * The bound held for the chunk's own lines, not for data an `onEvent` (or `onComment`, `onRetry`) added by calling
 * feed() mid-chunk (decision 0166: documented, acting at once): the chunk's next `data:` line plus blank line
 * dispatched that data joined with its value, over the limit, where 78a5899^ threw SseParseError. Differentially
 * checked against 78a5899^'s parser (both built, random streams, splits, limits and re-entrant callbacks): this was
 * the only difference. The property below runs the LF loop against feed()'s CR path, which checks every event.
 */
import { createParser, type SseEvent, SseParseError } from '@integ/sse';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('maxEventSize with a callback that feeds the parser mid-chunk (78a5899)', () => {
  // The chunk (16 characters) is below the limit of 20, so 78a5899 checked none of its events.
  const chunk = 'data:x\n\ndata:y\n\n';

  for (const [name, inner] of [
    ['an LF-ended data line', `data:${'a'.repeat(20)}\n`],
    ['a CR-ended data line (no LF loop in the inner feed)', `data:${'a'.repeat(20)}\r`],
    ['two data lines', `data:${'a'.repeat(9)}\ndata:${'b'.repeat(10)}\n`],
  ] as const) {
    it(`an event joined with data an onEvent fed (${name}) is dropped when over the limit`, () => {
      const data: string[] = [];
      let first = true;
      const parser = createParser({
        maxEventSize: 20,
        onEvent: (e: SseEvent) => {
          data.push(e.data);
          if (first) {
            first = false;
            parser.feed(inner);
          }
        },
      });
      expect(() => parser.feed(chunk)).toThrow(SseParseError);
      expect(data).toEqual(['x']);
      // The rest of the chunk (nothing but its end) is parsed by the next feed; no event over 20 is ever seen.
      parser.feed('data:z\n\n');
      expect(data).toEqual(['x', 'z']);
    });
  }

  it('an event joined with data an onComment fed is dropped when over the limit', () => {
    const data: string[] = [];
    const parser = createParser({
      maxEventSize: 20,
      onEvent: (e: SseEvent) => data.push(e.data),
      onComment: () => parser.feed(`data:${'a'.repeat(20)}\n`),
    });
    expect(() => parser.feed(':c\ndata:y\n\n')).toThrow(SseParseError);
    expect(data).toEqual([]);
  });

  it('at the limit the joined event is still dispatched', () => {
    const data: string[] = [];
    let first = true;
    const parser = createParser({
      maxEventSize: 20,
      onEvent: (e: SseEvent) => {
        data.push(e.data);
        if (first) {
          first = false;
          parser.feed(`data:${'a'.repeat(18)}\n`);
        }
      },
    });
    parser.feed(chunk);
    expect(data).toEqual(['x', `${'a'.repeat(18)}\ny`]);
  });
});

/** Lines where parsers go wrong, and whole events (so the LF loop's one-pass dispatch is taken often). */
const LINES = [
  'data: x',
  'data:',
  'data',
  'data:  yy',
  'data:x:y',
  'dat',
  'd',
  'datax',
  'event: e',
  'event:',
  'event',
  'e',
  'id: 1',
  'id:',
  'id:\0',
  'i',
  ':c',
  ': c',
  ':',
  'retry: 5',
  'retry:x',
  '',
  '',
  'x',
  'data: \uFEFFq',
  `data:${'z'.repeat(10)}`,
  `data: ${'w'.repeat(25)}`,
];
const EVENTS = [
  'data: x\n\n',
  'data:\n\n',
  'event: e\ndata: q\n\n',
  'id: 7\ndata: r\n\n',
  'data: s\ndata: t\n\n',
  `data: ${'v'.repeat(17)}\n\n`,
  `data:${'u'.repeat(40)}\n\n`,
];

interface Input {
  lines: string[];
  bom: boolean;
  cuts: number[];
  max: number;
  acts: { kind: number; delta: number }[];
  resets: number[];
}

/**
 * Parses the stream with every line ended by `eol`, cut where `cuts` say (positions in the LF form), and records
 * everything the parser reports. Callbacks act by their call count: nothing, throw, feed() a data line of about
 * `max` characters (complete, LF-ended: a line left unfinished is glued differently by the two paths, 0166), the
 * same caught, or reset().
 */
function run({ lines, bom, cuts, max, acts, resets }: Input, eol: '\n' | '\r\n'): unknown[] {
  const trace: unknown[] = [];
  let calls = 0;
  const act = (what: string, value: unknown): void => {
    trace.push([what, value]);
    const a = acts[calls++ % acts.length];
    if (!a || calls > 100) return;
    const more = `data:${'z'.repeat(Math.max(0, Math.min(200, Math.floor(max) + a.delta)))}\n`;
    if (a.kind === 1) throw new Error(`callback ${calls}`);
    if (a.kind === 2) parser.feed(more);
    if (a.kind === 3)
      try {
        parser.feed(more);
      } catch (error) {
        trace.push(['inner', (error as Error).name]);
      }
    if (a.kind === 4) parser.reset();
  };
  const parser = createParser({
    onEvent: (e) => act('event', [e.type, e.data, e.lastEventId]),
    onComment: (c) => act('comment', c),
    onRetry: (r) => act('retry', r),
    maxEventSize: max,
  });
  // Positions in the LF form map to the CRLF form past one CR per earlier line ending.
  const lf = (bom ? '\uFEFF' : '') + lines.join('');
  const text = eol === '\n' ? lf : lf.replaceAll('\n', '\r\n');
  const at = (i: number): number => (eol === '\n' ? i : i + (lf.slice(0, i).split('\n').length - 1));
  const chunks: string[] = [];
  let previous = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    const end = at(Math.min(cut, lf.length));
    chunks.push(text.slice(previous, end));
    previous = end;
  }
  chunks.push(text.slice(previous), '', '', '');
  chunks.forEach((chunk, i) => {
    if (resets.includes(i)) parser.reset();
    try {
      parser.feed(chunk);
    } catch (error) {
      trace.push(['throw', (error as Error).name]);
    }
    trace.push(['id', parser.lastEventId]);
  });
  return trace;
}

describe("the LF loop against feed()'s CR path (differential, 78a5899)", () => {
  it('property: LF and CRLF forms of a stream report the same, whatever the limit and the callbacks do', () => {
    const line = fc
      .tuple(fc.constantFrom(...LINES), fc.string({ maxLength: 3, unit: fc.constantFrom('a', ' ', ':') }))
      .map(([l, extra]) => `${/^(data|event|id)/.test(l) ? l + extra : l}\n`);
    const lines = fc.oneof(
      fc.array(fc.oneof(line, fc.constantFrom(...EVENTS)), { maxLength: 8 }),
      fc.array(fc.oneof(line, fc.constantFrom(...EVENTS)), { maxLength: 30 }),
    );
    fc.assert(
      fc.property(
        fc.record({
          lines,
          bom: fc.boolean(),
          cuts: fc.array(fc.nat({ max: 300 }), { maxLength: 12 }),
          max: fc.oneof(
            fc.integer({ min: 1, max: 12 }),
            fc.integer({ min: 13, max: 120 }),
            fc.constant(Number.POSITIVE_INFINITY),
            fc.double({ min: 1, max: 40, noNaN: true }),
          ),
          acts: fc.array(
            fc.record({
              kind: fc.constantFrom(0, 0, 0, 1, 2, 3, 4),
              delta: fc.integer({ min: -12, max: 8 }),
            }),
            { minLength: 1, maxLength: 6 },
          ),
          resets: fc.array(fc.nat({ max: 8 }), { maxLength: 2 }),
        }),
        (input) => {
          const lf = run(input, '\n');
          expect(lf).toEqual(run(input, '\r\n'));
          // And no event over the limit reaches onEvent.
          for (const [what, value] of lf as [string, [string, string, string]][])
            if (what === 'event') expect(value[1].length).toBeLessThanOrEqual(input.max);
        },
      ),
      { seed: 34, numRuns: 3000 },
    );
  });
});
