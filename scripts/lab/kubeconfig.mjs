// Kubeconfigs of the lab: .lab/kubeconfig for people and tests (contexts lab-blue, lab-green and their
// -norights twins), and one single-context file per control-plane program (kube-controller-manager has no
// --context flag, so it gets a file whose current context is its own).
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { clusterFiles, contextName, noRightsContextName } from './layout.mjs';

const server = (c) => `https://127.0.0.1:${c.apiserver}`;
const caData = (name) => readFileSync(clusterFiles(name).caCert).toString('base64');

function document(entries, current) {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: entries.map((e) => ({ name: e.cluster, cluster: { server: e.server, 'certificate-authority-data': e.ca } })),
    users: entries.map((e) => ({ name: e.user, user: { token: e.token } })),
    contexts: entries.map((e) => ({ name: e.context, context: { cluster: e.cluster, user: e.user } })),
    'current-context': current,
  };
}

function write(path, doc) {
  writeFileSync(path, stringify(doc), { mode: 0o600 });
}

/** One cluster, one identity: the file a control-plane program is started with. */
export function writeComponentKubeconfig(path, cluster, user, token) {
  const entry = { cluster: contextName(cluster.name), server: server(cluster), ca: caData(cluster.name), user, token, context: contextName(cluster.name) };
  write(path, document([entry], entry.context));
}

/** .lab/kubeconfig: admin and no-rights contexts of every cluster. */
export function writeLabKubeconfig(path, clusters, tokensByCluster) {
  const entries = clusters.flatMap((c) => {
    const tokens = tokensByCluster[c.name];
    const base = { cluster: contextName(c.name), server: server(c), ca: caData(c.name) };
    return [
      { ...base, user: `${contextName(c.name)}-admin`, token: tokens.admin, context: contextName(c.name) },
      { ...base, user: noRightsContextName(c.name), token: tokens.noRights, context: noRightsContextName(c.name) },
    ];
  });
  const doc = document(entries, contextName(clusters[0].name));
  // A cluster entry appears once even though two users point at it.
  doc.clusters = doc.clusters.filter((c, i, all) => all.findIndex((o) => o.name === c.name) === i);
  write(path, doc);
}

export function componentKubeconfigs(cluster, tokens) {
  const f = clusterFiles(cluster.name);
  writeComponentKubeconfig(f.controllerKubeconfig, cluster, 'system:kube-controller-manager', tokens.controllerManager);
  writeComponentKubeconfig(f.completerKubeconfig, cluster, 'lab-podcompleter', tokens.podcompleter);
}
