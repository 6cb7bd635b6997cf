// What one line costs, in ns, on the large-chunk stream of sse.bench.mjs (64 KiB chunks, LF): the building
// blocks a parser in JavaScript can use, a floor parser, eventsource-parser and @integ/sse, side by side in
// one run. Decision 0045 reads these numbers. Build first: (cd packages/sse && corepack pnpm run build)
//   node bench/sse-lines.mjs      and      npx -p node@24 node bench/sse-lines.mjs
import { createParser } from '@integ/sse';
import { createParser as createReferenceParser } from 'eventsource-parser';
import { record } from './harness.mjs';
import { chunk, corpus } from './sse-corpus.mjs';

const chunks = chunk(corpus(1 << 20, '\n'), 64 * 1024);
const bytes = chunks.reduce((n, c) => n + c.length, 0);
let lines = 0;
for (const c of chunks) lines += c.split('\n').length - 1;

let sink = 0;
const onEvent = (e) => {
  sink += e.data.length;
};

/**
 * The least any streaming parser must do for this stream and no more: one indexOf per line, one slice per
 * value, one object and one call per event, its state kept between feed() calls. It knows only the four
 * line shapes of this corpus (no CR, no line cut by a chunk, no `retry`, no NULL or space checks): a floor,
 * not a parser.
 */
function createFloorParser({ onEvent: emit }) {
  let type = '';
  let id = '';
  let data = '';
  let hasData = false;
  return {
    feed(s) {
      let pos = 0;
      let lf = s.indexOf('\n');
      while (lf !== -1) {
        const start = pos;
        pos = lf + 1;
        const c = s.charCodeAt(start);
        if (c === 100) {
          const value = s.slice(start + 6, lf);
          if (s.charCodeAt(pos) === 10) {
            pos++;
            emit({ type: type || 'message', data: hasData ? `${data}\n${value}` : value, lastEventId: id });
            type = '';
            hasData = false;
          } else if (hasData) data = `${data}\n${value}`;
          else {
            data = value;
            hasData = true;
          }
        } else if (c === 101) type = s.slice(start + 7, lf);
        else if (c === 105) id = s.slice(start + 4, lf);
        lf = s.indexOf('\n', pos);
      }
    },
  };
}

/**
 * The floor plus what the standard requires on these same lines: whole field names (`data:`, `event:`, `id:`
 * matched in full, not by their first letter), one optional space after the colon, ids with NULL ignored,
 * the last event id kept, a blank line that dispatches. Still no CR, no cut lines, no comments or `retry`.
 */
function createCheckedFloorParser({ onEvent: emit }) {
  let type = '';
  let id = '';
  let last = '';
  let data = '';
  let hasData = false;
  const next = (s, at) => (s.charCodeAt(at) === 32 ? at + 1 : at);
  return {
    feed(s) {
      let pos = 0;
      let lf = s.indexOf('\n');
      while (lf !== -1) {
        const start = pos;
        pos = lf + 1;
        const c = s.charCodeAt(start);
        if (start === lf) {
          last = id;
          if (hasData) {
            const event = { type: type === '' ? 'message' : type, data, lastEventId: last };
            hasData = false;
            data = '';
            type = '';
            emit(event);
          } else type = '';
        } else if (
          c === 100 &&
          s.charCodeAt(start + 1) === 97 &&
          s.charCodeAt(start + 2) === 116 &&
          s.charCodeAt(start + 3) === 97 &&
          s.charCodeAt(start + 4) === 58
        ) {
          const value = s.slice(next(s, start + 5), lf);
          if (s.charCodeAt(pos) === 10) {
            pos++;
            last = id;
            const event = {
              type: type === '' ? 'message' : type,
              data: hasData ? `${data}\n${value}` : value,
              lastEventId: last,
            };
            data = '';
            type = '';
            hasData = false;
            emit(event);
          } else if (hasData) data = `${data}\n${value}`;
          else {
            data = value;
            hasData = true;
          }
        } else if (
          c === 101 &&
          s.charCodeAt(start + 1) === 118 &&
          s.charCodeAt(start + 2) === 101 &&
          s.charCodeAt(start + 3) === 110 &&
          s.charCodeAt(start + 4) === 116 &&
          s.charCodeAt(start + 5) === 58
        )
          type = s.slice(next(s, start + 6), lf);
        else if (c === 105 && s.charCodeAt(start + 1) === 100 && s.charCodeAt(start + 2) === 58) {
          const value = s.slice(next(s, start + 3), lf);
          if (value.indexOf('\0') === -1) id = value;
        }
        lf = s.indexOf('\n', pos);
      }
    },
  };
}

const tasks = {
  'indexOf per line': () => {
    for (const s of chunks) {
      let pos = 0;
      let lf = s.indexOf('\n');
      while (lf !== -1) {
        sink += lf - pos;
        pos = lf + 1;
        lf = s.indexOf('\n', pos);
      }
    }
  },
  'indexOf + slice per line': () => {
    for (const s of chunks) {
      let pos = 0;
      let lf = s.indexOf('\n');
      while (lf !== -1) {
        if (lf > pos) sink += s.slice(pos, lf).length;
        pos = lf + 1;
        lf = s.indexOf('\n', pos);
      }
    }
  },
  "split('\\n') per chunk": () => {
    for (const s of chunks) sink += s.split('\n').length;
  },
  "split('\\n') + walk + slice values": () => {
    for (const s of chunks) {
      const all = s.split('\n');
      for (let i = 0; i < all.length; i++) {
        const l = all[i];
        if (l.length > 0 && l.charCodeAt(0) === 100) sink += l.slice(6).length;
      }
    }
  },
  'floor parser (this corpus only)': () => {
    const p = createFloorParser({ onEvent });
    for (const c of chunks) p.feed(c);
  },
  'floor + the checks the standard requires': () => {
    const p = createCheckedFloorParser({ onEvent });
    for (const c of chunks) p.feed(c);
  },
  'eventsource-parser': () => {
    const p = createReferenceParser({ onEvent });
    for (const c of chunks) p.feed(c);
  },
  '@integ/sse': () => {
    const p = createParser({ onEvent });
    for (const c of chunks) p.feed(c);
  },
};

for (const fn of Object.values(tasks)) for (let i = 0; i < 20; i++) fn();
const best = Object.fromEntries(Object.keys(tasks).map((name) => [name, Number.POSITIVE_INFINITY]));
for (let round = 0; round < 21; round++) {
  for (const [name, fn] of Object.entries(tasks)) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 5; i++) fn();
    best[name] = Math.min(best[name], Number(process.hrtime.bigint() - start) / 5);
  }
}
const reference = best['eventsource-parser'];
record(
  `sse parser: ns per line, large chunks (${lines} lines, best of 21 rounds)`,
  Object.entries(best).map(([task, ns]) => ({
    task,
    'ns/line': ns / lines,
    'MB/s': (bytes / ns) * 1e3,
    'x eventsource-parser': `${(reference / ns).toFixed(2)}x`,
  })),
);
if (sink === 0) console.log('(nothing parsed)');
