/** `@ap/metrics`: Prometheus metrics of the platform and the small HTTP server that exposes them. */
export { createMetrics } from './metrics.ts';
export type { Metrics } from './metrics.ts';
export { createReadiness, serveServiceMetrics, startMetricsServer } from './server.ts';
export type { MetricsServer, Readiness } from './server.ts';
