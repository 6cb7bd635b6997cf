/**
 * Bench helper: fixed-rate, open-loop load through a registry. Requests are sent at their intended
 * times (t0 + i / rate) whatever happened to earlier ones, and latency is measured from the intended
 * send time, so a stalled client or a slow backend cannot hide queueing (no coordinated omission).
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

function send(endpoint) {
  return new Promise((resolve) => {
    const url = new URL(endpoint.url);
    const req = request({ host: url.hostname, port: url.port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Runs `rate` req/s for `durationMs` against `registry.pick(service)`; returns per-request samples. */
export async function runLoad(registry, service, { rate, durationMs, warmupMs = 0 }) {
  const samples = [];
  const pending = new Set();
  const interval = 1000 / rate;
  const total = Math.floor(((durationMs + warmupMs) / 1000) * rate);
  const start = performance.now();
  let sent = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const intended = start + sent * interval;
        const recorded = intended - start >= warmupMs;
        sent++;
        const endpoint = registry.pick(service);
        const begun = performance.now();
        const p = send(endpoint).then((status) => {
          const done = performance.now();
          const ok = status > 0 && status < 500;
          registry.report(endpoint, { ok, latencyMs: done - begun, ...(status > 0 ? { status } : {}) });
          if (recorded) samples.push({ url: endpoint.url, latencyMs: done - intended, ok });
          pending.delete(p);
        });
        pending.add(p);
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
  });
  await Promise.all(pending);
  return samples;
}

/** Percentile (0-100) of a sorted array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarize(samples, special) {
  const latencies = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const toSpecial = samples.filter((s) => s.url === special).length;
  const errors = samples.filter((s) => !s.ok).length;
  return {
    requests: samples.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9),
    share: (100 * toSpecial) / Math.max(1, samples.length),
    errors: (100 * errors) / Math.max(1, samples.length),
  };
}

export function closeAgent() {
  agent.destroy();
}
