/**
 * @integ/sse: Server-Sent Events done exactly as the WHATWG standard says: a fast spec parser (text,
 * TransformStream and bytes forms), the encoder a server needs, and a fetch-based reconnecting client
 * (`connect`, `EventSource`). Web-standard APIs only: no `node:` import in this entry point.
 */
// The types the `clock` option takes, so a custom clock is typed without installing @integ/core.
export type { Clock, TimerHandle } from '@integ/core';
export { connect, type SseConnection } from './connect.js';
export { type EncodeEventInit, encodeEvent } from './encode.js';
export { SseConnectionError, SseHttpError, type SseHttpErrorCode } from './errors.js';
export { EventSource, type EventSourceInit } from './event-source.js';
export { type ConnectOptions, isEventStream, type ReconnectInfo } from './internal/session.js';
export { createParser, type Parser, type ParserOptions, type SseEvent, SseParseError } from './parser.js';
export {
  type ByteParser,
  type ByteParserOptions,
  createByteParser,
  createByteParserStream,
  createParserStream,
  type ParserStreamOptions,
} from './stream.js';
