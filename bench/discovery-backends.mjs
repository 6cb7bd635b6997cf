/**
 * Bench helper: N loopback HTTP backends in their own process (so their event loop does not skew the
 * load generator's). Each answers after `delayMs` with `status`; the parent reconfigures them over IPC:
 *   process.send({ set: [{ delayMs: 2, status: 200 }, ...] })  -> replies { ok: true }
 * On start it sends { ports: [...] }.
 */
import { createServer } from 'node:http';

const count = Number(process.argv[2] ?? 10);
let config = Array.from({ length: count }, () => ({ delayMs: 2, status: 200 }));
const servers = [];
for (let i = 0; i < count; i++) {
  const server = createServer((req, res) => {
    const { delayMs, status } = config[i];
    const reply = () => {
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    };
    req.resume();
    if (delayMs > 0) setTimeout(reply, delayMs);
    else reply();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
}
process.on('message', (message) => {
  if (message?.set) {
    config = message.set;
    process.send({ ok: true });
  }
  if (message?.exit) process.exit(0);
});
process.send({ ports: servers.map((s) => s.address().port) });
