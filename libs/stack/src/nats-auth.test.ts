import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { endpoints, events } from '@ap/protocol';
import { BUS_IDENTITIES, busPermissions, createNatsIdentities, natsAuthorizationConfig, publicKeysOf } from './nats-auth.ts';
import { findTool, installHint } from './tools.ts';

const services = ['auth', 'assessment', 'chat'] as const;

describe('NATS permissions derived from the protocol', () => {
  test('a request subject is served only by the service it is named after', () => {
    for (const endpoint of Object.values(endpoints)) {
      const owner = endpoint.subject.split('.')[0];
      for (const identity of BUS_IDENTITIES) {
        assert.equal(
          busPermissions(identity).subscribe.includes(endpoint.subject),
          identity === owner,
          `${identity} subscribing to ${endpoint.subject}`,
        );
      }
    }
  });

  test('only the operator creates users; items are imported by the operator or through the gateway (recruiters); sweeps come from cleanup; the gateway calls the rest', () => {
    const publishers = (subject: string) => BUS_IDENTITIES.filter((i) => busPermissions(i).publish.includes(subject));
    assert.deepEqual(publishers(endpoints.authCreateUser.subject), ['cli']);
    assert.deepEqual(publishers(endpoints.itemsImport.subject), ['gateway', 'cli']);
    assert.deepEqual(publishers(endpoints.itemsCalibrate.subject), ['gateway', 'cli']);
    assert.deepEqual(publishers(endpoints.assessmentExpireDue.subject), ['cleanup', 'cli']);
    assert.deepEqual(publishers(endpoints.assessmentStart.subject), ['gateway', 'cli']);
    assert.deepEqual(publishers(endpoints.authLogin.subject), ['gateway', 'cli']);
  });

  test('no service holds a full wildcard, and only the services that serve requests may answer them', () => {
    for (const identity of BUS_IDENTITIES) {
      const p = busPermissions(identity);
      assert.ok(!p.subscribe.includes('>') && !p.publish.includes('>'), identity);
      if (identity !== 'cli') assert.ok(!p.publish.some((s) => s.startsWith('$JS.API.>')), `${identity} is limited to its own streams`);
      assert.equal(p.allowResponses, (services as readonly string[]).includes(identity), identity);
    }
  });

  test('every event has a publisher', () => {
    for (const [name, event] of Object.entries(events)) {
      assert.ok(
        BUS_IDENTITIES.some((i) => busPermissions(i).publish.includes(event.wildcard)),
        name,
      );
    }
  });

  test('the generated authorization block is a valid nats-server config', async () => {
    const bin = findTool('nats-server');
    assert.ok(bin !== undefined, installHint('nats-server'));
    const dir = await mkdtemp(join(tmpdir(), 'nats-auth-'));
    try {
      const file = join(dir, 'nats.conf');
      await writeFile(file, natsAuthorizationConfig(publicKeysOf(createNatsIdentities())));
      const { stdout, stderr } = await promisify(execFile)(bin, ['-c', file, '-t'], { timeout: 10_000 });
      assert.match(`${stdout}${stderr}`, /is valid/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
