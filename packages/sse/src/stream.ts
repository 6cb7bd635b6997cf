/**
 * The parser in stream shapes: a TransformStream of text to events, and a byte form that decodes UTF-8
 * itself (the event stream is always UTF-8, whatever charset the Content-Type claims).
 */
import { fail } from './internal/check.js';
import { createParser, type Parser, type SseEvent } from './parser.js';

/** Options of the stream forms: the parser's, minus `onEvent` (events are the stream's output). */
export interface ParserStreamOptions {
  /** Called with the reconnection time in ms of each valid `retry:` field. */
  readonly onRetry?: ((ms: number) => void) | undefined;
  /** Called with the text of each comment line. */
  readonly onComment?: ((comment: string) => void) | undefined;
  /** The last event id the stream starts with. @default '' */
  readonly lastEventId?: string | undefined;
  /** Most characters buffered for one event. @default Infinity */
  readonly maxEventSize?: number | undefined;
}

/** A parser fed with bytes (see {@link createByteParser}). */
export interface ByteParser {
  /**
   * Decodes and parses the next bytes of the stream.
   *
   * @throws {SseParseError} past `maxEventSize`
   * @throws {InvalidArgumentError} when `bytes` is not a Uint8Array (or another view or ArrayBuffer)
   */
  feed(bytes: Uint8Array): void;
  /** Starts a new stream (new decoder, next leading BOM stripped), keeping the last event id. */
  reset(): void;
  /** The last event id of the stream so far. */
  readonly lastEventId: string;
}

/** Options of {@link createByteParser}. */
export interface ByteParserOptions extends ParserStreamOptions {
  /** Called for every dispatched event. */
  readonly onEvent: (event: SseEvent) => void;
}

/**
 * Creates a parser fed with bytes: a streaming UTF-8 decoder in front of {@link createParser}. A character
 * split across chunks is decoded once complete, and exactly one leading BOM is stripped (the decoder keeps
 * BOMs, `ignoreBOM: true`, and the parser strips one).
 *
 * @example
 * ```ts
 * const parser = createByteParser({ onEvent: (event) => console.log(event.data) });
 * for await (const chunk of response.body) parser.feed(chunk);
 * ```
 */
export function createByteParser(options: ByteParserOptions): ByteParser {
  const parser = createParser(options);
  let decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  return {
    feed(bytes: Uint8Array): void {
      // What the decoder takes (any view or ArrayBuffer, also another realm's, which instanceof refused: Jest's vm
      // contexts get Node's). A string fails inside it with a TypeError, and undefined, read as no bytes, is given as one.
      let text: string | undefined;
      try {
        text = decoder.decode(bytes ?? '', { stream: true });
      } catch {}
      if (text === undefined) fail('feed(bytes)', 'a Uint8Array (text: createParser)', bytes);
      // Also '' (no bytes, half a character): the parser then parses the rest a throwing callback left.
      parser.feed(text);
    },
    reset(): void {
      decoder = new TextDecoder('utf-8', { ignoreBOM: true });
      parser.reset();
    },
    get lastEventId() {
      return parser.lastEventId;
    },
  };
}

/**
 * A TransformStream from text chunks to events. An unfinished event at the end is discarded, as the
 * standard says. It strips one leading BOM itself: a decoder in front must keep it (`ignoreBOM: true`; the
 * default TextDecoderStream strips one too, and a second BOM would be lost), or use
 * {@link createByteParserStream}.
 *
 * @example
 * ```ts
 * if (!response.body) throw new Error('no body'); // null for a HEAD request or a 204
 * const text = new TextDecoderStream('utf-8', { ignoreBOM: true });
 * const reader = response.body.pipeThrough(text).pipeThrough(createParserStream()).getReader();
 * for (let read = await reader.read(); !read.done; read = await reader.read()) console.log(read.value.data);
 * ```
 */
export function createParserStream(options?: ParserStreamOptions): TransformStream<string, SseEvent> {
  let parser: Parser | undefined;
  return new TransformStream<string, SseEvent>({
    start(controller) {
      parser = createParser({ ...options, onEvent: (event) => controller.enqueue(event) });
    },
    transform(chunk) {
      parser?.feed(chunk);
    },
  });
}

/**
 * A TransformStream from bytes (a fetch response body) to events, with streaming UTF-8 decoding that
 * strips exactly one leading BOM.
 *
 * @example
 * ```ts
 * if (!response.body) throw new Error('no body'); // null for a HEAD request or a 204
 * const reader = response.body.pipeThrough(createByteParserStream()).getReader();
 * for (let read = await reader.read(); !read.done; read = await reader.read()) console.log(read.value.data);
 * ```
 */
export function createByteParserStream(options?: ParserStreamOptions): TransformStream<Uint8Array, SseEvent> {
  let parser: ByteParser | undefined;
  return new TransformStream<Uint8Array, SseEvent>({
    start(controller) {
      parser = createByteParser({ ...options, onEvent: (event) => controller.enqueue(event) });
    },
    transform(chunk) {
      parser?.feed(chunk);
    },
  });
}
