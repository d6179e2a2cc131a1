/**
 * Offline checks of rendered manifests: each object against the Kubernetes OpenAPI schemas
 * (kubernetes-models, ajv-compiled), the Strimzi and CloudNativePG resources against the fields
 * this repository relies on (no schema package exists for them), and the references between
 * objects that no schema sees. Every check returns a list of problems, each one sentence that
 * names the object; an empty list means the render passed.
 */
import { checkKnownFields } from './fields.mjs';
import { podSpecsOf, splitApiVersion } from './kustomize.mjs';

/** The command the retraining CronJob must run (common brief). */
export const RETRAIN_COMMAND = ['node', 'services/trainer/dist/cli/retrain.js'];

/** The only probe paths the services serve. */
export const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Keys of the Secret CloudNativePG creates for a Cluster's application owner, named
 * `<cluster>-app` (CloudNativePG docs, "Connecting from an application").
 */
export const CNPG_APP_SECRET_KEYS = [
  'username',
  'password',
  'host',
  'port',
  'dbname',
  'uri',
  'jdbc-uri',
  'pgpass',
];

const STRIMZI_LISTENER_TYPES = new Set([
  'internal',
  'route',
  'loadbalancer',
  'nodeport',
  'ingress',
  'cluster-ip',
]);

/** `Kind name` (with namespace when set), for messages. */
export function describe(object) {
  const namespace = object.metadata?.namespace ? `${object.metadata.namespace}/` : '';
  return `${object.kind} ${namespace}${object.metadata?.name}`;
}

/**
 * Validates built-in kinds with kubernetes-models (its ajv-compiled schemas, then its TypeScript
 * interfaces for unknown fields) and the custom resources with {@link checkCustomResources}.
 * Objects of any other apiVersion are reported as unchecked.
 * @returns {Promise<string[]>}
 */
export async function validateSchemas(objects) {
  const problems = [];
  const modelled = [];
  for (const object of objects) {
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
      problems.push(`an object without apiVersion or kind: ${JSON.stringify(object).slice(0, 80)}`);
      continue;
    }
    const { group } = splitApiVersion(object.apiVersion);
    if (group === 'kafka.strimzi.io' || group === 'postgresql.cnpg.io') continue;
    const Model = await loadModel(object.apiVersion, object.kind);
    if (!Model) {
      problems.push(`${describe(object)}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    modelled.push(object);
    try {
      new Model(JSON.parse(JSON.stringify(object))).validate();
    } catch (error) {
      problems.push(`${describe(object)}: ${error.message}`);
    }
  }
  if (modelled.length > 0) problems.push(...checkKnownFields(modelled));
  problems.push(...checkCustomResources(objects));
  return problems;
}

async function loadModel(apiVersion, kind) {
  const { group, version } = splitApiVersion(apiVersion);
  const modulePath = group
    ? `kubernetes-models/${group}/${version}/${kind}`
    : `kubernetes-models/${version}/${kind}`;
  try {
    const module = await import(modulePath);
    return module[kind];
  } catch (error) {
    if (error.code === 'ERR_MODULE_NOT_FOUND' || error.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
      return undefined;
    }
    throw error;
  }
}

/**
 * The fields of Strimzi's KafkaNodePool, Kafka and KafkaTopic (kafka.strimzi.io/v1) and of
 * CloudNativePG's Cluster (postgresql.cnpg.io/v1) that the operators require or that this
 * deployment depends on. This is not the operators' full schema.
 */
export function checkCustomResources(objects) {
  const problems = [];
  const isInt = (v, min) => Number.isInteger(v) && v >= min;
  const kafkas = objects.filter((o) => o.kind === 'Kafka');
  const pools = objects.filter((o) => o.kind === 'KafkaNodePool');
  const kafkaNames = new Set(kafkas.map((o) => o.metadata?.name));

  for (const object of objects) {
    const { group, version } = splitApiVersion(object.apiVersion ?? '');
    if (group !== 'kafka.strimzi.io' && group !== 'postgresql.cnpg.io') continue;
    const where = describe(object);
    const spec = object.spec ?? {};
    if (version !== 'v1') problems.push(`${where}: expected ${group}/v1, got ${object.apiVersion}`);

    if (object.kind === 'Kafka') {
      const listeners = spec.kafka?.listeners;
      if (!Array.isArray(listeners) || listeners.length === 0) {
        problems.push(`${where}: spec.kafka.listeners must list at least one listener`);
      }
      for (const listener of listeners ?? []) {
        if (!/^[a-z0-9]{1,11}$/.test(listener.name ?? '')) {
          problems.push(`${where}: listener name "${listener.name}" must be 1-11 [a-z0-9]`);
        }
        if (!isInt(listener.port, 9092) || listener.port === 9404 || listener.port === 9999) {
          problems.push(`${where}: listener ${listener.name} port must be >= 9092, not 9404/9999`);
        }
        if (!STRIMZI_LISTENER_TYPES.has(listener.type)) {
          problems.push(`${where}: listener ${listener.name} type "${listener.type}" is unknown`);
        }
        if (typeof listener.tls !== 'boolean') {
          problems.push(`${where}: listener ${listener.name} needs tls: true|false`);
        }
      }
      const mine = pools.filter(
        (p) => p.metadata?.labels?.['strimzi.io/cluster'] === object.metadata?.name,
      );
      for (const role of ['broker', 'controller']) {
        if (!mine.some((p) => p.spec?.roles?.includes(role))) {
          problems.push(`${where}: no KafkaNodePool with role ${role} (v1 runs KRaft only)`);
        }
      }
    } else if (object.kind === 'KafkaNodePool') {
      const cluster = object.metadata?.labels?.['strimzi.io/cluster'];
      if (!kafkaNames.has(cluster)) {
        problems.push(`${where}: label strimzi.io/cluster "${cluster}" names no Kafka`);
      }
      if (!isInt(spec.replicas, 1))
        problems.push(`${where}: spec.replicas must be an integer >= 1`);
      const roles = spec.roles ?? [];
      if (roles.length === 0 || roles.some((r) => r !== 'broker' && r !== 'controller')) {
        problems.push(`${where}: spec.roles must be a non-empty subset of broker, controller`);
      }
      problems.push(...checkStrimziStorage(where, spec.storage));
    } else if (object.kind === 'KafkaTopic') {
      const cluster = object.metadata?.labels?.['strimzi.io/cluster'];
      if (!kafkaNames.has(cluster)) {
        problems.push(`${where}: label strimzi.io/cluster "${cluster}" names no Kafka`);
      }
      const topic = spec.topicName ?? object.metadata?.name;
      if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic ?? '')) {
        problems.push(`${where}: topic name "${topic}" is not a valid Kafka topic name`);
      }
      if (!isInt(spec.partitions, 1)) problems.push(`${where}: spec.partitions must be >= 1`);
      if (!isInt(spec.replicas, 1)) problems.push(`${where}: spec.replicas must be >= 1`);
      const brokers = pools
        .filter((p) => p.metadata?.labels?.['strimzi.io/cluster'] === cluster)
        .filter((p) => p.spec?.roles?.includes('broker'))
        .reduce((sum, p) => sum + (p.spec?.replicas ?? 0), 0);
      if (kafkaNames.has(cluster) && spec.replicas > brokers) {
        problems.push(
          `${where}: ${spec.replicas} replicas but cluster ${cluster} has ${brokers} brokers`,
        );
      }
      const minIsr = spec.config?.['min.insync.replicas'];
      if (minIsr !== undefined && !(isInt(minIsr, 1) && minIsr <= spec.replicas)) {
        problems.push(`${where}: min.insync.replicas ${minIsr} exceeds replicas ${spec.replicas}`);
      }
    } else if (object.kind === 'Cluster' && group === 'postgresql.cnpg.io') {
      if (!isInt(spec.instances, 1)) problems.push(`${where}: spec.instances must be >= 1`);
      if (!isQuantity(spec.storage?.size)) {
        problems.push(`${where}: spec.storage.size must be a quantity such as 10Gi`);
      }
      const initdb = spec.bootstrap?.initdb;
      if (initdb && (typeof initdb.database !== 'string' || typeof initdb.owner !== 'string')) {
        problems.push(`${where}: bootstrap.initdb needs database and owner`);
      }
    } else {
      problems.push(`${where}: ${object.apiVersion} ${object.kind} is not checked by this suite`);
    }
  }
  return problems;
}

function checkStrimziStorage(where, storage) {
  const volumes = storage?.type === 'jbod' ? (storage.volumes ?? []) : [storage];
  if (storage?.type === 'jbod' && volumes.length === 0) return [`${where}: jbod without volumes`];
  const problems = [];
  for (const volume of volumes) {
    if (volume?.type === 'ephemeral') continue;
    if (volume?.type !== 'persistent-claim' || !isQuantity(volume.size)) {
      problems.push(`${where}: storage must be ephemeral or persistent-claim with a size`);
    }
  }
  return problems;
}

/**
 * Checks the references between objects of one render.
 * @param {object[]} objects the rendered objects
 * @param {{ externalSecrets?: Record<string, string[]> }} [options] Secrets that are created
 *   outside the render (by an operator or by hand), with their keys
 * @returns {string[]}
 */
export function checkReferences(objects, options = {}) {
  const problems = [];
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const deployments = byKind('Deployment');
  const cronJobs = byKind('CronJob');
  const workloads = [...deployments, ...cronJobs];
  const configMaps = indexByName(byKind('ConfigMap'));
  const secrets = secretKeys(objects, options.externalSecrets ?? {});
  const claims = indexByName(byKind('PersistentVolumeClaim'));

  for (const workload of workloads) {
    problems.push(...checkWorkload(workload, { configMaps, secrets, claims }));
  }
  for (const deployment of deployments) {
    problems.push(...checkProbes(deployment));
    const matchLabels = deployment.spec?.selector?.matchLabels ?? {};
    if (!labelsMatch(matchLabels, templateLabels(deployment))) {
      problems.push(`${describe(deployment)}: selector does not match its pod template labels`);
    }
  }

  for (const service of byKind('Service')) {
    const selector = service.spec?.selector ?? {};
    const selected = selectWorkloads(deployments, service, selector);
    if (Object.keys(selector).length === 0 || selected.length === 0) {
      problems.push(`${describe(service)}: selector ${JSON.stringify(selector)} selects no pods`);
      continue;
    }
    for (const port of service.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      if (!selected.every((w) => declaresPort(w, target))) {
        problems.push(`${describe(service)}: targetPort ${target} is not a containerPort`);
      }
    }
  }

  problems.push(...checkRetrainJob(cronJobs));
  problems.push(...checkAutoscaling(objects, deployments));
  problems.push(...checkNetworkPolicies(objects, workloads));
  problems.push(...checkKafkaWiring(objects, deployments, configMaps));
  problems.push(...checkNamespaces(objects));
  return problems;
}

function checkWorkload(workload, { configMaps, secrets, claims }) {
  const problems = [];
  const where = describe(workload);
  const namespace = workload.metadata?.namespace;
  for (const podSpec of podSpecsOf(workload)) {
    const pod = podSpec.securityContext ?? {};
    if (pod.runAsNonRoot !== true) problems.push(`${where}: pod must set runAsNonRoot: true`);
    const volumes = new Map((podSpec.volumes ?? []).map((v) => [v.name, v]));
    for (const volume of volumes.values()) {
      if (volume.persistentVolumeClaim) {
        const claim = claims.get(key(namespace, volume.persistentVolumeClaim.claimName));
        if (!claim) {
          problems.push(
            `${where}: volume ${volume.name} claims ${volume.persistentVolumeClaim.claimName}, which does not exist`,
          );
        }
      }
      if (volume.configMap && !configMaps.has(key(namespace, volume.configMap.name))) {
        problems.push(
          `${where}: volume ${volume.name} names missing ConfigMap ${volume.configMap.name}`,
        );
      }
    }

    for (const container of podSpec.containers ?? []) {
      const at = `${where} container ${container.name}`;
      const context = container.securityContext ?? {};
      if (context.allowPrivilegeEscalation !== false) {
        problems.push(`${at}: must set allowPrivilegeEscalation: false`);
      }
      if (!context.capabilities?.drop?.includes('ALL')) problems.push(`${at}: must drop ALL caps`);
      const seccomp = context.seccompProfile?.type ?? pod.seccompProfile?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
        problems.push(`${at}: needs seccompProfile RuntimeDefault`);
      }
      const image = container.image ?? '';
      if (!/[:@]/.test(image.slice(image.lastIndexOf('/') + 1)) || image.endsWith(':latest')) {
        problems.push(`${at}: image "${image}" must carry a tag other than latest, or a digest`);
      }
      problems.push(...checkResources(at, container.resources));

      const env = {};
      for (const variable of container.env ?? []) {
        const source = variable.valueFrom;
        if (source?.configMapKeyRef) {
          const { name, key: item, optional } = source.configMapKeyRef;
          const data = configMaps.get(key(namespace, name))?.data;
          if (!data) problems.push(`${at}: env ${variable.name} names missing ConfigMap ${name}`);
          else if (!(item in data) && optional !== true) {
            problems.push(`${at}: env ${variable.name}: ConfigMap ${name} has no key ${item}`);
          } else env[variable.name] = data[item];
        } else if (source?.secretKeyRef) {
          const { name, key: item, optional } = source.secretKeyRef;
          const keys = secrets.get(key(namespace, name)) ?? secrets.get(key(undefined, name));
          if (!keys) problems.push(`${at}: env ${variable.name} names unknown Secret ${name}`);
          else if (!keys.includes(item) && optional !== true) {
            problems.push(`${at}: env ${variable.name}: Secret ${name} has no key ${item}`);
          }
        } else if (typeof variable.value === 'string') {
          env[variable.name] = variable.value;
        }
      }
      for (const from of container.envFrom ?? []) {
        const name = from.configMapRef?.name ?? from.secretRef?.name;
        const known = from.configMapRef
          ? configMaps.has(key(namespace, name))
          : secrets.has(key(namespace, name)) || secrets.has(key(undefined, name));
        if (!known) problems.push(`${at}: envFrom names missing ${name}`);
      }
      // ingest and recommender bind 127.0.0.1 unless HOST says otherwise: probes would fail.
      if ((container.ports ?? []).length > 0 && env.HOST !== '0.0.0.0' && env.HOST !== '::') {
        problems.push(`${at}: serves ports but HOST=${env.HOST} keeps it on loopback`);
      }
      if (typeof env.PORT === 'string') {
        const ports = (container.ports ?? []).map((p) => p.containerPort);
        if (!ports.includes(Number(env.PORT))) {
          problems.push(`${at}: PORT=${env.PORT} is not a declared containerPort`);
        }
      }
      if (env.ARTIFACT_DIR !== undefined) {
        const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === env.ARTIFACT_DIR);
        const volume = mount && volumes.get(mount.name);
        const claim =
          volume?.persistentVolumeClaim &&
          claims.get(key(namespace, volume.persistentVolumeClaim.claimName));
        if (!claim) {
          problems.push(`${at}: ARTIFACT_DIR ${env.ARTIFACT_DIR} is not a mounted claim`);
        } else if (!claim.spec?.accessModes?.includes('ReadWriteMany')) {
          problems.push(`${at}: the artifact claim must be ReadWriteMany (shared by replicas)`);
        }
      }
    }
  }
  return problems;
}

function checkResources(at, resources) {
  const problems = [];
  for (const [kind, field] of [
    ['requests', 'cpu'],
    ['requests', 'memory'],
    ['limits', 'cpu'],
    ['limits', 'memory'],
  ]) {
    if (!isQuantity(resources?.[kind]?.[field])) problems.push(`${at}: missing ${kind}.${field}`);
  }
  for (const field of ['cpu', 'memory']) {
    const request = parseQuantity(resources?.requests?.[field]);
    const limit = parseQuantity(resources?.limits?.[field]);
    if (request !== undefined && limit !== undefined && request > limit) {
      problems.push(`${at}: ${field} request exceeds its limit`);
    }
  }
  return problems;
}

function checkProbes(deployment) {
  const problems = [];
  for (const podSpec of podSpecsOf(deployment)) {
    for (const container of podSpec.containers ?? []) {
      const at = `${describe(deployment)} container ${container.name}`;
      const expected = { livenessProbe: '/healthz', readinessProbe: '/readyz' };
      for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const probe = container[probeName];
        if (!probe) {
          if (probeName in expected) problems.push(`${at}: has no ${probeName}`);
          continue;
        }
        const get = probe.httpGet;
        if (!get) {
          problems.push(`${at}: ${probeName} must be an httpGet probe`);
          continue;
        }
        if (!PROBE_PATHS.has(get.path)) {
          problems.push(`${at}: ${probeName} path ${get.path} is not one the service serves`);
        } else if (expected[probeName] && get.path !== expected[probeName]) {
          problems.push(`${at}: ${probeName} must use ${expected[probeName]}, not ${get.path}`);
        }
        if (!containerDeclaresPort(container, get.port)) {
          problems.push(`${at}: ${probeName} port ${get.port} is not a declared containerPort`);
        }
      }
    }
  }
  return problems;
}

function checkRetrainJob(cronJobs) {
  if (cronJobs.length === 0) return ['no CronJob runs the retraining'];
  const problems = [];
  let runsRetrain = false;
  for (const cronJob of cronJobs) {
    if (cronJob.spec?.concurrencyPolicy !== 'Forbid') {
      problems.push(`${describe(cronJob)}: concurrencyPolicy must be Forbid`);
    }
    for (const podSpec of podSpecsOf(cronJob)) {
      for (const container of podSpec.containers ?? []) {
        const argv = [...(container.command ?? []), ...(container.args ?? [])];
        if (JSON.stringify(argv) === JSON.stringify(RETRAIN_COMMAND)) runsRetrain = true;
      }
    }
  }
  if (!runsRetrain) problems.push(`no CronJob runs \`${RETRAIN_COMMAND.join(' ')}\``);
  return problems;
}

function checkAutoscaling(objects, deployments) {
  const problems = [];
  const component = (o) => o.metadata?.labels?.['app.kubernetes.io/component'];
  const recommender = deployments.find((d) => component(d) === 'recommender');
  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
  const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  for (const hpa of hpas) {
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const target = deployments.find(
      (d) => ref.kind === 'Deployment' && d.metadata.name === ref.name && sameNamespace(d, hpa),
    );
    if (!target) {
      problems.push(`${describe(hpa)}: scaleTargetRef ${ref.kind} ${ref.name} does not exist`);
      continue;
    }
    if ((hpa.spec.minReplicas ?? 1) > hpa.spec.maxReplicas) {
      problems.push(`${describe(hpa)}: minReplicas exceeds maxReplicas`);
    }
    const usesCpu = (hpa.spec.metrics ?? []).some((m) => m.resource?.name === 'cpu');
    const requestsCpu = podSpecsOf(target).every((p) =>
      p.containers.every((c) => c.resources?.requests?.cpu !== undefined),
    );
    if (usesCpu && !requestsCpu) {
      problems.push(`${describe(hpa)}: CPU utilization needs cpu requests on every container`);
    }
  }
  for (const pdb of pdbs) {
    const selector = pdb.spec?.selector?.matchLabels ?? {};
    if (selectWorkloads(deployments, pdb, selector).length === 0) {
      problems.push(`${describe(pdb)}: selector ${JSON.stringify(selector)} selects no Deployment`);
    }
  }
  if (recommender) {
    const scaled = hpas.some((h) => h.spec?.scaleTargetRef?.name === recommender.metadata.name);
    const budgeted = pdbs.some((p) =>
      labelsMatch(p.spec?.selector?.matchLabels ?? {}, templateLabels(recommender)),
    );
    if (!scaled) problems.push(`${describe(recommender)}: no HorizontalPodAutoscaler targets it`);
    if (!budgeted) problems.push(`${describe(recommender)}: no PodDisruptionBudget covers it`);
  } else {
    problems.push('no Deployment with app.kubernetes.io/component: recommender');
  }
  return problems;
}

function checkNetworkPolicies(objects, workloads) {
  const problems = [];
  const clusters = new Set(
    objects
      .filter((o) => o.kind === 'Cluster')
      .map((o) => key(o.metadata.namespace, o.metadata.name)),
  );
  const kafkas = new Set(
    objects
      .filter((o) => o.kind === 'Kafka')
      .map((o) => key(o.metadata.namespace, o.metadata.name)),
  );
  for (const policy of objects.filter((o) => o.kind === 'NetworkPolicy')) {
    const where = describe(policy);
    const selected = selectWorkloads(
      workloads,
      policy,
      policy.spec?.podSelector?.matchLabels ?? {},
    );
    if (selected.length === 0) problems.push(`${where}: podSelector selects no workload`);
    for (const rule of policy.spec?.ingress ?? []) {
      for (const port of rule.ports ?? []) {
        if (!selected.every((w) => declaresPort(w, port.port))) {
          problems.push(`${where}: ingress port ${port.port} is not a containerPort of its pods`);
        }
      }
    }
    for (const rule of policy.spec?.egress ?? []) {
      for (const peer of rule.to ?? []) {
        const labels = peer.podSelector?.matchLabels ?? {};
        const namespace = policy.metadata?.namespace;
        const cluster = labels['cnpg.io/cluster'];
        if (cluster && !clusters.has(key(namespace, cluster))) {
          problems.push(`${where}: egress to PostgreSQL cluster ${cluster}, which is not rendered`);
        }
        const kafka = labels['strimzi.io/cluster'];
        if (kafka && !kafkas.has(key(namespace, kafka))) {
          problems.push(`${where}: egress to Kafka cluster ${kafka}, which is not rendered`);
        }
      }
    }
  }
  return problems;
}

/**
 * With Strimzi in the render: KAFKA_BROKERS names its bootstrap Service and a listener port,
 * every topic the services use is a KafkaTopic, and ingest replicas fit the partitions.
 */
function checkKafkaWiring(objects, deployments, configMaps) {
  const kafkas = objects.filter((o) => o.kind === 'Kafka');
  if (kafkas.length === 0) return [];
  const problems = [];
  const topics = new Map(
    objects
      .filter((o) => o.kind === 'KafkaTopic')
      .map((t) => [t.spec?.topicName ?? t.metadata.name, t]),
  );
  for (const deployment of deployments) {
    const env = resolvedEnv(deployment, configMaps);
    if (env.KAFKA_BROKERS !== undefined) {
      for (const address of env.KAFKA_BROKERS.split(',')) {
        const [host, port] = address.trim().split(':');
        const kafka = kafkas.find((k) => host === `${k.metadata.name}-kafka-bootstrap`);
        const listener = kafka?.spec?.kafka?.listeners?.find((l) => l.port === Number(port));
        if (!listener) {
          problems.push(
            `${describe(deployment)}: KAFKA_BROKERS ${address} is no Kafka bootstrap Service and listener port`,
          );
        } else if (listener.tls) {
          problems.push(`${describe(deployment)}: KAFKA_BROKERS ${address} is a TLS listener`);
        }
      }
    }
    for (const name of [
      'KAFKA_INTERACTIONS_TOPIC',
      'KAFKA_ITEMS_TOPIC',
      'KAFKA_DEAD_LETTER_TOPIC',
    ]) {
      if (env[name] !== undefined && !topics.has(env[name])) {
        problems.push(`${describe(deployment)}: ${name}=${env[name]} has no KafkaTopic`);
      }
    }
    const interactions = topics.get(env.KAFKA_INTERACTIONS_TOPIC);
    const replicas = deployment.spec?.replicas ?? 1;
    if (env.KAFKA_GROUP_ID && interactions && replicas > interactions.spec.partitions) {
      problems.push(
        `${describe(deployment)}: ${replicas} consumers but ${env.KAFKA_INTERACTIONS_TOPIC} has ${interactions.spec.partitions} partitions`,
      );
    }
  }
  return problems;
}

function checkNamespaces(objects) {
  const namespaces = new Set(
    objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name),
  );
  const used = new Set(
    objects.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata?.namespace),
  );
  const problems = [];
  if (used.size !== 1) problems.push(`objects span namespaces ${[...used].join(', ')}`);
  for (const namespace of used) {
    if (namespace === undefined) problems.push('an object has no namespace');
    else if (!namespaces.has(namespace)) problems.push(`namespace ${namespace} is not rendered`);
  }
  return problems;
}

function resolvedEnv(workload, configMaps) {
  const env = {};
  for (const podSpec of podSpecsOf(workload)) {
    for (const container of podSpec.containers ?? []) {
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.configMapKeyRef;
        if (ref) {
          const data = configMaps.get(key(workload.metadata?.namespace, ref.name))?.data;
          if (data?.[ref.key] !== undefined) env[variable.name] = data[ref.key];
        } else if (typeof variable.value === 'string') {
          env[variable.name] = variable.value;
        }
      }
    }
  }
  return env;
}

function secretKeys(objects, externalSecrets) {
  const secrets = new Map();
  for (const secret of objects.filter((o) => o.kind === 'Secret')) {
    const keys = [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})];
    secrets.set(key(secret.metadata.namespace, secret.metadata.name), keys);
  }
  for (const cluster of objects.filter((o) => o.kind === 'Cluster' && o.spec?.bootstrap?.initdb)) {
    secrets.set(
      key(cluster.metadata.namespace, `${cluster.metadata.name}-app`),
      CNPG_APP_SECRET_KEYS,
    );
  }
  for (const [name, keys] of Object.entries(externalSecrets))
    secrets.set(key(undefined, name), keys);
  return secrets;
}

function templateLabels(workload) {
  if (workload.kind === 'CronJob')
    return workload.spec?.jobTemplate?.spec?.template?.metadata?.labels ?? {};
  return workload.spec?.template?.metadata?.labels ?? {};
}

function selectWorkloads(workloads, selectorOwner, matchLabels) {
  return workloads.filter(
    (w) => sameNamespace(w, selectorOwner) && labelsMatch(matchLabels, templateLabels(w)),
  );
}

function labelsMatch(selector, labels) {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function declaresPort(workload, port) {
  return podSpecsOf(workload).some((p) => p.containers.some((c) => containerDeclaresPort(c, port)));
}

function containerDeclaresPort(container, port) {
  return (container.ports ?? []).some((p) =>
    typeof port === 'string' ? p.name === port : p.containerPort === port,
  );
}

function sameNamespace(a, b) {
  return (a.metadata?.namespace ?? '') === (b.metadata?.namespace ?? '');
}

function key(namespace, name) {
  return `${namespace ?? ''}/${name}`;
}

function indexByName(objects) {
  return new Map(objects.map((o) => [key(o.metadata?.namespace, o.metadata?.name), o]));
}

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/;
const FACTORS = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

/** A Kubernetes quantity ("250m", "1", "4Gi") as a number, or undefined if it is not one. */
export function parseQuantity(value) {
  if (typeof value === 'number') return value;
  const match = typeof value === 'string' ? QUANTITY.exec(value) : null;
  return match ? Number(match[1]) * (match[2] ? FACTORS[match[2]] : 1) : undefined;
}

function isQuantity(value) {
  return parseQuantity(value) !== undefined;
}
