/**
 * Loads a Node built-in on first use. The specifier is not a literal on purpose: bundlers and the shared
 * neutral-platform build then leave `node:` imports alone (the main entry stays browser-safe until a
 * Node-only source is actually used).
 */
export async function nodeImport<T>(id: 'node:dgram' | 'node:net' | 'node:dns'): Promise<T> {
  const specifier: string = id;
  const mod = (await import(/* @vite-ignore */ specifier)) as { default?: unknown };
  return (mod.default ?? mod) as T;
}
