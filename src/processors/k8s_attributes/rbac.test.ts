// deploy/kubernetes/rbac.yaml must grant exactly what the processor's watches need: get, list and watch on
// every collection in kube_resources.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PACKAGE_ROOT } from '../../paths';
import { JOBS_SPEC, localPodsSpec, NODES_SPEC, PEER_PODS_SPEC, REPLICA_SETS_SPEC, SERVICES_SPEC } from './kube_resources';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

test('deploy/kubernetes/rbac.yaml grants get, list and watch on every collection k8s_attributes watches, and nothing more', () => {
  const documents = parseAllDocuments(readFileSync(join(PACKAGE_ROOT, 'deploy', 'kubernetes', 'rbac.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; rules?: Rule[] });
  const role = documents.find((d) => d.kind === 'ClusterRole');
  assert.ok(role?.rules, 'a ClusterRole with rules');
  const granted = new Set(role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}/${v}`)))));
  const needed = new Set(
    [localPodsSpec('node-1', { labels: [], annotations: [] }), PEER_PODS_SPEC, SERVICES_SPEC, NODES_SPEC, REPLICA_SETS_SPEC, JOBS_SPEC].flatMap((spec) =>
      ['get', 'list', 'watch'].map((verb) => `${spec.apiGroup}/${spec.resource}/${verb}`),
    ),
  );
  assert.deepEqual([...granted].sort(), [...needed].sort());
});
