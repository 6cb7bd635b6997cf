/**
 * The @integ demo app. For now: a versioned REST API with a health endpoint. It grows into the reference
 * app (queue workers, SSE, discovered upstreams behind breakers and retries, a dashboard) as packages land.
 */
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

/** Creates the demo's HTTP server (not listening yet). */
export function createDemoServer() {
  const startedAt = new Date().toISOString();
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/api/v1/health') {
      send(res, 200, { status: 'ok', startedAt });
      return;
    }
    send(res, 404, { error: 'not_found', message: `No route for ${req.method} ${url.pathname}` });
  });
}

function send(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST ?? '127.0.0.1';
  const server = createDemoServer();
  server.listen(port, host, () => {
    const address = server.address();
    console.log(`@integ demo listening on http://${host}:${address.port} (try /api/v1/health)`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
