import { fileURLToPath } from 'node:url';
import { freePort } from './net.ts';
import { spawnServer, startupError } from './proc.ts';
import type { LogFn, ServerProcess } from './proc.ts';

/** The platform's services, in the order they start. */
export const SERVICE_NAMES = ['auth', 'assessment', 'chat', 'cleanup', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Options of {@link startPlatform}. */
export type PlatformOptions = {
  natsUrl: string;
  mongoUrl: string;
  /** Database name shared by the services (each owns its own collections). */
  dbName: string;
  /** Number of processes per service (default 1 each). */
  replicas?: Partial<Record<ServiceName, number>>;
  /** Gateway ports; free ports when absent. */
  gatewayPorts?: number[];
  /**
   * Give every non-gateway replica its own free METRICS_PORT (see `processes[i].metricsUrl`).
   * Without it their metrics servers are off (METRICS_PORT=0), since replicas share one host.
   * Gateways always get one: it is where their /metrics is.
   */
  metricsPorts?: boolean;
  /** Environment the services inherit (PATH, HOME…), usually the caller's own. */
  inheritEnv?: Readonly<Record<string, string | undefined>>;
  /** Each service's NATS NKEY seed (`NATS_NKEY_SEED`), e.g. from `Infra.natsIdentities`; a service without one inherits the caller's. */
  natsSeeds?: Partial<Record<ServiceName, string>> | undefined;
  /** Extra environment for every service (e.g. LOG_LEVEL, SWEEP_INTERVAL_MS). */
  env?: Record<string, string>;
  log?: LogFn | undefined;
  readyTimeoutMs?: number;
};

/** A running platform: one child process per service replica. */
export type Platform = {
  gatewayUrls: string[];
  /** `metricsUrl` serves /metrics, /healthz and /readyz on the replica's METRICS_PORT (every gateway; the others with `metricsPorts`). */
  processes: { service: ServiceName; index: number; proc: ServerProcess; metricsUrl?: string }[];
  /** Stops one replica (SIGTERM, then SIGKILL); `restart` starts it again with the same settings. */
  stop(service: ServiceName, index?: number): Promise<void>;
  restart(service: ServiceName, index?: number): Promise<void>;
  /** Kills one replica with SIGKILL, as a crash would; `restart` brings it back. */
  kill(service: ServiceName, index?: number): Promise<void>;
  close(): Promise<void>;
};

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The entry point of a service, run by Node directly from source. */
export function serviceEntry(service: ServiceName): string {
  return `${repoRoot}services/${service}/src/main.ts`;
}

/**
 * Starts every service as its own Node process against the given NATS and MongoDB, then waits
 * until each gateway answers `/readyz` (which needs NATS and the auth service's keys).
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const replicas = (s: ServiceName) => options.replicas?.[s] ?? 1;
  const gatewayCount = replicas('gateway');
  const ports = options.gatewayPorts ?? (await Promise.all(Array.from({ length: gatewayCount }, () => freePort())));
  const processes: Platform['processes'] = [];
  const baseEnv: Record<string, string> = {
    ...definedOnly(options.inheritEnv ?? {}),
    NATS_URL: options.natsUrl,
    MONGO_URL: options.mongoUrl,
    MONGO_DB: options.dbName,
    LOG_LEVEL: 'warn',
    METRICS_PORT: '0',
    ...options.env,
  };
  const metricsPorts = new Map<string, number>();
  for (let i = 0; i < gatewayCount; i++) metricsPorts.set(`gateway/${i}`, await freePort());
  if (options.metricsPorts === true) {
    for (const service of SERVICE_NAMES.filter((s) => s !== 'gateway')) {
      for (let i = 0; i < replicas(service); i++) metricsPorts.set(`${service}/${i}`, await freePort());
    }
  }

  function envFor(service: ServiceName, index: number): Record<string, string> {
    const seed = options.natsSeeds?.[service];
    const env = seed === undefined ? baseEnv : { ...baseEnv, NATS_NKEY_SEED: seed };
    const metricsPort = metricsPorts.get(`${service}/${index}`);
    const withMetrics = metricsPort === undefined ? env : { ...env, METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' };
    return service === 'gateway' ? { ...withMetrics, PORT: String(ports[index]), HOST: '127.0.0.1' } : withMetrics;
  }

  function metricsUrlOf(service: ServiceName, index: number): { metricsUrl?: string } {
    const metricsPort = metricsPorts.get(`${service}/${index}`);
    return metricsPort === undefined ? {} : { metricsUrl: `http://127.0.0.1:${metricsPort}` };
  }

  function spawnReplica(service: ServiceName, index: number): ServerProcess {
    return spawnServer(`${service}${replicas(service) > 1 ? `-${index}` : ''}`, process.execPath, [serviceEntry(service)], {
      env: envFor(service, index),
      log: options.log,
      cwd: repoRoot,
    });
  }

  for (const service of SERVICE_NAMES) {
    for (let i = 0; i < replicas(service); i++)
      processes.push({ service, index: i, proc: spawnReplica(service, i), ...metricsUrlOf(service, i) });
  }
  const gatewayUrls = ports.map((p) => `http://127.0.0.1:${p}`);
  const platform: Platform = {
    gatewayUrls,
    processes,
    async stop(service, index = 0) {
      const entry = processes.find((p) => p.service === service && p.index === index);
      await entry?.proc.stop();
    },
    async kill(service, index = 0) {
      const entry = processes.find((p) => p.service === service && p.index === index);
      await entry?.proc.kill('SIGKILL');
    },
    async restart(service, index = 0) {
      const entry = processes.find((p) => p.service === service && p.index === index);
      if (entry === undefined) throw new Error(`no ${service} replica ${index}`);
      await entry.proc.stop();
      entry.proc = spawnReplica(service, index);
      if (service === 'gateway') await waitReady(gatewayUrls[index] as string, entry.proc, options.readyTimeoutMs ?? 30_000);
    },
    async close() {
      // Edge first, so no new work arrives while the services drain.
      const order = [...processes].sort((a, b) => SERVICE_NAMES.indexOf(b.service) - SERVICE_NAMES.indexOf(a.service));
      for (const p of order) await p.proc.stop();
    },
  };
  try {
    await Promise.all(
      processes
        .filter((p) => p.service === 'gateway')
        .map((p) => waitReady(gatewayUrls[p.index] as string, p.proc, options.readyTimeoutMs ?? 30_000)),
    );
  } catch (err) {
    await platform.close();
    throw err;
  }
  return platform;
}

async function waitReady(url: string, proc: ServerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited()) throw startupError(proc, 'gateway stopped while starting');
    try {
      // Bounded: whatever else holds the port may accept and never answer.
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw startupError(proc, `gateway at ${url} not ready within ${timeoutMs} ms`);
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
