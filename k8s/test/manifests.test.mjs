import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkReferences, validateSchemas } from '../lib/checks.mjs';
import { parseYamlDocuments, renderKustomization } from '../lib/kustomize.mjs';

const k8sDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const overlays = ['dev', 'prod', 'external'];

/** `kubectl` with its built-in kustomize, when the machine has one; the renderer is compared. */
const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Secrets created outside the render, with their keys: the documented examples in k8s/examples
 * (every overlay) and `*.secret.example.yaml` in the overlay's own folder.
 */
function externalSecretsFor(overlay) {
  const folders = [path.join(k8sDir, 'examples'), path.join(k8sDir, 'overlays', overlay)];
  const secrets = {};
  for (const folder of folders) {
    for (const file of readdirSync(folder).filter((f) => f.endsWith('.secret.example.yaml'))) {
      for (const secret of parseYamlDocuments(
        readFileSync(path.join(folder, file), 'utf8'),
        file,
      )) {
        assert.equal(secret.kind, 'Secret', `${file} holds a Secret`);
        secrets[secret.metadata.name] = [
          ...Object.keys(secret.data ?? {}),
          ...Object.keys(secret.stringData ?? {}),
        ];
      }
    }
  }
  return secrets;
}

function render(overlay) {
  return renderKustomization(path.join(k8sDir, 'overlays', overlay));
}

function find(objects, kind, predicate = () => true) {
  const found = objects.find((o) => o.kind === kind && predicate(o));
  assert.ok(found, `a ${kind} is rendered`);
  return found;
}

const component = (name) => (o) => o.metadata.labels?.['app.kubernetes.io/component'] === name;

const identity = (o) =>
  `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe('k8s > overlays > render', () => {
  for (const overlay of overlays) {
    it(`${overlay}: renders the workloads, their wiring and the retrain CronJob`, () => {
      const kinds = render(overlay).map((o) => o.kind);
      const count = (kind) => kinds.filter((k) => k === kind).length;
      assert.equal(count('Deployment'), 2);
      assert.equal(count('Service'), 2);
      assert.equal(count('CronJob'), 1);
      assert.equal(count('HorizontalPodAutoscaler'), 1);
      assert.equal(count('PodDisruptionBudget'), 1);
      assert.equal(count('PersistentVolumeClaim'), 1);
      assert.equal(count('NetworkPolicy'), 3);
      assert.equal(count('ConfigMap'), 1);
      assert.equal(count('Namespace'), 1);
    });

    it(
      `${overlay}: equals kubectl kustomize object for object`,
      { skip: kubectl ? false : 'kubectl is not installed: the renderer alone is used' },
      () => {
        const dir = path.join(k8sDir, 'overlays', overlay);
        const text = execFileSync('kubectl', ['kustomize', dir], {
          encoding: 'utf8',
          timeout: 60_000,
        });
        const expected = parseYamlDocuments(text, `kubectl kustomize ${overlay}`);
        const byId = (objects) => Object.fromEntries(objects.map((o) => [identity(o), o]));
        assert.deepStrictEqual(byId(render(overlay)), byId(expected));
      },
    );
  }

  it('dev and prod: run Kafka (Strimzi) and PostgreSQL (CloudNativePG) with the three topics', () => {
    for (const overlay of ['dev', 'prod']) {
      const objects = render(overlay);
      find(objects, 'Kafka');
      find(objects, 'KafkaNodePool');
      find(objects, 'Cluster');
      const topics = objects.filter((o) => o.kind === 'KafkaTopic');
      assert.deepEqual(topics.map((t) => t.spec.topicName).sort(), [
        'cml.dead-letter',
        'cml.interactions',
        'cml.items',
      ]);
      for (const topic of topics) {
        assert.ok(topic.spec.partitions >= 1 && topic.spec.replicas >= 1, topic.metadata.name);
      }
    }
  });

  it('external: leaves Kafka and PostgreSQL out and points KAFKA_BROKERS elsewhere', () => {
    const objects = render('external');
    const operatorKinds = ['Kafka', 'KafkaNodePool', 'KafkaTopic', 'Cluster'];
    assert.deepEqual(
      objects.filter((o) => operatorKinds.includes(o.kind)),
      [],
    );
    const config = find(objects, 'ConfigMap');
    assert.doesNotMatch(config.data.KAFKA_BROKERS, /kafka-bootstrap/);
  });

  it('prod: keeps the ingest consumers within the partitions of cml.interactions', () => {
    const objects = render('prod');
    const ingest = find(objects, 'Deployment', component('ingest'));
    const topic = find(objects, 'KafkaTopic', (t) => t.spec.topicName === 'cml.interactions');
    assert.ok(ingest.spec.replicas > 1, 'prod runs more than one consumer');
    assert.ok(ingest.spec.replicas <= topic.spec.partitions);
  });
});

describe('k8s > overlays > schema', () => {
  for (const overlay of overlays) {
    it(`${overlay}: every object validates against its schema`, async () => {
      assert.deepEqual(await validateSchemas(render(overlay)), []);
    });
  }
});

describe('k8s > overlays > references', () => {
  for (const overlay of overlays) {
    it(`${overlay}: selectors, config keys, secrets, probes, targets and the job resolve`, () => {
      const problems = checkReferences(render(overlay), {
        externalSecrets: externalSecretsFor(overlay),
      });
      assert.deepEqual(problems, []);
    });
  }
});

/** Renders dev, applies `plant` to a copy, and returns the problems of both passes. */
function plantInDev(plant) {
  const objects = render('dev');
  const options = { externalSecrets: externalSecretsFor('dev') };
  const before = checkReferences(objects, options);
  const broken = JSON.parse(JSON.stringify(objects));
  plant(broken);
  return { before, after: checkReferences(broken, options), broken };
}

function assertReports(problems, pattern) {
  assert.ok(
    problems.some((p) => pattern.test(p)),
    `expected a problem matching ${pattern}, got ${JSON.stringify(problems)}`,
  );
}

const podSpec = (deployment) => deployment.spec.template.spec;

describe('k8s > checks > planted faults', () => {
  it('reports a Service whose selector matches no pod template', () => {
    const { before, after } = plantInDev((objects) => {
      find(objects, 'Service', component('recommender')).spec.selector[
        'app.kubernetes.io/component'
      ] = 'recommender-typo';
    });
    assert.deepEqual(before, []);
    assertReports(after, /Service cml-rec-dev\/cml-rec-recommender: selector .* selects no pods/);
  });

  it('reports a Deployment whose selector no longer matches its own template', () => {
    const { after } = plantInDev((objects) => {
      find(objects, 'Deployment', component('ingest')).spec.selector.matchLabels[
        'app.kubernetes.io/name'
      ] = 'other';
    });
    assertReports(after, /Deployment cml-rec-dev\/cml-rec-ingest: selector does not match/);
  });

  it('reports a configMapKeyRef whose key is missing from the ConfigMap', () => {
    const { after } = plantInDev((objects) => {
      delete find(objects, 'ConfigMap').data.ARTIFACT_DIR;
    });
    assertReports(after, /env ARTIFACT_DIR: ConfigMap cml-rec-config-\w+ has no key ARTIFACT_DIR/);
  });

  it('reports a configMapKeyRef that names a ConfigMap that does not exist', () => {
    const { after } = plantInDev((objects) => {
      const ingest = find(objects, 'Deployment', component('ingest'));
      const variable = podSpec(ingest).containers[0].env.find((e) => e.name === 'LOG_LEVEL');
      variable.valueFrom.configMapKeyRef.name = 'cml-rec-config';
    });
    assertReports(after, /env LOG_LEVEL names missing ConfigMap cml-rec-config$/);
  });

  it('reports a secretKeyRef whose key the Secret does not have', () => {
    const { after } = plantInDev((objects) => {
      const recommender = find(objects, 'Deployment', component('recommender'));
      const variable = podSpec(recommender).containers[0].env.find((e) => e.name === 'API_KEYS');
      variable.valueFrom.secretKeyRef.key = 'api-keys';
    });
    assertReports(after, /env API_KEYS: Secret cml-rec-api-keys has no key api-keys/);
  });

  it('reports DATABASE_URL from a Secret no Cluster creates once the Cluster is renamed', () => {
    const { after } = plantInDev((objects) => {
      find(objects, 'Cluster').metadata.name = 'cml-rec-postgres';
    });
    assertReports(after, /env DATABASE_URL names unknown Secret cml-rec-db-app/);
    assertReports(after, /egress to PostgreSQL cluster cml-rec-db, which is not rendered/);
  });

  it('reports probes on an undeclared port or an unserved path', () => {
    const { after } = plantInDev((objects) => {
      const ingest = podSpec(find(objects, 'Deployment', component('ingest'))).containers[0];
      ingest.readinessProbe.httpGet.port = 8080;
      ingest.livenessProbe.httpGet.path = '/health';
    });
    assertReports(after, /container ingest: readinessProbe port 8080 is not a declared/);
    assertReports(after, /container ingest: livenessProbe path \/health is not one the service/);
  });

  it('reports liveness and readiness probes with their paths swapped', () => {
    const { after } = plantInDev((objects) => {
      const container = podSpec(find(objects, 'Deployment', component('recommender')))
        .containers[0];
      container.livenessProbe.httpGet.path = '/readyz';
    });
    assertReports(after, /livenessProbe must use \/healthz, not \/readyz/);
  });

  it('reports an HTTP container left listening on loopback', () => {
    const { after } = plantInDev((objects) => {
      const container = podSpec(find(objects, 'Deployment', component('recommender')))
        .containers[0];
      container.env = container.env.filter((e) => e.name !== 'HOST');
    });
    assertReports(after, /container recommender: serves ports but HOST=undefined/);
  });

  it('reports a CronJob that does not run the retrain command or may overlap', () => {
    const { after } = plantInDev((objects) => {
      const cronJob = find(objects, 'CronJob');
      cronJob.spec.concurrencyPolicy = 'Allow';
      cronJob.spec.jobTemplate.spec.template.spec.containers[0].command = [
        'node',
        'services/trainer/dist/cli/train.js',
      ];
    });
    assertReports(after, /concurrencyPolicy must be Forbid/);
    assertReports(after, /no CronJob runs `node services\/trainer\/dist\/cli\/retrain\.js`/);
  });

  it('reports an autoscaler and a disruption budget that target nothing', () => {
    const { after } = plantInDev((objects) => {
      find(objects, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name = 'cml-rec-recomender';
      find(objects, 'PodDisruptionBudget').spec.selector.matchLabels[
        'app.kubernetes.io/component'
      ] = 'serving';
    });
    assertReports(after, /scaleTargetRef Deployment cml-rec-recomender does not exist/);
    assertReports(after, /PodDisruptionBudget .* selects no Deployment/);
    assertReports(after, /no HorizontalPodAutoscaler targets it/);
  });

  it('reports a container without limits and an artifact dir on no shared claim', () => {
    const { after } = plantInDev((objects) => {
      const recommender = find(objects, 'Deployment', component('recommender'));
      delete podSpec(recommender).containers[0].resources.limits;
      find(objects, 'PersistentVolumeClaim').spec.accessModes = ['ReadWriteOnce'];
    });
    assertReports(after, /container recommender: missing limits\.memory/);
    assertReports(after, /the artifact claim must be ReadWriteMany/);
  });

  it('reports more ingest consumers than partitions and a Service port nobody serves', () => {
    const { after } = plantInDev((objects) => {
      find(objects, 'Deployment', component('ingest')).spec.replicas = 13;
      find(objects, 'Service', component('ingest')).spec.ports[0].targetPort = 'metrics';
    });
    assertReports(after, /13 consumers but cml\.interactions has 12 partitions/);
    assertReports(after, /targetPort metrics is not a containerPort/);
  });

  it('reports KAFKA_BROKERS that names no Strimzi bootstrap Service', () => {
    const { after } = plantInDev((objects) => {
      find(objects, 'ConfigMap').data.KAFKA_BROKERS = 'kafka:9092';
    });
    assertReports(after, /KAFKA_BROKERS kafka:9092 is no Kafka bootstrap Service/);
  });

  it('reports schema violations and custom resources that break Strimzi rules', async () => {
    const objects = render('dev');
    assert.deepEqual(await validateSchemas(objects), []);
    const ingest = find(objects, 'Deployment', component('ingest'));
    podSpec(ingest).containers[0].ports[0].containerPort = '8081';
    find(objects, 'KafkaTopic').spec.replicas = 3;
    find(objects, 'KafkaNodePool').spec.roles = ['broker'];
    const problems = await validateSchemas(objects);
    assertReports(
      problems,
      /Deployment cml-rec-dev\/cml-rec-ingest: .*containerPort must be integer/,
    );
    assertReports(problems, /KafkaTopic .*: 3 replicas but cluster cml-kafka has 1 brokers/);
    assertReports(problems, /Kafka cml-rec-dev\/cml-kafka: no KafkaNodePool with role controller/);
  });

  it('reports misspelt fields and enum values that the OpenAPI schemas let through', async () => {
    const objects = render('prod');
    const recommender = find(objects, 'Deployment', component('recommender'));
    const container = podSpec(recommender).containers[0];
    container.livenesProbe = container.livenessProbe;
    delete container.livenessProbe;
    find(objects, 'Service', component('ingest')).spec.selectr = { app: 'x' };
    find(objects, 'CronJob').spec.concurrencyPolicy = 'forbid';
    const problems = await validateSchemas(objects);
    assertReports(
      problems,
      /cml-rec-recommender: .*'"livenesProbe"' does not exist in type 'IContainer'/,
    );
    assertReports(problems, /Service cml-rec\/cml-rec-ingest: .*'"selectr"' does not exist/);
    assertReports(problems, /CronJob cml-rec\/cml-rec-retrain: Type '"forbid"' is not assignable/);
  });

  it('reports a kind that has no schema instead of passing it', async () => {
    const problems = await validateSchemas([
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
    ]);
    assertReports(problems, /Widget w: no schema for example\.com\/v1 Widget/);
  });
});
