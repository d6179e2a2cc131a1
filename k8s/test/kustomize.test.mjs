import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  KustomizeError,
  applyJson6902,
  configMapHash,
  parseImage,
  renderKustomization,
  strategicMerge,
} from '../lib/kustomize.mjs';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [
          {
            name: 'app',
            image: 'web',
            args: ['--a'],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            resources: { requests: { cpu: '1' }, limits: { cpu: '2' } },
          },
          { name: 'sidecar', image: 'proxy' },
        ],
      },
    },
  },
};

describe('k8s > kustomize > strategic merge', () => {
  it('merges containers and env by name and replaces lists without a merge key', () => {
    const merged = strategicMerge(deployment, {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                args: ['--b'],
                env: [
                  { name: 'B', value: 'two' },
                  { name: 'C', value: '3' },
                ],
                resources: { requests: { cpu: '500m' } },
              },
            ],
          },
        },
      },
    });
    const [app, sidecar] = merged.spec.template.spec.containers;
    assert.deepEqual(app.args, ['--b']);
    assert.deepEqual(app.env, [
      { name: 'A', value: '1' },
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
    ]);
    assert.deepEqual(app.resources, { requests: { cpu: '500m' }, limits: { cpu: '2' } });
    assert.equal(sidecar.image, 'proxy');
    assert.equal(deployment.spec.template.spec.containers[0].args[0], '--a', 'input untouched');
  });

  it('deletes a key patched to null', () => {
    const merged = strategicMerge(deployment, { spec: { replicas: null } });
    assert.equal('replicas' in merged.spec, false);
  });

  it('replaces lists of custom resources whole', () => {
    const pool = {
      apiVersion: 'kafka.strimzi.io/v1',
      kind: 'KafkaNodePool',
      spec: { roles: ['a', 'b'] },
    };
    assert.deepEqual(strategicMerge(pool, { spec: { roles: ['c'] } }).spec.roles, ['c']);
  });
});

describe('k8s > kustomize > json 6902', () => {
  it('adds, replaces and removes by JSON pointer', () => {
    const patched = applyJson6902(deployment, [
      { op: 'replace', path: '/spec/replicas', value: 5 },
      { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'Z' } },
      { op: 'remove', path: '/spec/template/spec/containers/1' },
    ]);
    assert.equal(patched.spec.replicas, 5);
    assert.equal(patched.spec.template.spec.containers.length, 1);
    assert.deepEqual(patched.spec.template.spec.containers[0].env.at(-1), { name: 'Z' });
  });

  it('refuses to replace a value that does not exist, and unsupported ops', () => {
    assert.throws(
      () => applyJson6902(deployment, [{ op: 'replace', path: '/spec/paused', value: true }]),
      /replace \/spec\/paused: no such value/,
    );
    assert.throws(
      () => applyJson6902(deployment, [{ op: 'move', from: '/a', path: '/b' }]),
      /op "move" is not supported/,
    );
  });
});

describe('k8s > kustomize > images and hashes', () => {
  it('splits image references with registry ports, tags and digests', () => {
    assert.deepEqual(parseImage('registry:5000/team/app:1.2'), {
      name: 'registry:5000/team/app',
      tag: '1.2',
      digest: undefined,
    });
    assert.deepEqual(parseImage('app@sha256:abc'), {
      name: 'app',
      tag: undefined,
      digest: 'sha256:abc',
    });
  });

  // Reference value printed by `kubectl kustomize` (kustomize v5.5.0) for a generator
  // `name: gen, literals: [A=1]`: the ConfigMap was named gen-89g4tffbfk.
  it('reproduces the name suffix kustomize v5.5.0 gives a generated ConfigMap', () => {
    assert.equal(configMapHash({ data: { A: '1' } }), '89g4tffbfk');
    assert.notEqual(configMapHash({ data: { A: '2' } }), '89g4tffbfk');
  });
});

describe('k8s > kustomize > render', () => {
  let root;
  const write = (relative, text) => {
    mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    writeFileSync(path.join(root, relative), text);
  };

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'cml-kustomize-'));
    write(
      'base/kustomization.yaml',
      'resources: [deploy.yaml]\nconfigMapGenerator:\n  - name: cfg\n    literals: [A=1]\n',
    );
    write(
      'base/deploy.yaml',
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web}',
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '        - name: app',
        '          image: web',
        '          envFrom: [{configMapRef: {name: cfg}}]',
        '',
      ].join('\n'),
    );
    write(
      'overlay/kustomization.yaml',
      [
        'namespace: team',
        'resources: [../base]',
        'images: [{name: web, newName: reg/web, newTag: "2"}]',
        'configMapGenerator: [{name: cfg, behavior: merge, literals: [B=2]}]',
        'patches:',
        '  - patch: |-',
        '      apiVersion: apps/v1',
        '      kind: Deployment',
        '      metadata: {name: web}',
        '      spec: {replicas: 3}',
        '',
      ].join('\n'),
    );
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it('layers an overlay on its base: namespace, image, merged generator, patch, references', () => {
    const objects = renderKustomization(path.join(root, 'overlay'));
    const web = objects.find((o) => o.kind === 'Deployment');
    const cfg = objects.find((o) => o.kind === 'ConfigMap');
    assert.equal(web.metadata.namespace, 'team');
    assert.equal(web.spec.replicas, 3);
    assert.equal(web.spec.template.spec.containers[0].image, 'reg/web:2');
    assert.deepEqual(cfg.data, { A: '1', B: '2' });
    assert.equal(cfg.metadata.name, `cfg-${configMapHash(cfg)}`);
    assert.equal(
      web.spec.template.spec.containers[0].envFrom[0].configMapRef.name,
      cfg.metadata.name,
    );
  });

  it('refuses fields it does not implement, files outside the folder and idle patches', () => {
    write('bad-field/kustomization.yaml', 'namePrefix: x-\n');
    write('bad-path/kustomization.yaml', 'resources: [../base/deploy.yaml]\n');
    write(
      'bad-patch/kustomization.yaml',
      'resources: [../base]\npatches:\n  - patch: "{apiVersion: v1, kind: Service, metadata: {name: nope}}"\n',
    );
    assert.throws(
      () => renderKustomization(path.join(root, 'bad-field')),
      /"namePrefix" is not supported/,
    );
    assert.throws(
      () => renderKustomization(path.join(root, 'bad-path')),
      /outside the kustomization/,
    );
    assert.throws(() => renderKustomization(path.join(root, 'bad-patch')), KustomizeError);
  });
});
