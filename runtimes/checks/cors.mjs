// A page only (runtimes/hosted.ts): what retry sees of a cross-origin server's Retry-After. Fetch hands a page a
// cross-origin response's headers only when they are CORS-safelisted or listed in Access-Control-Expose-Headers,
// and Retry-After / Retry-After-Ms are not safelisted (https://fetch.spec.whatwg.org/#cors-safelisted-response-header-name).
import { constant, retry } from '@integ/retry';
import { assert, check, eq, serve, summary } from './lib.mjs';

/**
 * Replies 503 with both hints to the first attempt, then 200; `expose` says which headers this server lists for the
 * page. The attempt is read from the URL, not counted on arrival: a browser may send a request twice (core-retry.mjs).
 */
async function hinting(expose) {
  return serve((request) => {
    if (new URL(request.url).searchParams.get('a') !== '1')
      return new Response('ok', { headers: { 'access-control-allow-origin': '*' } });
    const headers = { 'retry-after': '0', 'retry-after-ms': '0', 'access-control-allow-origin': '*' };
    if (expose) headers['access-control-expose-headers'] = expose;
    return new Response('busy', { status: 503, headers });
  });
}

async function delaysAgainst(server) {
  assert(new URL(server.url).origin !== location.origin, 'the server is cross-origin');
  const delays = [];
  const hidden = [];
  try {
    const res = await retry(({ attempt, signal }) => fetch(`${server.url}/?a=${attempt}`, { signal }), {
      backoff: constant(25),
      retryOnResult: (r) => {
        if (r.status >= 500) hidden.push(r.headers.get('retry-after'), r.headers.get('retry-after-ms'));
        return r.status >= 500;
      },
      onRetry: ({ delay }) => delays.push(delay),
    });
    eq(res.status, 200, 'final');
  } finally {
    await server.close();
  }
  return [delays, hidden];
}

await check(
  'retry: a cross-origin Retry-After the server does not expose is invisible: the backoff waits',
  async () => {
    eq(await delaysAgainst(await hinting(undefined)), [[25], [null, null]], 'delays, what the page reads');
  },
);
await check(
  'retry: exposed (Access-Control-Expose-Headers: Retry-After, Retry-After-Ms), the hint sets the wait',
  async () => {
    eq(
      await delaysAgainst(await hinting('Retry-After, Retry-After-Ms')),
      [[0], ['0', '0']],
      'delays, what the page reads',
    );
  },
);
await check(
  'retry: Access-Control-Expose-Headers: * exposes them too (a request without credentials)',
  async () => {
    eq(await delaysAgainst(await hinting('*')), [[0], ['0', '0']], 'delays, what the page reads');
  },
);
summary('cors');
