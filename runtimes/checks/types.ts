// Deno's type check of the packed packages' .d.ts (deno check types.ts).

import { type BreakerState, createBreaker, isCircuitOpenError } from '@integ/breaker';
import { type Clock, isIntegError } from '@integ/core';
import { createQueue, memoryStore } from '@integ/queue';
import { exponential, type RetryOptions, retry } from '@integ/retry';
import { connect, EventSource, type SseEvent } from '@integ/sse';

const options: RetryOptions<Response> = { attempts: 3, backoff: exponential({ initial: 10 }) };
const res: Response = await retry(({ signal }) => fetch('data:,x', { signal }), options);
const state: BreakerState = createBreaker().state;
const events: SseEvent[] = [];
const source = new EventSource('http://127.0.0.1:1/');
source.addEventListener('tick', (e) =>
  events.push({ type: e.type, data: e.data, lastEventId: e.lastEventId }),
);
source.close();
const clock: Clock = {
  now: Date.now,
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as number),
};
const q = createQueue<{ a: number }>({ name: 'q', store: memoryStore(), clock });
// @ts-expect-error a payload of the wrong type
await q.push({ a: 'x' });
console.log(res.status, state, isIntegError(new Error()), isCircuitOpenError(null), typeof connect);
