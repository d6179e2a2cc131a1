/**
 * No Docker engine runs here, so the images are checked by reading their Dockerfiles against
 * the workspace layout: what each stage copies, installs, runs and as whom.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rootPackage = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

const services = {
  ingest: { entry: ['node', 'services/ingest/dist/main.js'], port: 8081 },
  recommender: { entry: ['node', 'services/recommender/dist/main.js'], port: 8080 },
  trainer: { entry: ['node', 'services/trainer/dist/cli/retrain.js'] },
};

/** Instructions of a Dockerfile, continuation lines joined, grouped by stage. */
function parseDockerfile(text) {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = [];
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (instruction.toUpperCase() === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match[1], name: match[2], steps: [] });
    } else if (stages.length > 0) {
      stages.at(-1).steps.push({ instruction: instruction.toUpperCase(), args });
    }
  }
  return stages;
}

/** Source paths of a COPY without --from (the last argument is the destination). */
function copiedSources(step) {
  const words = step.args.split(/\s+/).filter((w) => !w.startsWith('--'));
  return words.slice(0, -1);
}

/** .dockerignore patterns as regular expressions over context-relative paths. */
function dockerignoreMatchers() {
  return readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((pattern) => {
      const negate = pattern.startsWith('!');
      const body = (negate ? pattern.slice(1) : pattern).replace(/\/$/, '');
      const source = body
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '.'),
        )
        .join('/')
        .replace(/^\.\*\//, '(?:.*/)?');
      return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
}

function ignored(relativePath, matchers) {
  let result = false;
  for (const { negate, regex } of matchers) if (regex.test(relativePath)) result = !negate;
  return result;
}

function filesUnder(relativeDir, limit = 200) {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(path.join(root, dir))) {
      if (out.length >= limit || name === 'node_modules' || name === 'dist') continue;
      const relative = path.join(dir, name);
      if (statSync(path.join(root, relative)).isDirectory()) walk(relative);
      else out.push(relative);
    }
  };
  walk(relativeDir);
  return out;
}

describe('k8s > images > dockerfiles', () => {
  for (const [service, expected] of Object.entries(services)) {
    const file = path.join(root, 'services', service, 'Dockerfile');
    const stages = parseDockerfile(readFileSync(file, 'utf8'));
    const named = (name) => stages.find((s) => s.name === name);

    it(`${service}: installs with every workspace manifest and .npmrc in place`, () => {
      for (const stageName of ['build', 'deps']) {
        const stage = named(stageName);
        assert.ok(stage, `${service} has a ${stageName} stage`);
        const install = stage.steps.findIndex(
          (s) => s.instruction === 'RUN' && /\bnpm ci\b/.test(s.args),
        );
        assert.ok(install >= 0, `${stageName} runs npm ci`);
        const before = stage.steps.slice(0, install).filter((s) => s.instruction === 'COPY');
        const sources = before.flatMap(copiedSources);
        for (const needed of ['package.json', 'package-lock.json', '.npmrc']) {
          assert.ok(sources.includes(needed), `${stageName} copies ${needed} before npm ci`);
        }
        for (const workspace of rootPackage.workspaces) {
          assert.ok(
            sources.includes(`${workspace}/package.json`),
            `${stageName} copies ${workspace}/package.json before npm ci`,
          );
        }
      }
      assert.match(
        readFileSync(path.join(root, '.npmrc'), 'utf8'),
        /onnxruntime-node-install=skip/,
      );
    });

    it(`${service}: compiles only its own project and installs production dependencies only`, () => {
      const build = named('build')
        .steps.filter((s) => s.instruction === 'RUN')
        .map((s) => s.args);
      assert.ok(build.some((a) => a.includes(`tsc -b services/${service}`)));
      const deps = named('deps').steps.find((s) => /\bnpm ci\b/.test(s.args)).args;
      assert.match(deps, /--omit=dev/);
      assert.match(deps, new RegExp(`--workspace services/${service}(\\s|$)`));
    });

    it(`${service}: runs its entrypoint as a numeric non-root user from a clean stage`, () => {
      const runtime = stages.at(-1);
      assert.equal(runtime.from, '${NODE_IMAGE}', 'runtime starts from the plain Node image');
      const users = runtime.steps.filter((s) => s.instruction === 'USER');
      assert.equal(users.length, 1);
      const [uid] = users[0].args.split(':');
      assert.match(uid, /^[1-9][0-9]*$/, 'USER is a numeric, non-zero uid');
      const copiesFrom = runtime.steps
        .filter((s) => s.instruction === 'COPY')
        .map((s) => /--from=(\S+)/.exec(s.args)?.[1]);
      assert.ok(copiesFrom.every((stage) => stage === 'build' || stage === 'deps'));
      const cmd = runtime.steps.filter((s) => s.instruction === 'CMD').at(-1);
      assert.deepEqual(JSON.parse(cmd.args), expected.entry);
      const source = expected.entry[1].replace('/dist/', '/src/').replace(/\.js$/, '.ts');
      assert.ok(existsSync(path.join(root, source)), `the entrypoint's source ${source} exists`);
      if (expected.port) {
        const env = runtime.steps.filter((s) => s.instruction === 'ENV').map((s) => s.args);
        assert.ok(env.some((e) => e.includes(`PORT=${expected.port}`)));
        assert.ok(
          env.some((e) => e.includes('HOST=0.0.0.0')),
          'listens beyond loopback',
        );
      }
    });

    it(`${service}: sends its sources to the build and keeps local builds out`, () => {
      const matchers = dockerignoreMatchers();
      const sources = stages.flatMap((s) =>
        s.steps.filter((x) => x.instruction === 'COPY' && !x.args.includes('--from')),
      );
      for (const source of sources.flatMap(copiedSources)) {
        assert.ok(!ignored(source.replace(/\/$/, ''), matchers), `${source} reaches the context`);
      }
      for (const file of [...filesUnder('shared/src'), ...filesUnder(`services/${service}/src`)]) {
        assert.ok(!ignored(file, matchers), `${file} reaches the context`);
      }
      for (const local of ['node_modules', 'shared/dist', `services/${service}/dist`, '.git']) {
        assert.ok(ignored(local, matchers), `${local} stays out of the context`);
      }
    });
  }
});
