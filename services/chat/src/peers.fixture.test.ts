/**
 * The servers and peers the chat service tests run against: their own nats-server and database,
 * and one bus connection for each side the tests play, each as the NATS user of that service, with
 * its permissions. Everything made is registered in `teardown`, to be undone newest first.
 */
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { connectDatabase } from '@ap/db';
import type { Database } from '@ap/db';
import type { Logger } from '@ap/logging';
import { seedsOf, startInfra } from '@ap/stack';
import type { Infra } from '@ap/stack';

export type ChatPeers = {
  infra: Infra;
  database: Database;
  /** The chat service's own connection. */
  serviceBus: Bus;
  /** Plays the gateway. */
  peerBus: Bus;
  /** Plays the assessment service. */
  assessmentBus: Bus;
  /** Plays the auth service. */
  authBus: Bus;
};

export async function startChatPeers(dbName: string, log: Logger, teardown: Array<() => Promise<unknown>>): Promise<ChatPeers> {
  const infra = await startInfra();
  teardown.push(() => infra.close());
  const database = await connectDatabase({ url: infra.mongoUrl, name: dbName, log });
  teardown.push(async () => {
    await database.db.dropDatabase().catch(() => undefined);
    await database.close();
  });
  await database.db.dropDatabase();
  const seeds = infra.natsIdentities === undefined ? undefined : seedsOf(infra.natsIdentities);
  const connect = async (name: string, seed: string | undefined): Promise<Bus> => {
    const bus = await connectBus({ servers: infra.natsUrl, nkeySeed: seed, name, log });
    teardown.push(() => bus.close());
    return bus;
  };
  const serviceBus = await connect('chat', seeds?.chat);
  const peerBus = await connect('peer', seeds?.gateway);
  const assessmentBus = await connect('assessment', seeds?.assessment);
  const authBus = await connect('auth', seeds?.auth);
  return { infra, database, serviceBus, peerBus, assessmentBus, authBus };
}
