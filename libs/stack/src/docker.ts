import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { StackConfig } from './config.ts';

/** Where to reach the Docker engine API, without touching the network. */
function dockerEndpoint(cfg: StackConfig): { socketPath: string } | { host: string; port: number } | undefined {
  if (cfg.dockerHost !== undefined) {
    if (cfg.dockerHost.startsWith('unix://')) {
      const socketPath = cfg.dockerHost.slice('unix://'.length);
      return existsSync(socketPath) ? { socketPath } : undefined;
    }
    if (cfg.dockerHost.startsWith('tcp://')) {
      try {
        const u = new URL(cfg.dockerHost.replace(/^tcp:/, 'http:'));
        return { host: u.hostname, port: Number(u.port || '2375') };
      } catch {
        return undefined;
      }
    }
    return undefined; // ssh:// and friends: not probed, treat as unavailable
  }
  const candidates = ['/var/run/docker.sock'];
  if (cfg.runtimeDir !== undefined) candidates.push(join(cfg.runtimeDir, 'docker.sock'));
  const socketPath = candidates.find((p) => existsSync(p));
  return socketPath !== undefined ? { socketPath } : undefined;
}

/**
 * True when a Docker engine answers `GET /_ping` within `timeoutMs`. Returns false at once
 * when no socket exists and `DOCKER_HOST` is unset, or when `STACK_DOCKER=0`.
 */
export async function dockerAvailable(cfg: StackConfig, timeoutMs = 1500): Promise<boolean> {
  if (!cfg.dockerEnabled) return false;
  const endpoint = dockerEndpoint(cfg);
  if (endpoint === undefined) return false;
  return new Promise((resolve) => {
    const req = request({ ...endpoint, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** A server running in a container. */
export interface ContainerServer {
  url: string;
  close: () => Promise<void>;
}

/** Starts `nats:2.10` with JetStream through testcontainers; `config` is a config file body (the authorization block). */
export async function startNatsContainer(options: { config?: string } = {}): Promise<ContainerServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const configFile = '/etc/nats/platform.conf';
  const c = await new GenericContainer('nats:2.10')
    .withCopyContentToContainer(options.config === undefined ? [] : [{ content: options.config, target: configFile }])
    .withCommand(options.config === undefined ? ['-js'] : ['--config', configFile, '-js'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  return {
    url: `nats://${c.getHost()}:${c.getMappedPort(4222)}`,
    close: async () => {
      await c.stop();
    },
  };
}

/** Starts `mongo:7` through testcontainers. */
export async function startMongoContainer(): Promise<ContainerServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const c = await new GenericContainer('mongo:7')
    .withExposedPorts(27017)
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
    .start();
  return {
    url: `mongodb://${c.getHost()}:${c.getMappedPort(27017)}/`,
    close: async () => {
      await c.stop();
    },
  };
}
