import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { isPortOpen } from './net.ts';
import { startNatsCluster } from './nats-cluster.ts';

void test('nats cluster: three JetStream servers, an R3 stream keeps every message while one server is killed and restarted', async (t) => {
  const started = Date.now();
  const cluster = await startNatsCluster();
  t.diagnostic(`3-node cluster ready at ${cluster.url} in ${Date.now() - started} ms`);
  try {
    assert.equal(cluster.nodes.length, 3);
    const nc = await connect({ servers: cluster.urls, reconnectTimeWait: 200, maxReconnectAttempts: -1 });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'CLUSTER_TEST', subjects: ['cluster.test.>'], num_replicas: 3 });
      const js = jetstream(nc, { timeout: 3000 });
      const publish = async (n: number) => {
        // A publish whose acknowledgement is lost is sent again with its message id, as the bus does.
        for (let attempt = 0; ; attempt++) {
          try {
            return await js.publish(`cluster.test.${n}`, String(n), { msgID: `m${n}` });
          } catch (err) {
            if (attempt > 30) throw err;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      };
      for (let n = 0; n < 20; n++) await publish(n);

      // Kill the server the test is connected to: the client moves on, the stream keeps a quorum.
      const victim = cluster.nodes.find((node) => node.url.endsWith(`:${String(nc.info?.port)}`)) ?? cluster.nodes[0];
      assert.ok(victim !== undefined);
      await victim.kill();
      assert.equal(victim.running(), false);
      assert.equal(await isPortOpen(victim.port), false);
      for (let n = 20; n < 40; n++) await publish(n);
      const again = await publish(5);
      assert.equal(again.duplicate, true, 'a message id seen before is not stored again');

      const restartedAt = Date.now();
      await victim.start();
      t.diagnostic(`${victim.name} back and current in ${Date.now() - restartedAt} ms`);
      // Right after the restart the stream may answer from a replica still catching up: wait (a
      // bounded time) until it reports every message, which it must.
      let info = await jsm.streams.info('CLUSTER_TEST');
      for (const deadline = Date.now() + 20_000; info.state.messages !== 40 && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 200));
        info = await jsm.streams.info('CLUSTER_TEST');
      }
      assert.equal(info.state.messages, 40);
      assert.equal(info.config.num_replicas, 3);
      assert.equal(info.cluster?.replicas?.length, 2, 'the stream has its two followers');
    } finally {
      await nc.close();
    }
  } finally {
    await cluster.close();
  }
  for (const node of cluster.nodes) assert.equal(await isPortOpen(node.port), false);
});
