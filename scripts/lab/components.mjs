// The programs of one lab cluster, how each is started and how we tell it is healthy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterFiles, contextName } from './layout.mjs';
import { logContains, probe, describeProbe } from './wait.mjs';

/**
 * @typedef {{ id: string, what: string, log: string, argv: string[], port?: number, timeoutMs: number,
 *   check: () => Promise<{ ok: boolean, detail: string }> }} Component
 */

/**
 * Controllers the lab needs: Jobs and CronJobs and what cleans up after them (owner references, deleted
 * namespaces, ttlSecondsAfterFinished), plus the service-account controllers so Pods pass the
 * ServiceAccount admission plugin exactly as on a real cluster and later work can mint SA tokens.
 */
export const CONTROLLERS = [
  'job-controller',
  'cronjob-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'ttl-after-finished-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
];

const ok = (cond, detail) => ({ ok: cond, detail });

function etcd(bin, c) {
  const f = clusterFiles(c.name);
  const client = `http://127.0.0.1:${c.etcdClient}`;
  const peer = `http://127.0.0.1:${c.etcdPeer}`;
  return {
    id: `${c.name}-etcd`,
    what: `${c.name} etcd`,
    log: f.log('etcd'),
    port: c.etcdClient,
    timeoutMs: 60_000,
    argv: [
      join(bin, 'etcd'),
      `--name=${c.name}`,
      `--data-dir=${f.etcdData}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${c.name}=${peer}`,
      '--initial-cluster-state=new',
      // Throwaway lab data: skipping fsync keeps two clusters from fighting over the disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    check: async () => {
      const r = await probe(`${client}/health`);
      return ok(r.status === 200 && /"health":\s*"true"/.test(r.body ?? ''), describeProbe(r));
    },
  };
}

function apiserver(bin, c) {
  const f = clusterFiles(c.name);
  const url = `https://127.0.0.1:${c.apiserver}`;
  return {
    id: `${c.name}-kube-apiserver`,
    what: `${c.name} kube-apiserver`,
    log: f.log('kube-apiserver'),
    port: c.apiserver,
    timeoutMs: 180_000,
    argv: [
      join(bin, 'kube-apiserver'),
      `--etcd-servers=http://127.0.0.1:${c.etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${c.apiserver}`,
      `--tls-cert-file=${f.servingCert}`,
      `--tls-private-key-file=${f.servingKey}`,
      `--token-auth-file=${f.tokens}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=${url}`,
      `--service-account-key-file=${f.saPub}`,
      `--service-account-signing-key-file=${f.saKey}`,
      `--service-cluster-ip-range=${c.serviceCidr}`,
      // Endpoints may not hold loopback addresses, and nothing in the lab routes to the `kubernetes`
      // Service anyway: without this the apiserver logs a reconcile error every few seconds.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
    ],
    check: async () => {
      const r = await probe(`${url}/readyz`, { ca: readFileSync(f.caCert) });
      return ok(r.status === 200, describeProbe(r));
    },
  };
}

function controllerManager(bin, c) {
  const f = clusterFiles(c.name);
  return {
    id: `${c.name}-kube-controller-manager`,
    what: `${c.name} kube-controller-manager`,
    log: f.log('kube-controller-manager'),
    port: c.controllerManager,
    timeoutMs: 120_000,
    argv: [
      join(bin, 'kube-controller-manager'),
      `--kubeconfig=${f.controllerKubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${c.controllerManager}`,
      `--cert-dir=${f.controllerCertDir}`,
      `--controllers=${CONTROLLERS.join(',')}`,
      `--service-account-private-key-file=${f.saKey}`,
      `--root-ca-file=${f.caCert}`,
      '--profiling=false',
    ],
    check: async () => {
      // Self-signed serving certificate: only liveness matters here, not its identity.
      const r = await probe(`https://127.0.0.1:${c.controllerManager}/healthz`, { insecure: true });
      return ok(r.status === 200, describeProbe(r));
    },
  };
}

function podcompleter(bin, c) {
  const f = clusterFiles(c.name);
  const log = f.log('podcompleter');
  return {
    id: `${c.name}-podcompleter`,
    what: `${c.name} podcompleter`,
    log,
    timeoutMs: 60_000,
    argv: [join(bin, 'podcompleter'), `--kubeconfig=${f.completerKubeconfig}`, `--context=${contextName(c.name)}`],
    // It prints this line once its Pod informer has synced; it has no port to probe.
    check: async () => ok(logContains(log, 'podcompleter: serving'), 'no "serving" line in its log yet'),
  };
}

/** The programs of one cluster in start order (each needs the one before it). */
export function clusterComponents(bin, c) {
  return [etcd(bin, c), apiserver(bin, c), controllerManager(bin, c), podcompleter(bin, c)];
}
