/**
 * Test helpers for mocked HTTP (msw): tell "still waiting for the server" from "got the answer and never settled"
 * without a timed wait.
 */

/** A fetch that says when the response has arrived. */
export function watchedFetch(): { fetch: typeof fetch; arrived: Promise<void> } {
  let arrive = (): void => {};
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  return {
    fetch: async (input, init) => {
      const response = await globalThis.fetch(input, init);
      arrive();
      return response;
    },
    arrived,
  };
}

/** Resolves `'pending'` after the pending I/O callbacks ran: raced against a promise that should have settled. */
export const turn = (): Promise<'pending'> =>
  new Promise((resolve) => setImmediate(() => resolve('pending')));
