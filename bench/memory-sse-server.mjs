// The loopback SSE server of memory.bench.mjs's client case, in a process of its own so its heap is not
// counted: every request gets one event at once and then an open stream. Prints its port.
import { createServer } from 'node:http';

const server = createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  response.write('retry: 60000\nid: 1\ndata: hello\n\n');
  request.on('close', () => response.end());
});
server.keepAliveTimeout = 0;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
