// Shared harness for the R4 runtime checks: runs on Node, Deno and Bun.
export const runtime =
  typeof Deno !== 'undefined'
    ? `deno ${Deno.version.deno}`
    : typeof Bun !== 'undefined'
      ? `bun ${Bun.version}`
      : `node ${process.version}`;
const results = [];
export async function check(name, fn) {
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(
      `FAIL ${name}\n     ${String(e?.stack ?? e)
        .split('\n')
        .slice(0, 4)
        .join('\n     ')}`,
    );
  }
}
export function summary(label) {
  const failed = results.filter((r) => !r.ok).length;
  console.log(`== ${label} on ${runtime}: ${results.length - failed}/${results.length} pass`);
  if (!failed) return;
  if (globalThis.process) process.exitCode = 1;
  else Deno.exitCode = 1;
}
export function assert(cond, msg) {
  if (!cond) throw new Error(`assert: ${msg}`);
}
export function eq(a, b, msg) {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  if (x !== y) throw new Error(`${msg}: got ${x}, want ${y}`);
}
export async function rejects(p, test, msg) {
  try {
    await p;
  } catch (e) {
    if (!test(e)) throw new Error(`${msg}: wrong rejection ${e?.name} ${e?.code} ${e?.message}`);
    return e;
  }
  throw new Error(`${msg}: resolved`);
}
export const wait = (ms) => new Promise((r) => setTimeout(r, ms));

/** A loopback HTTP server with the runtime's own API: handler(Request) => Response. */
export async function serve(handler) {
  if (typeof Deno !== 'undefined') {
    const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen() {} }, handler);
    return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
  }
  if (typeof Bun !== 'undefined') {
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: handler });
    return { url: `http://127.0.0.1:${server.port}`, close: async () => server.stop(true) };
  }
  const { createServer } = await import('node:http');
  const server = createServer(async (req, res) => {
    const response = await handler(
      new Request(`http://127.0.0.1${req.url}`, { headers: req.headers, method: req.method }),
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) return res.end();
    const reader = response.body.getReader();
    res.on('close', () => reader.cancel().catch(() => {}));
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) res.write(r.value);
    } catch {}
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  };
}
