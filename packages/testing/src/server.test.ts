import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestServer } from '@integ/testing';
import { describe, expect, it } from 'vitest';

describe('createTestServer', () => {
  it('keeps failing unhandled requests when listen() gets onUnhandledRequest: undefined', async () => {
    // A real server on loopback stands for the network: it must see no request.
    let reached = 0;
    const network = createServer((_request, response) => {
      reached++;
      response.end('real network');
    });
    await new Promise<void>((resolve) => network.listen(0, '127.0.0.1', resolve));
    const { port } = network.address() as AddressInfo;
    const server = createTestServer();
    // What `listen({ onUnhandledRequest: process.env.CI ? 'bypass' : undefined })` passes outside CI.
    server.listen({ onUnhandledRequest: undefined } as unknown as Parameters<typeof server.listen>[0]);
    try {
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
      expect(reached).toBe(0);
    } finally {
      server.close();
      await new Promise((resolve) => network.close(resolve));
    }
  });
});
