import { join } from 'node:path';
import { processEnvironment, readStackConfig, type StackEnv } from './config.ts';
import { dockerAvailable, startMongoContainer, startNatsContainer } from './docker.ts';
import { startMongo } from './mongo.ts';
import { startNats } from './nats.ts';
import { startNatsCluster } from './nats-cluster.ts';
import type { NatsCluster } from './nats-cluster.ts';
import { createNatsIdentities, natsAuthorizationConfig, publicKeysOf } from './nats-auth.ts';
import type { NatsIdentities } from './nats-auth.ts';
import type { LogFn } from './proc.ts';

/** Options for {@link startInfra}. */
export interface InfraOptions {
  /** Use this NATS server instead of starting one (e.g. from `NATS_URL`). */
  natsUrl?: string | undefined;
  /** Use this MongoDB server instead of starting one (e.g. from `MONGO_URL`). */
  mongoUrl?: string | undefined;
  /** Persistent data directory for local servers (`<dir>/nats`, `<dir>/mongo`); default: temp dirs. */
  dir?: string | undefined;
  /** Receives server output lines. */
  log?: LogFn | undefined;
  /** Environment for tool lookup and Docker detection (default: this process's environment). */
  env?: StackEnv | undefined;
  /** Set false to skip the testcontainers path even when Docker answers. */
  docker?: boolean | undefined;
  /**
   * Start this many local nats-servers as one JetStream cluster (3 is what production runs)
   * instead of a single server; `natsUrl` then lists every node. Always local processes, even
   * when Docker answers. Give the services `JETSTREAM_REPLICAS` up to this number.
   */
  natsCluster?: number | undefined;
}

/** Where a piece of infrastructure came from. */
export type InfraSource = 'given' | 'container' | 'nats-server' | 'nats-cluster' | 'mongod' | 'ferretdb';

/** Running (or borrowed) NATS and MongoDB servers. */
export interface Infra {
  natsUrl: string;
  mongoUrl: string;
  natsSource: InfraSource;
  mongoSource: InfraSource;
  /** Prometheus metrics of a FerretDB started here (commands counted by name). */
  mongoMetricsUrl?: string;
  /**
   * The NKEY users of a NATS server started here (its config admits only them, each with its
   * own permissions); absent for a given `natsUrl`, whose credentials come from the environment.
   */
  natsIdentities?: NatsIdentities;
  /** The nodes of a cluster started with `natsCluster`, each of which can be killed and started again. */
  natsCluster?: NatsCluster;
  /** Stops whatever {@link startInfra} started; given URLs are left alone. */
  close: () => Promise<void>;
}

/**
 * Provides NATS (with JetStream) and MongoDB: given URLs first, else containers via
 * testcontainers when a Docker engine answers, else local child processes
 * (nats-server; mongod, or FerretDB on SQLite).
 */
export async function startInfra(opts: InfraOptions = {}): Promise<Infra> {
  const env = opts.env ?? processEnvironment();
  const cfg = readStackConfig(env);
  const cluster = opts.natsUrl === undefined && opts.natsCluster !== undefined && opts.natsCluster > 1;
  const needNats = opts.natsUrl === undefined && !cluster;
  const needMongo = opts.mongoUrl === undefined;
  const useDocker = (needNats || needMongo) && opts.docker !== false && (await dockerAvailable(cfg));
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const c of closers.splice(0).reverse()) {
      await c().catch((e: unknown) => errors.push(e));
    }
    if (errors.length > 0) throw new AggregateError(errors, 'failed to stop infrastructure');
  };
  try {
    let natsUrl = opts.natsUrl;
    let natsSource: InfraSource = 'given';
    let natsIdentities: NatsIdentities | undefined;
    let natsCluster: NatsCluster | undefined;
    if (natsUrl === undefined && cluster) {
      natsIdentities = createNatsIdentities();
      natsCluster = await startNatsCluster({
        env,
        size: opts.natsCluster,
        config: natsAuthorizationConfig(publicKeysOf(natsIdentities)),
        ...(opts.log !== undefined ? { log: opts.log } : {}),
        ...(opts.dir !== undefined ? { dir: join(opts.dir, 'nats-cluster') } : {}),
      });
      closers.push(natsCluster.close);
      natsUrl = natsCluster.url;
      natsSource = 'nats-cluster';
    } else if (natsUrl === undefined) {
      natsIdentities = createNatsIdentities();
      const config = natsAuthorizationConfig(publicKeysOf(natsIdentities));
      const s = useDocker
        ? await startNatsContainer({ config })
        : await startNats({
            env,
            config,
            ...(opts.log !== undefined ? { log: opts.log } : {}),
            ...(opts.dir !== undefined ? { dir: join(opts.dir, 'nats') } : {}),
          });
      closers.push(s.close);
      natsUrl = s.url;
      natsSource = useDocker ? 'container' : 'nats-server';
    }
    let mongoUrl = opts.mongoUrl;
    let mongoSource: InfraSource = 'given';
    let mongoMetricsUrl: string | undefined;
    if (mongoUrl === undefined) {
      if (useDocker) {
        const s = await startMongoContainer();
        closers.push(s.close);
        mongoUrl = s.url;
        mongoSource = 'container';
      } else {
        const s = await startMongo({
          env,
          ...(opts.log !== undefined ? { log: opts.log } : {}),
          ...(opts.dir !== undefined ? { dir: join(opts.dir, 'mongo') } : {}),
        });
        closers.push(s.close);
        mongoUrl = s.url;
        mongoSource = s.kind;
        mongoMetricsUrl = s.metricsUrl;
      }
    }
    return {
      natsUrl,
      mongoUrl,
      natsSource,
      mongoSource,
      ...(mongoMetricsUrl === undefined ? {} : { mongoMetricsUrl }),
      ...(natsIdentities === undefined ? {} : { natsIdentities }),
      ...(natsCluster === undefined ? {} : { natsCluster }),
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
