/**
 * What a source produces and `registry.pick()` returns: one address of a service.
 */

/** One endpoint of a service, as returned by `registry.pick()`. Immutable. */
export interface Endpoint {
  /** The URL to call, e.g. `http://10.0.0.7:8080`. */
  readonly url: string;
  /** The service this endpoint belongs to (the key in `createRegistry({ services })`). */
  readonly service: string;
  /** Relative weight (RFC 2782 / Consul `Weights.Passing`); used by the `weighted` balancer. @default 1 */
  readonly weight: number;
  /** Priority tier, lower is preferred (RFC 2782). @default 0 */
  readonly priority: number;
  /** The host name the endpoint was discovered under (SRV target), when `url` uses a resolved address. */
  readonly hostname?: string;
  /** Source-specific metadata (Consul tags and meta, etcd key). */
  readonly meta?: Readonly<Record<string, string>>;
}

/** An endpoint as a source describes it: everything but `service` is optional except `url`. */
export interface EndpointInit {
  readonly url: string;
  /** @default 1 */
  readonly weight?: number;
  /** @default 0 */
  readonly priority?: number;
  readonly hostname?: string;
  readonly meta?: Readonly<Record<string, string>>;
}
