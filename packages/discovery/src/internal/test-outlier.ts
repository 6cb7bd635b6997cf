/** Test helpers for outlier detection: report calls to one endpoint of service 's', read who is ejected. */
import type { Registry } from '@integ/discovery';

/** Reports `times` calls to `url` of service 's': a 200, or a 500 when `ok` is false. */
export function calls(registry: Registry, url: string, ok: boolean, times: number): void {
  const endpoint = registry.endpoints('s').find((e) => e.url === url);
  if (endpoint === undefined) throw new Error(`no ${url}`);
  for (let i = 0; i < times; i++)
    registry.report(endpoint, ok ? { ok, latencyMs: 1, status: 200 } : { ok, latencyMs: 1, status: 500 });
}

/** The URLs of service 's' that are ejected now. */
export const ejected = (registry: Registry): string[] =>
  registry
    .inspect('s')
    .endpoints.filter((e) => e.ejected)
    .map((e) => e.url);
