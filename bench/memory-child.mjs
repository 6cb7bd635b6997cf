// One measurement of the memory benchmark, in a process of its own: `node --expose-gc memory-child.mjs
// <case> <peer>` prints one JSON line `{ metrics }` (bytes). memory.bench.mjs spawns it; see there for the method.
import { allocatedPerCall, median, perUnit, settled, timers, turns, until } from './memory-measure.mjs';

const [caseName, peer] = process.argv.slice(2);

// ---------------------------------------------------------------------------------------------- retry
const RETRY_UNITS = 10_000;
const failure = new Error('transient');

async function retryClients(withSignal) {
  const controller = withSignal ? new AbortController() : undefined;
  if (controller) (await import('node:events')).setMaxListeners(0, controller.signal);
  const signal = controller?.signal;
  let calls = 0;
  const fail = async () => {
    calls++;
    throw failure;
  };
  const makers = {
    '@integ/retry': async () => {
      const { constant, retry } = await import('@integ/retry');
      const options = { attempts: 2, backoff: constant(60_000), ...(signal ? { signal } : {}) };
      return (delay) => retry(fail, delay ? options : { ...options, backoff: constant(1) });
    },
    'p-retry': async () => {
      const { default: pRetry } = await import('p-retry');
      const options = {
        retries: 1,
        factor: 1,
        minTimeout: 60_000,
        maxTimeout: 60_000,
        ...(signal ? { signal } : {}),
      };
      return (delay) => pRetry(fail, delay ? options : { ...options, minTimeout: 1, maxTimeout: 1 });
    },
    cockatiel: async () => {
      const { ConstantBackoff, handleAll, retry } = await import('cockatiel');
      const long = retry(handleAll, { maxAttempts: 1, backoff: new ConstantBackoff(60_000) });
      const short = retry(handleAll, { maxAttempts: 1, backoff: new ConstantBackoff(1) });
      return (delay) => (delay ? long : short).execute(fail, signal);
    },
  };
  const start = await makers[peer]();
  return { start, controller, calls: () => calls };
}

async function retryParked(withSignal) {
  const { start, controller, calls } = await retryClients(withSignal);
  // Warm every path (first failure, wait, second failure, rejection) before the baseline.
  for (let i = 0; i < 50; i++) await start(false).catch(() => {});
  const keep = new Array(RETRY_UNITS).fill(undefined);
  const timersBefore = timers();
  const before = await settled();
  const firstCalls = calls();
  for (let i = 0; i < RETRY_UNITS; i++) {
    const promise = start(true);
    promise.catch(() => {});
    keep[i] = promise;
  }
  await until(() => calls() - firstCalls === RETRY_UNITS, 10_000, 'every first attempt');
  await turns(3);
  const parked = timers() - timersBefore;
  const after = await settled();
  const metrics = { parked: perUnit(before, after, RETRY_UNITS), timers: parked };
  if (controller) {
    // Abort them all: what is left afterwards is what the call did not free (cockatiel's wait cannot be aborted).
    controller.abort();
    const settledCount = await Promise.race([
      Promise.allSettled(keep).then((all) => all.length),
      new Promise((resolve) => setTimeout(() => resolve(0), 2000)),
    ]);
    keep.fill(undefined);
    const end = await settled();
    metrics.afterAbort = perUnit(before, end, RETRY_UNITS);
    metrics.settledByAbort = settledCount;
  }
  process.stdout.write(`${JSON.stringify({ metrics })}\n`);
  process.exit(0); // clears the timers of the waits nothing aborted
}

async function retrySuccess() {
  const ok = async () => 1;
  const runners = {
    'bare await': async () => async () => {
      await ok();
    },
    '@integ/retry': async () => {
      const { constant, retry } = await import('@integ/retry');
      const options = { attempts: 3, backoff: constant(0) };
      return async () => {
        await retry(ok, options);
      };
    },
    '@integ/retry (no options)': async () => {
      const { retry } = await import('@integ/retry');
      return async () => {
        await retry(ok);
      };
    },
    'p-retry': async () => {
      const { default: pRetry } = await import('p-retry');
      const options = { retries: 2, minTimeout: 0, maxTimeout: 0 };
      return async () => {
        await pRetry(ok, options);
      };
    },
    cockatiel: async () => {
      const { ConstantBackoff, handleAll, retry } = await import('cockatiel');
      const policy = retry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(0) });
      return async () => {
        await policy.execute(ok);
      };
    },
  };
  const run = await runners[peer]();
  const allocated = await allocatedPerCall(run);
  process.stdout.write(`${JSON.stringify({ metrics: { allocated } })}\n`);
}

// -------------------------------------------------------------------------------------------- breaker
const BREAKER_UNITS = 10_000;

async function breakerMaker() {
  const action = async () => 1;
  // Ours with the default consecutive-failure count, or with a sliding window of the given options.
  const ours = async (windowOptions) => {
    const { createBreaker, slidingWindow } = await import('@integ/breaker');
    const options = windowOptions ? { window: slidingWindow(windowOptions) } : {};
    return () => {
      const b = createBreaker(options);
      return { call: (fn) => b.execute(fn) };
    };
  };
  const makers = {
    '@integ/breaker': () => ours(),
    '@integ/breaker + slidingWindow()': () => ours({}),
    "@integ/breaker + slidingWindow({ type: 'time' })": () => ours({ type: 'time' }),
    'cockatiel ConsecutiveBreaker(5)': async () => {
      const { circuitBreaker, ConsecutiveBreaker, handleAll } = await import('cockatiel');
      return () => {
        const b = circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) });
        return { call: (fn) => b.execute(fn) };
      };
    },
    'cockatiel CountBreaker(100)': async () => {
      const { circuitBreaker, CountBreaker, handleAll } = await import('cockatiel');
      return () => {
        const breaker = new CountBreaker({ threshold: 0.5, size: 100, minimumNumberOfCalls: 10 });
        const b = circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker });
        return { call: (fn) => b.execute(fn) };
      };
    },
    'cockatiel SamplingBreaker(60 s)': async () => {
      const { circuitBreaker, SamplingBreaker, handleAll } = await import('cockatiel');
      return () => {
        const breaker = new SamplingBreaker({ threshold: 0.5, duration: 60_000 });
        const b = circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker });
        return { call: (fn) => b.execute(fn) };
      };
    },
    opossum: async () => {
      const { default: CircuitBreaker } = await import('opossum');
      // Defaults: a 10 s rolling window of 10 buckets (a timer per breaker), percentiles on, a 10 s timeout.
      // With percentiles on, every failure sorts the latency of every call of the last 10 s (opossum's `stats`),
      // which kept 1M calls with 10 % failures from finishing in several minutes: the 1M case turns them off.
      const options = caseName === 'breaker-1M' ? { rollingPercentilesEnabled: false } : {};
      return (fn = action) => {
        const b = new CircuitBreaker(fn, options);
        return { call: () => b.fire(), shutdown: () => b.shutdown(), breaker: b };
      };
    },
  };
  return makers[peer]();
}

async function breakerInstances() {
  const make = await breakerMaker();
  const ok = async () => 1;
  for (let i = 0; i < 50; i++) await make(ok).call(ok);
  const keep = new Array(BREAKER_UNITS).fill(undefined);
  const before = await settled();
  for (let i = 0; i < BREAKER_UNITS; i++) keep[i] = make(ok);
  const fresh = await settled();
  for (let i = 0; i < BREAKER_UNITS; i++) await keep[i].call(ok);
  const used = await settled();
  const metrics = {
    fresh: perUnit(before, fresh, BREAKER_UNITS),
    afterOneCall: perUnit(before, used, BREAKER_UNITS),
  };
  for (const b of keep) b.shutdown?.();
  process.stdout.write(`${JSON.stringify({ metrics })}\n`);
  process.exit(0);
}

async function breakerCalls() {
  const make = await breakerMaker();
  let n = 0;
  // One call in ten fails: never 5 in a row, 10 % of a window (under every threshold), so the circuit stays closed.
  const fn = async () => {
    if (++n % 10 === 0) throw failure;
    return 1;
  };
  const b = make(fn);
  const call = () => b.call(fn).catch(() => {});
  for (let i = 0; i < 1000; i++) await call();
  const before = await settled();
  const readings = {};
  let done = 1000;
  for (const mark of [100_000, 1_000_000]) {
    for (; done < mark; done++) await call();
    readings[mark] = perUnit(before, await settled(), 1);
  }
  b.shutdown?.();
  process.stdout.write(
    `${JSON.stringify({ metrics: { at100k: readings[100_000], at1M: readings[1_000_000] } })}\n`,
  );
  process.exit(0);
}

// ------------------------------------------------------------------------------------------------ sse
const PARSER_UNITS = 10_000;

async function parserMaker() {
  let events = 0;
  const onEvent = () => {
    events++;
  };
  const makers = {
    '@integ/sse': async () => {
      const { createParser } = await import('@integ/sse');
      return () => createParser({ onEvent });
    },
    'eventsource-parser': async () => {
      const { createParser } = await import('eventsource-parser');
      return () => createParser({ onEvent });
    },
  };
  return { make: await makers[peer](), events: () => events };
}

// A ~1 KiB network chunk: eight whole events, then an event cut inside its second data line.
function chunk(i) {
  let text = '';
  for (let e = 0; e < 8; e++)
    text += `id: ${i}-${e}\nevent: update\ndata: {"n":${i},"e":${e},"text":"hello world"}\n\n`;
  text += `id: ${i}-8\ndata: {"n":${i},"first":"line"}\ndata: {"n":${i},"second":"line, cut here at`;
  // Decoded from bytes, as a response body's text is: a flat string of its own, not a slice of a shared one.
  return Buffer.from(text).toString('utf8');
}

async function parserRetained() {
  const { make, events } = await parserMaker();
  for (let i = 0; i < 50; i++) make().feed(`${chunk(i)}"}\n\n`);
  const keep = new Array(PARSER_UNITS).fill(undefined);
  const before = await settled();
  const eventsBefore = events();
  for (let i = 0; i < PARSER_UNITS; i++) {
    const parser = make();
    parser.feed(chunk(i));
    keep[i] = parser;
  }
  const after = await settled();
  if (events() - eventsBefore !== PARSER_UNITS * 8)
    throw new Error(`expected 8 events per parser, got ${events()}`);
  // The half line is really held: finishing it dispatches the ninth event of each parser.
  for (const parser of keep) parser.feed('"}\n\n');
  if (events() - eventsBefore !== PARSER_UNITS * 9) throw new Error('a parser lost its half line');
  const chunkBytes = chunk(0).length;
  process.stdout.write(
    `${JSON.stringify({ metrics: { retained: perUnit(before, after, PARSER_UNITS) }, chunkBytes })}\n`,
  );
}

const MiB = 1024 * 1024;

async function parserStream(kind) {
  const { make, events } = await parserMaker();
  const { corpus } = await import('./sse-corpus.mjs');
  const size = 16 * MiB;
  let text;
  if (kind === 'corpus') text = corpus(size, '\n');
  else text = `data: ${'x'.repeat(size)}\n\n`; // one 16 MiB event
  // The stream is kept as bytes (counted in the baseline); each 64 KiB chunk is decoded as it is fed, as a
  // response body's would be, and dropped by this loop after feed(): what the parser keeps of it is counted.
  const bytes = Buffer.from(text);
  text = undefined;
  make().feed(corpus(64 * 1024, '\n'));
  const parser = make();
  const before = await settled();
  const eventsBefore = events();
  let peakLive = 0;
  let peakUsed = 0;
  let chunks = 0;
  for (let at = 0; at < bytes.length; at += 64 * 1024, chunks++) {
    parser.feed(bytes.toString('latin1', at, Math.min(at + 64 * 1024, bytes.length)));
    peakUsed = Math.max(peakUsed, process.memoryUsage().heapUsed - before.heap);
    // The live reading (six full GCs) after every 8th chunk and the last: 33 readings of 257 chunks.
    if (chunks % 8 !== 7 && at + 64 * 1024 < bytes.length) continue;
    const live = await settled();
    peakLive = Math.max(peakLive, live.heap - before.heap + live.external - before.external);
  }
  if (events() === eventsBefore) throw new Error('no event parsed');
  process.stdout.write(
    `${JSON.stringify({ metrics: { peakLive: { total: peakLive }, peakUsed: { total: peakUsed } }, chunks, events: events() - eventsBefore })}\n`,
  );
}

// 50 parsers read the same 4 MiB (each decodes its own chunks): what one parser keeps between two 64 KiB chunks,
// per parser, large enough to stand out of the JIT's noise that a single parser's reading is lost in.
async function parserChunkRetention() {
  const { make } = await parserMaker();
  const { corpus } = await import('./sse-corpus.mjs');
  const bytes = Buffer.from(corpus(4 * MiB, '\n'));
  const warm = make();
  for (let at = 0; at < bytes.length; at += 64 * 1024)
    warm.feed(bytes.toString('latin1', at, at + 64 * 1024));
  const parsers = Array.from({ length: 50 }, () => make());
  const before = await settled();
  const readings = [];
  for (let at = 0, i = 0; at < bytes.length; at += 64 * 1024, i++) {
    for (const parser of parsers) parser.feed(bytes.toString('latin1', at, at + 64 * 1024));
    if (i % 8 === 7) readings.push(perUnit(before, await settled(), parsers.length).total);
  }
  process.stdout.write(
    `${JSON.stringify({ metrics: { between: { total: median(readings) }, most: { total: Math.max(...readings) } } })}\n`,
  );
}

// A loopback SSE server in a child process, so its heap is not counted.
async function sseServer() {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [new URL('./memory-sse-server.mjs', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Also when this case fails (a library that does not load, a timeout): no server is left behind.
  process.on('exit', () => child.kill());
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (data) => resolve(Number(String(data).trim())));
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/events`, stop: () => child.kill() };
}

const CLIENT_UNITS = 200;

async function sseClients() {
  const server = await sseServer();
  let opened = 0;
  let messages = 0;
  // Either EventSource class, used the same way.
  const eventSource = (EventSource) => () => {
    const source = new EventSource(server.url);
    source.onopen = () => opened++;
    source.onmessage = () => messages++;
    return { close: () => source.close() };
  };
  const makers = {
    '@integ/sse connect()': async () => {
      const { connect } = await import('@integ/sse');
      return () => {
        const conn = connect(server.url, { onOpen: () => opened++ });
        (async () => {
          for await (const _ of conn) messages++;
        })().catch(() => {});
        return { close: () => conn.close() };
      };
    },
    '@integ/sse EventSource': async () => eventSource((await import('@integ/sse')).EventSource),
    'fetch() + body reader (floor)': async () => () => {
      // What any fetch-based client holds at least: a fetch, its response and a reader with a pending read.
      const controller = new AbortController();
      fetch(server.url, { signal: controller.signal, headers: { accept: 'text/event-stream' } })
        .then(async (response) => {
          opened++;
          const reader = response.body.getReader();
          for (let read = await reader.read(); !read.done; read = await reader.read()) messages++;
        })
        .catch(() => {});
      return { close: () => controller.abort() };
    },
    'eventsource 4.1.1': async () => eventSource((await import('eventsource')).EventSource),
  };
  const open = await makers[peer]();
  // Warm up fetch (undici loads lazily on first use) and the client's paths with a few connections.
  const warm = Array.from({ length: 5 }, () => open());
  await until(() => messages >= 5, 10_000, 'warm-up events');
  for (const c of warm) c.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  opened = 0;
  messages = 0;
  const keep = new Array(CLIENT_UNITS).fill(undefined);
  const before = await settled();
  for (let i = 0; i < CLIENT_UNITS; i++) keep[i] = open();
  // Each connection has opened and read the server's first event (the server sends it on connect).
  await until(() => opened >= CLIENT_UNITS && messages >= CLIENT_UNITS, 20_000, 'every connection open');
  const after = await settled();
  for (const c of keep) c.close();
  keep.fill(undefined);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const end = await settled();
  server.stop();
  process.stdout.write(
    `${JSON.stringify({ metrics: { open: perUnit(before, after, CLIENT_UNITS), afterClose: perUnit(before, end, CLIENT_UNITS) } })}\n`,
  );
  process.exit(0);
}

const cases = {
  'retry-parked': () => retryParked(false),
  'retry-parked-signal': () => retryParked(true),
  'retry-success': retrySuccess,
  'breaker-instances': breakerInstances,
  'breaker-1M': breakerCalls,
  'sse-parsers': parserRetained,
  'sse-stream': () => parserStream('corpus'),
  'sse-stream-one-event': () => parserStream('one-event'),
  'sse-chunk-retention': parserChunkRetention,
  'sse-clients': sseClients,
};

await cases[caseName]();
