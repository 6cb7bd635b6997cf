/**
 * @integ/discovery: find services, balance across them, avoid the sick ones. The main entry has no
 * static `node:` import; DNS and TCP checks load Node modules on first use (and are also published as
 * `@integ/discovery/dns` and `@integ/discovery/health`).
 */
// The types of the `clock` and `logger` options (and a source's context), so a user can name them without
// installing @integ/core.
export type { Clock, LogFn, Logger, TimerHandle } from '@integ/core';
export {
  type Balancer,
  type BalancerName,
  balancerFor,
  type CallOutcome,
  type EndpointLoad,
  type PeakEwmaOptions,
  p2cLeastLoaded,
  p2cPeakEwma,
  random,
  roundRobin,
  weighted,
} from './balancers.js';
export { type ConsulOptions, consul } from './consul.js';
export { type DnsAOptions, type DnsOptions, type DnsSrvOptions, dnsA, dnsSrv } from './dns.js';
export type { Endpoint, EndpointInit } from './endpoint.js';
export {
  DiscoverySourceError,
  InvalidUrlError,
  NoEndpointsError,
  type NoEndpointsReason,
  UnknownServiceError,
} from './errors.js';
export { type EtcdOptions, etcd } from './etcd.js';
export {
  type HealthCheck,
  type HealthCheckOptions,
  type HttpCheckOptions,
  httpCheck,
  tcpCheck,
} from './health.js';
export type {
  FailurePercentageEjection,
  OutlierDetectionOptions,
  SuccessRateEjection,
} from './outlier.js';
export {
  createRegistry,
  type EndpointInspection,
  type Registry,
  type RegistryOptions,
  type ServiceConfig,
  type ServiceInspection,
  type ServiceOptions,
} from './registry.js';
export type { Resolver, Snapshot, Source, SourceContext } from './source.js';
export { type EnvSource, envVariableFor, type FromEnvOptions, fromEnv, staticSource } from './static.js';
