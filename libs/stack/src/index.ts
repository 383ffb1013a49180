/**
 * `@ap/stack`: starts and stops real infrastructure (NATS with JetStream, MongoDB or FerretDB)
 * for the local stack and for tests.
 */
export { readStackConfig, defaultToolsDir } from './config.ts';
export type { StackConfig, StackEnv } from './config.ts';
export { findTool, installHint } from './tools.ts';
export type { ToolName } from './tools.ts';
export { ProvisionError, TOOL_RELEASES, buildTools, formatElapsed, missingTools, provisionTools } from './provision.ts';
export type { ProvisionOptions, ProvisionPurpose, ProvisionResult, ProvisionedTool } from './provision.ts';
export { freePort, isPortOpen } from './net.ts';
export { startNats } from './nats.ts';
export type { NatsServer, NatsServerOptions } from './nats.ts';
export { startNatsCluster } from './nats-cluster.ts';
export type { NatsCluster, NatsClusterNode, NatsClusterOptions } from './nats-cluster.ts';
export {
  BUS_IDENTITIES,
  busPermissions,
  createNatsIdentities,
  natsAuthorizationConfig,
  nkeyVariables,
  publicKeyReferences,
  publicKeysOf,
  seedsOf,
} from './nats-auth.ts';
export type { BusIdentity, BusPermissions, NatsIdentities, NatsIdentity } from './nats-auth.ts';
export { startMongo, pingMongo, waitForMongo } from './mongo.ts';
export type { MongoServer } from './mongo.ts';
export type { LocalServerOptions } from './launch.ts';
export type { LogFn } from './proc.ts';
export { dockerAvailable } from './docker.ts';
export { startInfra } from './infra.ts';
export type { Infra, InfraOptions, InfraSource } from './infra.ts';
export { SERVICE_NAMES, serviceEntry, startPlatform } from './platform.ts';
export type { Platform, PlatformOptions, ServiceName } from './platform.ts';
