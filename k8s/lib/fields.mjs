/**
 * Unknown-field check for built-in kinds. The Kubernetes OpenAPI schemas allow any extra
 * property, so a misspelt field (`livenesProbe`) passes them and is only refused by the API
 * server. Here each object becomes an object literal typed with its kubernetes-models interface
 * (IDeployment, IService...) in an in-memory TypeScript file, and the compiler's excess-property
 * and type checks report every field the interface does not declare, at any depth.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { splitApiVersion } from './kustomize.mjs';

/** Where the in-memory file pretends to live: module resolution starts from here. */
const virtualFile = path.join(path.dirname(fileURLToPath(import.meta.url)), '__manifests__.ts');

const options = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
};

/**
 * Reports, per object, the fields its type does not declare and values of the wrong type.
 * @param {object[]} objects built-in objects only: kubernetes-models must have each kind
 * @returns {string[]}
 */
export function checkKnownFields(objects) {
  const lines = [];
  const owners = [];
  objects.forEach((object, index) => {
    const { group, version } = splitApiVersion(object.apiVersion);
    const modulePath = group
      ? `kubernetes-models/${group}/${version}/${object.kind}`
      : `kubernetes-models/${version}/${object.kind}`;
    lines.push(`import type { I${object.kind} as T${index} } from '${modulePath}';`);
    owners.push({ index, object });
  });
  const firstObjectLine = lines.length;
  const lineOwner = [];
  for (const { index, object } of owners) {
    const body = JSON.stringify(object, null, 1).split('\n');
    body[0] = `export const o${index}: T${index} = ${body[0]}`;
    body[body.length - 1] += ';';
    for (let i = 0; i < body.length; i += 1) lineOwner.push(object);
    lines.push(...body);
  }
  const text = lines.join('\n');

  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (file) => file === virtualFile || ts.sys.fileExists(file);
  host.readFile = (file) => (file === virtualFile ? text : readFile(file));
  host.getSourceFile = (file, languageVersion, onError) =>
    file === virtualFile
      ? ts.createSourceFile(file, text, languageVersion, true)
      : getSourceFile(file, languageVersion, onError);

  const program = ts.createProgram([virtualFile], options, host);
  const source = program.getSourceFile(virtualFile);
  const problems = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program, source)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.file !== source || diagnostic.start === undefined) {
      problems.push(`type check: ${message}`);
      continue;
    }
    const { line } = source.getLineAndCharacterOfPosition(diagnostic.start);
    const object = lineOwner[line - firstObjectLine];
    const where = object
      ? `${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name}`
      : `line ${line + 1}`;
    problems.push(`${where}: ${message}`);
  }
  return problems;
}
