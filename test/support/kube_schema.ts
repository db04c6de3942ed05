// Kubernetes objects checked against the API's schemas without a cluster, with the schemas of the
// npm package kubernetes-models (devDependency, pinned; it models the Kubernetes API of its
// release). The package ships each schema compiled into an ajv validator
// (kubernetes-models/_schemas/IoK8sApi<Group><Version><Kind>.js), not as JSON, and those
// validators ignore properties the schema does not name: a misspelled `redinessProbe` passes.
// So each object is also walked: it is handed to the validator wrapped in proxies that record
// every property the validator reads. A compiled validator reads each property its schema names
// (`data.readinessProbe`) and enumerates the keys of maps (labels, resources.limits); an object
// key it never read is not in the schema, and is reported as an unknown field.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';

export const KUBERNETES_MODELS_VERSION: string = (require(join(PACKAGE_ROOT, 'node_modules', 'kubernetes-models', 'package.json')) as { version: string }).version;
const SCHEMA_DIR = join(PACKAGE_ROOT, 'node_modules', 'kubernetes-models', '_schemas');

export interface SchemaIssue {
  /** JSON pointer into the object, e.g. /spec/template/spec/containers/0/redinessProbe. */
  readonly path: string;
  readonly message: string;
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}
type CompiledValidator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

// The package is ES modules only (its exports have no "require" condition) and tsc compiles
// import() to require() under "module": "commonjs": a Function keeps the import() a real one.
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<{ validate: CompiledValidator }>;

/** `apps/v1` + `DaemonSet` -> IoK8sApiAppsV1DaemonSet; `v1` + `Service` -> IoK8sApiCoreV1Service. */
export function schemaNameOf(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const groupPart = group === '' ? 'Core' : group.split('.')[0];
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  return `IoK8sApi${cap(groupPart)}${cap(version)}${kind}`;
}

const validators = new Map<string, Promise<CompiledValidator>>();

async function validatorFor(apiVersion: string, kind: string): Promise<CompiledValidator> {
  const name = schemaNameOf(apiVersion, kind);
  if (!existsSync(join(SCHEMA_DIR, `${name}.js`))) {
    throw new Error(`no schema for ${apiVersion} ${kind} in kubernetes-models ${KUBERNETES_MODELS_VERSION} (looked for ${join(dirname(SCHEMA_DIR), '_schemas', name)}.js): a misspelled kind or apiVersion, or an API this version does not model`);
  }
  let found = validators.get(name);
  if (!found) {
    found = importEsm(`kubernetes-models/_schemas/${name}`).then((m) => m.validate);
    validators.set(name, found);
  }
  return found;
}

interface Watched {
  readonly path: string;
  readonly keys: readonly string[];
  readonly read: Set<PropertyKey>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** A copy of `value` whose objects record the properties read from them into `watched`. */
function watch(value: unknown, path: string, watched: Watched[]): unknown {
  if (Array.isArray(value)) return value.map((item, i) => watch(item, `${path}/${i}`, watched));
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) copy[key] = watch(child, `${path}/${escapePointer(key)}`, watched);
  const entry: Watched = { path, keys: Object.keys(value), read: new Set() };
  watched.push(entry);
  return new Proxy(copy, {
    get(target, key, receiver) {
      entry.read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      entry.read.add(key);
      return Reflect.has(target, key);
    },
  });
}

/** Schema errors and unknown fields of one object (empty when it is valid). */
export async function validateKubeObject(object: unknown): Promise<SchemaIssue[]> {
  if (!isPlainObject(object) || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
    return [{ path: '', message: 'not a Kubernetes object: apiVersion and kind must be strings' }];
  }
  const validate = await validatorFor(object.apiVersion, object.kind);
  const watched: Watched[] = [];
  const valid = validate(watch(object, '', watched));
  const issues: SchemaIssue[] = [];
  if (!valid) {
    for (const e of validate.errors ?? []) issues.push({ path: e.instancePath, message: `${e.keyword}: ${e.message ?? JSON.stringify(e.params)}` });
  }
  const unknown: SchemaIssue[] = [];
  for (const entry of watched) {
    for (const key of entry.keys) {
      if (!entry.read.has(key)) {
        unknown.push({ path: `${entry.path}/${escapePointer(key)}`, message: `unknown field "${key}" (not in the ${object.apiVersion} ${object.kind} schema of kubernetes-models ${KUBERNETES_MODELS_VERSION})` });
      }
    }
  }
  // The validator never looks inside an unknown field: report the field, not each key below it.
  const outermost = unknown.filter((u) => !unknown.some((other) => u.path.startsWith(`${other.path}/`)));
  return [...issues, ...outermost.sort((a, b) => a.path.localeCompare(b.path))];
}

/** Only what the compiled validator itself says (no unknown-field walk): for showing what it misses. */
export async function validateWithoutWalk(object: { apiVersion: string; kind: string }): Promise<boolean> {
  const validate = await validatorFor(object.apiVersion, object.kind);
  return validate(structuredClone(object));
}

/** Each issue on its own line, prefixed with the object's kind and name, for assertion messages. */
export function formatIssues(object: { kind?: unknown; metadata?: { name?: unknown } }, issues: readonly SchemaIssue[]): string {
  return issues.map((i) => `${String(object.kind)} ${String(object.metadata?.name)}: ${i.path || '/'}: ${i.message}`).join('\n');
}
