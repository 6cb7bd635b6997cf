/**
 * The event stream parser of the WHATWG HTML standard, "Server-sent events", 9.2.6 "Parsing an event
 * stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream),
 * followed to the letter and written for speed: it scans the text with indexOf/charCodeAt, keeps only
 * the unfinished last line between chunks, and dispatches plain objects.
 */
import { IntegError } from '@integ/core';
import { checkNumber, fail } from './internal/check.js';

/**
 * One dispatched event, shaped like the DOM's `MessageEvent` as far as an event stream defines it.
 */
export interface SseEvent {
  /** The `event:` field, or `'message'` when the event had none (or an empty one). */
  readonly type: string;
  /** The `data:` lines joined with `\n`. */
  readonly data: string;
  /** The stream's last event id when the event was dispatched: it persists until an `id:` field changes it. */
  readonly lastEventId: string;
}

/** Callbacks and limits of {@link createParser}. */
export interface ParserOptions {
  /** Called for every dispatched event, synchronously from `feed()`. */
  readonly onEvent: (event: SseEvent) => void;
  /** Called with the reconnection time in ms of each valid `retry:` field (ASCII digits only). */
  readonly onRetry?: ((ms: number) => void) | undefined;
  /** Called with the text of each comment line (`:` and one following space removed). */
  readonly onComment?: ((comment: string) => void) | undefined;
  /** The last event id the stream starts with (a reconnecting client's). @default '' */
  readonly lastEventId?: string | undefined;
  /**
   * Most characters buffered for one event (its unfinished line plus its data so far), checked after each
   * `feed()`. Exceeding it discards the event and throws {@link SseParseError}. A number >= 1.
   * @default Infinity
   */
  readonly maxEventSize?: number | undefined;
}

/** A running parser: feed it text in chunks of any size. */
export interface Parser {
  /**
   * Parses the next piece of the stream. Events, retries and comments are reported synchronously.
   *
   * @throws {SseParseError} when the pending event grows past `maxEventSize`
   */
  feed(text: string): void;
  /**
   * Starts a new stream, as a reconnection does: drops the unfinished line and event, strips the next
   * leading BOM again, and keeps the last event id of the dispatched events.
   */
  reset(): void;
  /** The last event id of the stream so far (set by every finished event, dispatched or not). */
  readonly lastEventId: string;
}

/**
 * The pending event grew larger than `maxEventSize` (`ERR_SSE_EVENT_TOO_LARGE`).
 *
 * @example
 * ```ts
 * if (isIntegError(error, 'ERR_SSE_EVENT_TOO_LARGE')) console.warn('the server sent a huge event');
 * ```
 */
export class SseParseError extends IntegError {
  /** The limit that was exceeded, in characters. */
  readonly limit: number;

  constructor(limit: number) {
    super('ERR_SSE_EVENT_TOO_LARGE', `An SSE event exceeded maxEventSize (${limit} characters)`, {
      retryable: false,
    });
    this.limit = limit;
  }
}

const LF = 10;
const SPACE = 32;
const COLON = 58;
const DIGITS = /^\d+$/;

/**
 * Creates a parser of `text/event-stream` text.
 *
 * @throws {InvalidArgumentError} when `onEvent` is not a function or `maxEventSize` is not a number >= 1
 * @example
 * ```ts
 * const parser = createParser({ onEvent: (event) => console.log(event.type, event.data) });
 * parser.feed('event: greeting\ndata: hello\n\n'); // logs "greeting hello"
 * ```
 */
export function createParser(options: ParserOptions): Parser {
  const { onEvent, onRetry, onComment } = options;
  if (typeof onEvent !== 'function') fail('onEvent', 'a function', onEvent);
  // NaN would turn the limit off and a negative one would refuse every event: both are mistakes.
  const maxEventSize = checkNumber(
    'maxEventSize',
    options.maxEventSize,
    Number.POSITIVE_INFINITY,
    Number.POSITIVE_INFINITY,
    'a number of characters >= 1, or Infinity',
    1,
  );
  // The unfinished last line of the previous chunk (after a throwing callback: the rest of that chunk).
  let tail = '';
  // Nothing seen yet on this stream: a leading U+FEFF is still to be stripped.
  let atStart = true;
  // The previous chunk ended with CR: an LF starting the next one belongs to that line ending.
  let afterCR = false;
  let data = '';
  let hasData = false;
  let type = '';
  let idBuffer = options.lastEventId ?? '';
  let lastEventId = idBuffer;

  const dispatch = (): void => {
    lastEventId = idBuffer;
    // A blank line with no `data` field dispatches nothing (and forgets the event type).
    if (hasData) {
      const event: SseEvent = { type: type === '' ? 'message' : type, data, lastEventId };
      data = '';
      hasData = false;
      type = '';
      onEvent(event);
    } else type = '';
  };

  // One line in [start, end) of ls, not empty. Only the four known field names matter and anything else is
  // ignored, so names are matched by character codes: no colon search, no name string. A known name is
  // followed by ':' or by the end of the line (an empty value).
  const line = (ls: string, start: number, end: number): void => {
    const c = ls.charCodeAt(start);
    let v: number;
    if (c === COLON) {
      onComment?.(ls.slice(ls.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1, end));
      return;
    }
    if (c === 100) {
      if (
        ls.charCodeAt(start + 1) !== 97 ||
        ls.charCodeAt(start + 2) !== 116 ||
        ls.charCodeAt(start + 3) !== 97
      )
        return;
      v = start + 4; // data
    } else if (c === 101) {
      if (
        ls.charCodeAt(start + 1) !== 118 ||
        ls.charCodeAt(start + 2) !== 101 ||
        ls.charCodeAt(start + 3) !== 110 ||
        ls.charCodeAt(start + 4) !== 116
      )
        return;
      v = start + 5; // event
    } else if (c === 105) {
      if (ls.charCodeAt(start + 1) !== 100) return;
      v = start + 2; // id
    } else if (c === 114) {
      if (
        ls.charCodeAt(start + 1) !== 101 ||
        ls.charCodeAt(start + 2) !== 116 ||
        ls.charCodeAt(start + 3) !== 114 ||
        ls.charCodeAt(start + 4) !== 121
      )
        return;
      v = start + 5; // retry
    } else return;
    if (v < end) {
      // "data_5" or "ids:" are other, unknown, field names.
      if (ls.charCodeAt(v) !== COLON) return;
      v += ls.charCodeAt(v + 1) === SPACE ? 2 : 1;
    }
    const value = v >= end ? '' : ls.slice(v, end);
    if (c === 100) {
      if (hasData) data = `${data}\n${value}`;
      else {
        data = value;
        hasData = true;
      }
    } else if (c === 101) type = value;
    // An id containing NULL is ignored (it could not be sent back in a Last-Event-ID header).
    else if (c === 105) {
      if (value.indexOf('\0') === -1) idBuffer = value;
    }
    // Only ASCII digits: "1000x", "-1", " 5" and "1e3" are ignored.
    else if (DIGITS.test(value)) onRetry?.(+value);
  };

  const feed = (text: string): void => {
    let s = text;
    let pos = 0;
    if (s.length === 0) return;
    if (atStart) {
      atStart = false;
      // The stream is decoded with UTF-8 decode, which strips exactly one leading BOM.
      if (s.charCodeAt(0) === 0xfeff) pos = 1;
    }
    if (afterCR) {
      afterCR = false;
      if (s.charCodeAt(pos) === LF) pos++;
    }
    if (tail !== '') {
      s = pos === 0 ? s : s.slice(pos);
      // For a large chunk join() is worth its cost: it gives a flat string, where `tail + s` gives a cons
      // string that every charCodeAt and slice has to unwrap.
      s = s.length > 1024 ? [tail, s].join('') : tail + s;
      pos = 0;
      tail = '';
    }
    const len = s.length;
    let cr = s.indexOf('\r', pos);
    let lf = s.indexOf('\n', pos);
    try {
      while (cr !== -1 || lf !== -1) {
        const start = pos;
        let end: number;
        if (lf !== -1 && (cr === -1 || lf < cr)) {
          end = lf;
          pos = lf + 1;
          lf = s.indexOf('\n', pos);
        } else {
          end = cr;
          pos = cr + 1;
          if (lf === pos) {
            pos++;
            lf = s.indexOf('\n', pos);
          } else if (pos === len) afterCR = true;
          cr = s.indexOf('\r', pos);
        }
        if (start === end) dispatch();
        else if (
          // `data:` lines, the most common by far, are handled inline.
          s.charCodeAt(start) === 100 &&
          s.charCodeAt(start + 1) === 97 &&
          s.charCodeAt(start + 2) === 116 &&
          s.charCodeAt(start + 3) === 97 &&
          s.charCodeAt(start + 4) === COLON
        ) {
          const value = s.slice(s.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, end);
          if (hasData) data = `${data}\n${value}`;
          else {
            data = value;
            hasData = true;
          }
        } else line(s, start, end);
      }
    } catch (error) {
      // A callback threw: keep the unparsed rest of the chunk for the next feed(), so no other event is lost.
      // (The tail then holds whole lines too; the next feed() parses them first.)
      if (pos < len) tail = s.slice(pos);
      throw error;
    }
    if (pos < len) tail = pos === 0 ? s : s.slice(pos);
    if (tail.length + data.length > maxEventSize) overflow();
  };

  const overflow = (): never => {
    reset();
    throw new SseParseError(maxEventSize);
  };

  const reset = (): void => {
    tail = '';
    atStart = true;
    afterCR = false;
    data = '';
    hasData = false;
    type = '';
    idBuffer = lastEventId;
  };

  return {
    feed,
    reset,
    get lastEventId() {
      return lastEventId;
    },
  };
}
