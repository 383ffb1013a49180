import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The platform's metrics in one registry: process defaults plus WebSocket, NATS, error and
 * assessment counters. Each service records only the ones that concern it.
 */
export type Metrics = {
  readonly registry: Registry;
  /** Reports the gateway's open WebSocket connections, read at each scrape. */
  connections(count: () => number): void;
  /** A frame received from (`frameIn`) or sent to (`frameOut`) a WebSocket client, by frame type. */
  frameIn(type: string): void;
  frameOut(type: string): void;
  /** An error reported to a caller, by error code. */
  error(code: string): void;
  /** A NATS request this process made, and how long its reply took. */
  requestDone(subject: string, seconds: number): void;
  /** A NATS request this process answered: `ok` or the error code it replied with. */
  handled(subject: string, outcome: string): void;
  /** An assessment that reached a final status. */
  assessmentFinished(status: string): void;
};

/** Creates a registry with default process metrics labelled with the service name. */
export function createMetrics(options: { service: string }): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  let countConnections: () => number = () => 0;
  new Gauge({
    name: 'ws_connections',
    help: 'Open WebSocket connections on this gateway.',
    registers: [registry],
    collect() {
      this.set(countConnections());
    },
  });
  const frames = new Counter({
    name: 'ws_frames_total',
    help: 'WebSocket frames, by direction (in, out) and frame type.',
    labelNames: ['direction', 'type'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'nats_request_duration_seconds',
    help: 'Time from sending a NATS request to its reply (or failure), by subject.',
    labelNames: ['subject'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const handled = new Counter({
    name: 'nats_handled_total',
    help: 'NATS requests answered by this process, by subject and outcome (ok or an error code).',
    labelNames: ['subject', 'outcome'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'errors_total',
    help: 'Errors reported to callers, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const assessments = new Counter({
    name: 'assessments_total',
    help: 'Assessments that reached a final status, by status.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  return {
    registry,
    connections(count) {
      countConnections = count;
    },
    frameIn: (type) => frames.inc({ direction: 'in', type }),
    frameOut: (type) => frames.inc({ direction: 'out', type }),
    error: (code) => errors.inc({ code }),
    requestDone: (subject, seconds) => requestDuration.observe({ subject }, seconds),
    handled(subject, outcome) {
      handled.inc({ subject, outcome });
      if (outcome !== 'ok') errors.inc({ code: outcome });
    },
    assessmentFinished: (status) => assessments.inc({ status }),
  };
}
