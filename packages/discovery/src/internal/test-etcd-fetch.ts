/**
 * A fetch standing in for etcd's JSON gateway in unit tests of the watch (no server): the range holds one key and
 * the watch streams the chunks given, then stays open.
 */

export const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A fetch for etcd's JSON gateway: a range holding one key, then a watch streaming `chunks` and staying open. */
export function etcdFetch(chunks: readonly string[]): typeof fetch {
  const encoder = new TextEncoder();
  return (async (input: string | URL | Request) => {
    if (String(input).endsWith('/v3/kv/range'))
      return new Response(
        JSON.stringify({
          header: { revision: '1' },
          kvs: [{ key: b64('/s/a'), value: b64('http://10.0.0.1:80') }],
        }),
      );
    let i = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          if (i === chunks.length) return new Promise<void>(() => {}); // the watch stays open
          controller.enqueue(encoder.encode(chunks[i++] as string));
          return undefined;
        },
      }),
    );
  }) as typeof fetch;
}
