/**
 * A small kustomize renderer for exactly the features k8s/ uses, so that the manifest tests need
 * neither network nor a kustomize binary. It refuses anything else instead of guessing.
 *
 * Supported kustomization fields:
 * - `resources`: YAML files (several documents each) inside the kustomization's folder, and
 *   folders holding a kustomization (bases), rendered recursively.
 * - `namespace`: set on every namespaced object (cluster-scoped kinds are left alone).
 * - `labels`: `pairs` added to metadata.labels only (`includeSelectors` must be false,
 *   `includeTemplates` is not supported).
 * - `configMapGenerator`: `literals` only, `behavior` create | merge | replace, and
 *   `options.disableNameSuffixHash`. The name suffix is kustomize's hash and every
 *   configMapKeyRef, configMapRef and configMap volume that names the ConfigMap is rewritten.
 * - `images`: `name` with `newName`, `newTag` and `digest`, on containers and initContainers of
 *   pod templates (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod).
 * - `patches`: strategic merge (from `path` or `patch`, matched by kind and name or by `target`)
 *   and JSON 6902 (`add`, `replace`, `remove`, with a `target`).
 *
 * Strategic merge is kustomize's for the lists this repository patches: containers,
 * initContainers, env, volumes, imagePullSecrets (by name), volumeMounts (by mountPath) and
 * container ports (by containerPort); every other list is replaced whole, which is also what
 * kustomize does for custom resources and for lists without a merge key. `null` deletes a key;
 * `$patch` directives are refused.
 *
 * Transformations run in kustomize's order within one kustomization: resources, generators,
 * patches, namespace, labels, images. Name suffixes are applied once, on the final result.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

const SUPPORTED_FIELDS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'labels',
  'resources',
  'configMapGenerator',
  'images',
  'patches',
]);

/** Kinds that have no namespace; every other kind, custom ones included, is namespaced. */
const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
  'IngressClass',
  'RuntimeClass',
]);

/** Groups whose kinds follow the built-in strategic-merge rules. */
const BUILTIN_GROUPS = new Set([
  '',
  'apps',
  'batch',
  'autoscaling',
  'policy',
  'networking.k8s.io',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'scheduling.k8s.io',
]);

/** Marks generated ConfigMaps: original name and whether a hash suffix is due. */
const generated = new WeakMap();

export class KustomizeError extends Error {
  constructor(message) {
    super(message);
    this.name = 'KustomizeError';
  }
}

/**
 * Renders the kustomization in `dir` and returns its objects, in the order they were loaded.
 * @param {string} dir folder holding kustomization.yaml
 * @returns {object[]}
 */
export function renderKustomization(dir) {
  const objects = build(path.resolve(dir), []);
  applyNameSuffixes(objects);
  return objects;
}

/** Splits `group/version` (or a bare core `version`) into its parts. */
export function splitApiVersion(apiVersion) {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Parses every non-empty YAML document of `text`; `source` names it in errors. */
export function parseYamlDocuments(text, source) {
  const out = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw new KustomizeError(`${source}: ${doc.errors[0].message}`);
    }
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/**
 * kustomize's content hash for a generated ConfigMap (api/hasher): sha256 of the JSON of kind,
 * data and name, its first 10 hex digits with 0,1,3,a,e replaced. kustomize looks the name up
 * with a path string that never matches, so `name` is always "" (kustomize v5.5.0 behaves so).
 */
export function configMapHash(configMap) {
  const encoded = { data: sortKeys(configMap.data ?? {}), kind: 'ConfigMap', name: '' };
  // Go's encoding/json escapes these characters; JSON.stringify does not.
  const json = JSON.stringify(encoded).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const hex = createHash('sha256').update(json).digest('hex');
  const swap = { 0: 'g', 1: 'h', 3: 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((c) => swap[c] ?? c).join('');
}

/** Applies a strategic-merge patch to a copy of `target` and returns the copy. */
export function strategicMerge(target, patch) {
  const { group } = splitApiVersion(target.apiVersion ?? 'v1');
  return mergeValue(clone(target), patch, [], BUILTIN_GROUPS.has(group));
}

/** Applies JSON 6902 operations to a copy of `target` and returns the copy. */
export function applyJson6902(target, operations, source = 'patch') {
  const out = clone(target);
  for (const operation of operations) {
    const { op, path: pointer } = operation;
    if (typeof pointer !== 'string' || !pointer.startsWith('/')) {
      throw new KustomizeError(`${source}: JSON patch path must start with "/": ${pointer}`);
    }
    const keys = pointer
      .slice(1)
      .split('/')
      .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop();
    let parent = out;
    for (const key of keys) {
      parent = Array.isArray(parent) ? parent[Number(key)] : parent?.[key];
      if (parent === undefined || parent === null || typeof parent !== 'object') {
        throw new KustomizeError(`${source}: ${op} ${pointer}: parent does not exist`);
      }
    }
    const exists = Array.isArray(parent) ? Number(last) < parent.length : last in parent;
    if (op === 'replace' || op === 'remove') {
      if (!exists) throw new KustomizeError(`${source}: ${op} ${pointer}: no such value`);
    }
    if (op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (op === 'add' || op === 'replace') {
      if (Array.isArray(parent) && op === 'add') {
        parent.splice(last === '-' ? parent.length : Number(last), 0, clone(operation.value));
      } else {
        parent[Array.isArray(parent) ? Number(last) : last] = clone(operation.value);
      }
    } else {
      throw new KustomizeError(`${source}: JSON patch op "${op}" is not supported`);
    }
  }
  return out;
}

/** Pod specs inside a workload object, with where they are. */
export function podSpecsOf(object) {
  switch (object.kind) {
    case 'Pod':
      return object.spec ? [object.spec] : [];
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return object.spec?.template?.spec ? [object.spec.template.spec] : [];
    case 'CronJob':
      return object.spec?.jobTemplate?.spec?.template?.spec
        ? [object.spec.jobTemplate.spec.template.spec]
        : [];
    default:
      return [];
  }
}

function build(dir, stack) {
  if (stack.includes(dir)) {
    throw new KustomizeError(`kustomization cycle: ${[...stack, dir].join(' -> ')}`);
  }
  const file = KUSTOMIZATION_FILES.map((name) => path.join(dir, name)).find((f) => existsSync(f));
  if (!file) throw new KustomizeError(`${dir}: no kustomization.yaml`);
  const [kustomization] = parseYamlDocuments(readFileSync(file, 'utf8'), file);
  for (const field of Object.keys(kustomization ?? {})) {
    if (!SUPPORTED_FIELDS.has(field)) {
      throw new KustomizeError(`${file}: field "${field}" is not supported by this renderer`);
    }
  }

  let objects = [];
  for (const entry of kustomization.resources ?? []) {
    const resolved = path.resolve(dir, entry);
    if (!existsSync(resolved)) throw new KustomizeError(`${file}: resource ${entry} not found`);
    if (statSync(resolved).isDirectory()) {
      objects.push(...build(resolved, [...stack, dir]));
    } else {
      objects.push(
        ...parseYamlDocuments(readFileSync(insideRoot(dir, entry, file), 'utf8'), entry),
      );
    }
  }

  objects = generateConfigMaps(objects, kustomization.configMapGenerator ?? [], file);
  for (const [index, entry] of (kustomization.patches ?? []).entries()) {
    objects = applyPatch(objects, entry, dir, `${file} patches[${index}]`);
  }
  if (kustomization.namespace) setNamespace(objects, kustomization.namespace);
  for (const entry of kustomization.labels ?? []) addLabels(objects, entry, file);
  for (const entry of kustomization.images ?? []) setImages(objects, entry);
  assertUniqueIds(objects, file);
  return objects;
}

/** Kustomize's default load restriction: files must sit inside the kustomization's folder. */
function insideRoot(dir, entry, file) {
  const resolved = path.resolve(dir, entry);
  const relative = path.relative(dir, resolved);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new KustomizeError(`${file}: ${entry} is outside the kustomization's folder`);
  }
  return resolved;
}

function generateConfigMaps(objects, generators, file) {
  const out = [...objects];
  for (const generator of generators) {
    const unsupported = Object.keys(generator).filter(
      (k) => !['name', 'literals', 'behavior', 'options'].includes(k),
    );
    const unsupportedOptions = Object.keys(generator.options ?? {}).filter(
      (k) => k !== 'disableNameSuffixHash',
    );
    if (unsupported.length > 0 || unsupportedOptions.length > 0) {
      throw new KustomizeError(
        `${file}: configMapGenerator ${generator.name}: unsupported ` +
          [...unsupported, ...unsupportedOptions.map((o) => `options.${o}`)].join(', '),
      );
    }
    const data = {};
    for (const literal of generator.literals ?? []) {
      const eq = literal.indexOf('=');
      if (eq <= 0) throw new KustomizeError(`${file}: literal "${literal}" is not KEY=VALUE`);
      data[literal.slice(0, eq)] = unquote(literal.slice(eq + 1));
    }
    const behavior = generator.behavior ?? 'create';
    const index = out.findIndex(
      (o) => o.kind === 'ConfigMap' && generated.get(o)?.name === generator.name,
    );
    if (behavior === 'create') {
      if (index >= 0) {
        throw new KustomizeError(`${file}: ConfigMap ${generator.name} is already generated`);
      }
      const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name } };
      configMap.data = data;
      generated.set(configMap, {
        name: generator.name,
        hash: generator.options?.disableNameSuffixHash !== true,
      });
      out.push(configMap);
    } else if (behavior === 'merge' || behavior === 'replace') {
      if (index < 0) {
        throw new KustomizeError(
          `${file}: no generated ConfigMap ${generator.name} to ${behavior}`,
        );
      }
      const previous = out[index];
      const next = clone(previous);
      next.data = behavior === 'merge' ? { ...previous.data, ...data } : data;
      generated.set(next, generated.get(previous));
      out[index] = next;
    } else {
      throw new KustomizeError(`${file}: configMapGenerator behavior "${behavior}" is unknown`);
    }
  }
  return out;
}

function applyPatch(objects, entry, dir, source) {
  const unsupported = Object.keys(entry).filter((k) => !['path', 'patch', 'target'].includes(k));
  if (unsupported.length > 0 || (entry.path === undefined) === (entry.patch === undefined)) {
    throw new KustomizeError(`${source}: give exactly one of path and patch, and maybe target`);
  }
  const text =
    entry.path !== undefined
      ? readFileSync(insideRoot(dir, entry.path, source), 'utf8')
      : entry.patch;
  const documents = parseYamlDocuments(text, source);
  if (documents.length === 0) throw new KustomizeError(`${source}: the patch is empty`);
  if (Array.isArray(documents[0])) {
    if (documents.length !== 1 || !entry.target) {
      throw new KustomizeError(
        `${source}: a JSON 6902 patch is one list of operations, with a target`,
      );
    }
    return patchMatching(objects, entry.target, source, (o) =>
      applyJson6902(o, documents[0], source),
    );
  }
  // A strategic-merge file may hold several documents: each is a patch of its own.
  let out = objects;
  for (const patch of documents) {
    rejectDirectives(patch, source);
    const selector = entry.target ?? {
      ...splitApiVersion(patch.apiVersion ?? ''),
      kind: patch.kind,
      name: patch.metadata?.name,
      namespace: patch.metadata?.namespace,
    };
    out = patchMatching(out, selector, source, (o) => strategicMerge(o, withoutIdentity(patch)));
  }
  return out;
}

function patchMatching(objects, selector, source, patchOne) {
  let matches = 0;
  const out = objects.map((object) => {
    if (!matchesSelector(object, selector, source)) return object;
    matches += 1;
    const next = patchOne(object);
    if (generated.has(object)) generated.set(next, generated.get(object));
    return next;
  });
  if (matches === 0) {
    throw new KustomizeError(`${source}: matches no object (${JSON.stringify(selector)})`);
  }
  return out;
}

function matchesSelector(object, selector, source) {
  const unsupported = Object.keys(selector).filter(
    (k) => !['group', 'version', 'kind', 'name', 'namespace'].includes(k),
  );
  if (unsupported.length > 0) {
    throw new KustomizeError(`${source}: target field ${unsupported.join(', ')} is not supported`);
  }
  const { group, version } = splitApiVersion(object.apiVersion ?? '');
  const name = generated.get(object)?.name ?? object.metadata?.name;
  return (
    (selector.group === undefined || selector.group === group) &&
    (!selector.version || selector.version === version) &&
    (!selector.kind || selector.kind === object.kind) &&
    (!selector.name || selector.name === name) &&
    (!selector.namespace || selector.namespace === object.metadata?.namespace)
  );
}

/** A patch's apiVersion, kind and name identify its target; they are not merged into it. */
function withoutIdentity(patch) {
  const body = clone(patch);
  delete body.apiVersion;
  delete body.kind;
  if (body.metadata) {
    delete body.metadata.name;
    delete body.metadata.namespace;
    if (Object.keys(body.metadata).length === 0) delete body.metadata;
  }
  return body;
}

function rejectDirectives(value, source) {
  if (Array.isArray(value)) {
    value.forEach((v) => rejectDirectives(v, source));
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key.startsWith('$')) {
        throw new KustomizeError(`${source}: directive ${key} is not supported`);
      }
      rejectDirectives(v, source);
    }
  }
}

/** The merge key of the list at `fieldPath` in a built-in kind, or undefined (replace). */
function mergeKeyFor(fieldPath) {
  const field = fieldPath.at(-1);
  const parent = fieldPath.at(-2);
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'ports':
      // A container's ports list sits under containers[]; Service ports merge by port.
      if (parent === '[]' && ['containers', 'initContainers'].includes(fieldPath.at(-3))) {
        return 'containerPort';
      }
      if (parent === 'spec' && fieldPath.length === 2) return 'port';
      return undefined;
    default:
      return undefined;
  }
}

function mergeValue(target, patch, fieldPath, builtin) {
  if (patch === null) return undefined;
  if (Array.isArray(patch)) {
    const key = builtin ? mergeKeyFor(fieldPath) : undefined;
    if (!key || !Array.isArray(target)) return clone(patch);
    const out = [...target];
    for (const item of patch) {
      if (item?.[key] === undefined) {
        throw new KustomizeError(`patch item under ${fieldPath.join('.')} has no ${key}`);
      }
      const at = out.findIndex((existing) => existing?.[key] === item?.[key]);
      if (at >= 0) out[at] = mergeValue(out[at], item, [...fieldPath, '[]'], builtin);
      else out.push(clone(item));
    }
    return out;
  }
  if (typeof patch === 'object') {
    const out = target && typeof target === 'object' && !Array.isArray(target) ? target : {};
    for (const [key, value] of Object.entries(patch)) {
      const merged = mergeValue(out[key], value, [...fieldPath, key], builtin);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    }
    return out;
  }
  return patch;
}

function setNamespace(objects, namespace) {
  for (const object of objects) {
    if (CLUSTER_SCOPED_KINDS.has(object.kind)) continue;
    object.metadata = { ...object.metadata, namespace };
  }
}

function addLabels(objects, entry, file) {
  const unsupported = Object.keys(entry).filter((k) => !['pairs', 'includeSelectors'].includes(k));
  if (unsupported.length > 0 || entry.includeSelectors === true) {
    throw new KustomizeError(
      `${file}: labels supports only pairs with includeSelectors: false (got ${Object.keys(entry)})`,
    );
  }
  for (const object of objects) {
    object.metadata = {
      ...object.metadata,
      labels: { ...object.metadata?.labels, ...entry.pairs },
    };
  }
}

/** Splits an image reference into name, tag and digest. */
export function parseImage(image) {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const rest = at >= 0 ? image.slice(0, at) : image;
  const colon = rest.lastIndexOf(':');
  const hasTag = colon > rest.lastIndexOf('/');
  return {
    name: hasTag ? rest.slice(0, colon) : rest,
    tag: hasTag ? rest.slice(colon + 1) : undefined,
    digest,
  };
}

function setImages(objects, entry) {
  for (const object of objects) {
    for (const podSpec of podSpecsOf(object)) {
      for (const container of [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? [])]) {
        const image = parseImage(container.image ?? '');
        if (image.name !== entry.name) continue;
        const name = entry.newName ?? image.name;
        if (entry.digest) container.image = `${name}@${entry.digest}`;
        else if (entry.newTag) container.image = `${name}:${entry.newTag}`;
        else
          container.image =
            name + (image.tag ? `:${image.tag}` : '') + (image.digest ? `@${image.digest}` : '');
      }
    }
  }
}

function applyNameSuffixes(objects) {
  const renames = new Map();
  for (const object of objects) {
    const mark = generated.get(object);
    if (!mark?.hash) continue;
    const finalName = `${mark.name}-${configMapHash(object)}`;
    renames.set(`${object.metadata.namespace ?? ''}/${mark.name}`, finalName);
    object.metadata.name = finalName;
  }
  if (renames.size === 0) return;
  const rename = (namespace, ref) => {
    const next = ref?.name && renames.get(`${namespace ?? ''}/${ref.name}`);
    if (next) ref.name = next;
  };
  for (const object of objects) {
    const namespace = object.metadata?.namespace;
    for (const podSpec of podSpecsOf(object)) {
      for (const container of [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? [])]) {
        for (const env of container.env ?? []) rename(namespace, env.valueFrom?.configMapKeyRef);
        for (const from of container.envFrom ?? []) rename(namespace, from.configMapRef);
      }
      for (const volume of podSpec.volumes ?? []) {
        rename(namespace, volume.configMap);
        for (const source of volume.projected?.sources ?? []) rename(namespace, source.configMap);
      }
    }
  }
}

function assertUniqueIds(objects, file) {
  const seen = new Set();
  for (const object of objects) {
    const id = `${object.apiVersion} ${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
    if (seen.has(id)) throw new KustomizeError(`${file}: duplicate object ${id}`);
    seen.add(id);
  }
}

function unquote(value) {
  const quoted = /^(["']).*\1$/.test(value);
  return quoted ? value.slice(1, -1) : value;
}

function sortKeys(record) {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
