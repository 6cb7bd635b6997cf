// The event streams of the SSE parser benchmarks (sse.bench.mjs, sse-lines.mjs).

/** A realistic mix: the seed's `data: <json>` events, named events with ids, multi-line data, heartbeats. */
export function corpus(targetBytes, newline) {
  let out = '';
  for (let i = 0; out.length < targetBytes; i++) {
    const payload = JSON.stringify({
      id: i,
      user: `user-${i % 97}`,
      action: 'update',
      value: Math.sin(i),
      tags: ['a', 'b'],
    });
    switch (i % 4) {
      case 0:
        out += `data: ${payload}${newline}${newline}`;
        break;
      case 1:
        out += `id: ${i}${newline}event: update${newline}data: ${payload}${newline}${newline}`;
        break;
      case 2:
        out += `event: batch${newline}data: ${payload}${newline}data: ${payload}${newline}${newline}`;
        break;
      default:
        out += `: heartbeat${newline}data: ${payload}${newline}${newline}`;
    }
  }
  return out;
}

// Each chunk is a string of its own, as TextDecoder gives it for every read of a response body (the corpus is
// ASCII, so characters and bytes coincide). `text.slice()` alone would give V8 "sliced strings", views into
// the one big corpus that no stream delivers, where every charCodeAt pays an extra indirection: run with
// SSE_BENCH_SLICED=1 to measure those too (decision 0045).
const decoder = new TextDecoder();
const encoder = new TextEncoder();
export function chunk(text, size) {
  const chunks = [];
  for (let i = 0; i < text.length; i += size) {
    const piece = text.slice(i, i + size);
    chunks.push(process.env.SSE_BENCH_SLICED === '1' ? piece : decoder.decode(encoder.encode(piece)));
  }
  return chunks;
}

/** The seed's stream: only `data: <json>` events. */
export function seedCorpus(targetBytes) {
  let out = '';
  for (let i = 0; out.length < targetBytes; i++)
    out += `data: ${JSON.stringify({ id: i, status: 'ok', value: Math.sin(i) })}\n\n`;
  return out;
}
