import { nkeys } from '@nats-io/transport-node';
import { ASSESSMENT_STREAM, endpoints, events } from '@ap/protocol';
import type { EndpointName } from '@ap/protocol';

/**
 * The identities that connect to NATS: the five services, and `cli` for the operator's
 * command-line tools (`npm run seed`, `npm run admin`, the test set-up), which call any service.
 */
export const BUS_IDENTITIES = ['auth', 'assessment', 'chat', 'cleanup', 'gateway', 'cli'] as const;
export type BusIdentity = (typeof BUS_IDENTITIES)[number];

/** What one identity may do on NATS: subjects it may publish and subscribe to, and whether it may answer requests. */
export type BusPermissions = {
  publish: string[];
  subscribe: string[];
  /** May publish to the reply subject of a request it received (once): true for the services that serve requests. */
  allowResponses: boolean;
};

/**
 * Who calls an endpoint, when it is not the gateway. Unlisted endpoints are called by the gateway
 * alone, on behalf of a verified token. `cli` may call every endpoint. The caller field of a
 * request is trusted only because NATS lets no one else publish it.
 */
const callers: { readonly [E in EndpointName]?: readonly BusIdentity[] } = {
  // Operator only: creating users (an admin included) and exposure parameters never come from the edge.
  authCreateUser: [],
  exposureUpdate: [],
  // Recruiters import banks from their workspace; from the edge an import adds items and never
  // replaces one that exists with other content (services/assessment/src/authoring.ts).
  itemsImport: ['gateway'],
  // Sweeps, called by cleanup as the system.
  assessmentExpireDue: ['cleanup'],
  assessmentAbandonIdle: ['cleanup'],
  authPurgeInvitations: ['cleanup'],
  // The chat service asks who is in an assessment room and what its help assistant may say
  // (including the current question, so that it never relays an author note about it).
  assessmentDescribe: ['chat'],
  assessmentHelpContext: ['chat'],
  assessmentQuestion: ['gateway', 'chat'],
  // The chat service checks that a support room's candidate is in the opener's scope.
  authCandidateTests: ['chat'],
  // The auth service checks that a test exists before inviting to it.
  testGet: ['gateway', 'auth'],
};

/** Who publishes and who subscribes to each event; a new event in @ap/protocol must be added here. */
const eventAccess: { readonly [K in keyof typeof events]: { publish: readonly BusIdentity[]; subscribe: readonly BusIdentity[] } } = {
  pushToUser: { publish: ['assessment', 'chat', 'gateway'], subscribe: ['gateway'] },
  presence: { publish: ['gateway'], subscribe: ['assessment'] },
  chatRoom: { publish: ['chat'], subscribe: ['gateway'] },
  liveAssessment: { publish: ['assessment'], subscribe: ['gateway'] },
  // Start requests waiting for (or given) a proctor's approval, for the proctors' live feed.
  startRequest: { publish: ['assessment'], subscribe: ['gateway'] },
  connection: { publish: ['gateway'], subscribe: ['assessment'] },
  chatTyping: { publish: ['gateway'], subscribe: ['gateway'] },
  // Stored in the ASSESSMENT_EVENTS stream (published through JetStream, below).
  assessmentCompleted: { publish: ['assessment'], subscribe: [] },
  // A repeated sign-in with a named code: auth reports it, the assessment service records the incident.
  reSignIn: { publish: ['auth'], subscribe: ['assessment'] },
};

/** JetStream streams and KV buckets each identity creates and uses (names as the services open them). */
const jetStream: {
  readonly [I in BusIdentity]?: {
    streams?: readonly { name: string; subjects: string }[];
    buckets?: readonly string[];
    /** Durable consumers it creates and reads, as `[stream, consumer]`. */
    consumers?: readonly (readonly [string, string])[];
  };
} = {
  // The xAPI sender reads finished assessments through a durable consumer (services/assessment/src/xapi-sender.ts).
  assessment: { streams: [ASSESSMENT_STREAM], consumers: [[ASSESSMENT_STREAM.name, 'xapi']] },
  // The LTI grade return reads finished assessments the same way (services/auth/src/lti/grades.ts).
  auth: { consumers: [[ASSESSMENT_STREAM.name, 'lti-grades']] },
  cleanup: { buckets: ['cleanup_lease'] },
};

/** Replies to this connection's own requests (and JetStream acknowledgements) arrive on its inbox. */
const INBOX = '_INBOX.>';

function ownerOf(subject: string): BusIdentity {
  const owner = subject.split('.')[0];
  const found = BUS_IDENTITIES.find((i) => i === owner);
  if (found === undefined) throw new Error(`endpoint subject ${subject} does not start with a service name`);
  return found;
}

function streamApi(stream: string): string[] {
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.CREATE.${stream}`,
    `$JS.API.STREAM.UPDATE.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
  ];
}

function consumerApi(stream: string, consumer: string): string[] {
  return [
    // A consumer waits for its stream to exist (another service creates it).
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${consumer}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${consumer}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${consumer}`,
    `$JS.API.CONSUMER.INFO.${stream}.${consumer}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
    `$JS.ACK.${stream}.${consumer}.>`,
  ];
}

/** The NATS permissions of one identity, derived from the subjects in @ap/protocol. */
export function busPermissions(identity: BusIdentity): BusPermissions {
  const publish = new Set<string>();
  const subscribe = new Set<string>();
  let serves = false;
  for (const [name, endpoint] of Object.entries(endpoints) as [EndpointName, (typeof endpoints)[EndpointName]][]) {
    if (ownerOf(endpoint.subject) === identity) {
      subscribe.add(endpoint.subject);
      serves = true;
    }
    if (identity === 'cli' || (callers[name] ?? ['gateway']).includes(identity)) publish.add(endpoint.subject);
  }
  for (const [name, access] of Object.entries(eventAccess) as [keyof typeof events, (typeof eventAccess)[keyof typeof events]][]) {
    if (access.publish.includes(identity)) publish.add(events[name].wildcard);
    if (access.subscribe.includes(identity)) subscribe.add(events[name].wildcard);
  }
  const js = jetStream[identity];
  if (identity === 'cli') publish.add('$JS.API.>');
  else if (js !== undefined) publish.add('$JS.API.INFO');
  for (const stream of js?.streams ?? []) {
    for (const s of streamApi(stream.name)) publish.add(s);
    publish.add(stream.subjects);
  }
  for (const [stream, consumer] of js?.consumers ?? []) {
    for (const s of consumerApi(stream, consumer)) publish.add(s);
  }
  for (const bucket of js?.buckets ?? []) {
    for (const s of streamApi(`KV_${bucket}`)) publish.add(s);
    publish.add(`$KV.${bucket}.>`);
  }
  if (publish.size > 0) subscribe.add(INBOX);
  return { publish: [...publish].sort(), subscribe: [...subscribe].sort(), allowResponses: serves };
}

/** An NKEY user: the seed (secret, given to the service as `NATS_NKEY_SEED`) and its public key (in the server's config). */
export type NatsIdentity = { seed: string; publicKey: string };
export type NatsIdentities = Readonly<Record<BusIdentity, NatsIdentity>>;

/** Generates a fresh NKEY user for every identity. */
export function createNatsIdentities(): NatsIdentities {
  const decoder = new TextDecoder();
  const out = {} as Record<BusIdentity, NatsIdentity>;
  for (const identity of BUS_IDENTITIES) {
    const user = nkeys.createUser();
    out[identity] = { seed: decoder.decode(user.getSeed()), publicKey: user.getPublicKey() };
  }
  return out;
}

/** The public key of every identity, for {@link natsAuthorizationConfig}. */
export function publicKeysOf(identities: NatsIdentities): Record<BusIdentity, string> {
  const out = {} as Record<BusIdentity, string>;
  for (const identity of BUS_IDENTITIES) out[identity] = identities[identity].publicKey;
  return out;
}

/** Every identity's seed, for `startPlatform({ natsSeeds })`. */
export function seedsOf(identities: NatsIdentities): Record<BusIdentity, string> {
  const out = {} as Record<BusIdentity, string>;
  for (const identity of BUS_IDENTITIES) out[identity] = identities[identity].seed;
  return out;
}

/** The environment variable names of an identity's public key and seed in generated env files and Secrets (`GATEWAY_NKEY`, `GATEWAY_NKEY_SEED`). */
export function nkeyVariables(identity: BusIdentity): { publicKey: string; seed: string } {
  const prefix = identity.toUpperCase();
  return { publicKey: `${prefix}_NKEY`, seed: `${prefix}_NKEY_SEED` };
}

/** `$GATEWAY_NKEY` and so on, for a config whose server reads each public key from its environment (Kubernetes, Compose). */
export function publicKeyReferences(): Record<BusIdentity, string> {
  const out = {} as Record<BusIdentity, string>;
  for (const identity of BUS_IDENTITIES) out[identity] = `$${nkeyVariables(identity).publicKey}`;
  return out;
}

const quote = (s: string) => JSON.stringify(s);
// One subject per line, so a change of permissions reads as a small diff. An identity with
// nothing to allow gets an explicit denial rather than an empty list.
const subjects = (list: readonly string[]) =>
  list.length === 0 ? '{ deny: [">"] }' : ['{ allow: [', ...list.map((s) => `          ${quote(s)}`), '        ] }'].join('\n');

/**
 * The `authorization` block of a nats-server config: one NKEY user per identity with its
 * permissions, and no anonymous user (a connection without a known key is refused).
 * `publicKeys` maps each identity to its public key, or to a `$VARIABLE` that nats-server
 * reads from its environment (the Kubernetes and Compose configs).
 */
export function natsAuthorizationConfig(publicKeys: Readonly<Record<BusIdentity, string>>): string {
  const lines = [
    '# Generated from libs/stack/src/nats-auth.ts (the subjects of libs/protocol): one NKEY user per',
    '# identity, each limited to the subjects it serves and calls. No anonymous access.',
    'authorization {',
    '  users: [',
  ];
  for (const identity of BUS_IDENTITIES) {
    const p = busPermissions(identity);
    const key = publicKeys[identity];
    const value = key.startsWith('$') ? key : quote(key);
    lines.push(`    # ${identity}`);
    lines.push('    {');
    lines.push(`      nkey: ${value}`);
    lines.push('      permissions: {');
    lines.push(`        publish: ${subjects(p.publish)}`);
    lines.push(`        subscribe: ${subjects(p.subscribe)}`);
    if (p.allowResponses) lines.push('        allow_responses: true');
    lines.push('      }');
    lines.push('    }');
  }
  lines.push('  ]', '}', '');
  return lines.join('\n');
}
