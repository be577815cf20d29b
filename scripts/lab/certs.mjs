// Credentials of one lab cluster, made fresh whenever a cluster starts from an empty data folder:
// its own CA, a serving certificate for 127.0.0.1/localhost, the service-account signing key pair and a
// static token file (admin in system:masters, one identity per control-plane program, and a user with no
// rights at all, which the RBAC test uses).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterFiles } from './layout.mjs';

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(name, f) {
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', f.caKey, '-out', f.caCert, '-days', '3650', '-subj', `/CN=cutover-lab-${name}-ca`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function makeServingCert(name, f) {
  const csr = join(f.dir, 'apiserver.csr');
  const ext = join(f.dir, 'apiserver.ext');
  writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc',
      '',
    ].join('\n'),
  );
  openssl([
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', f.servingKey, '-out', csr, '-subj', `/CN=lab-${name}-apiserver`,
  ]);
  openssl([
    'x509', '-req', '-in', csr, '-CA', f.caCert, '-CAkey', f.caKey, '-CAcreateserial',
    '-out', f.servingCert, '-days', '3650', '-extfile', ext,
  ], f.dir);
}

function makeServiceAccountKeys(f) {
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f.saKey]);
  openssl(['pkey', '-in', f.saKey, '-pubout', '-out', f.saPub]);
}

/** @typedef {{ admin: string, controllerManager: string, podcompleter: string, noRights: string }} LabTokens */

function makeTokens(f) {
  const token = () => randomBytes(24).toString('hex');
  /** @type {LabTokens} */
  const tokens = { admin: token(), controllerManager: token(), podcompleter: token(), noRights: token() };
  // kube-apiserver --token-auth-file: token,user,uid,"group,group"
  const lines = [
    `${tokens.admin},lab-admin,lab-admin,"system:masters"`,
    `${tokens.controllerManager},system:kube-controller-manager,system:kube-controller-manager,"system:masters"`,
    `${tokens.podcompleter},lab-podcompleter,lab-podcompleter,"system:masters"`,
    `${tokens.noRights},lab-norights,lab-norights`,
  ];
  writeFileSync(f.tokens, lines.join('\n') + '\n', { mode: 0o600 });
  writeFileSync(f.tokensJson, JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600 });
  return tokens;
}

/** Writes every credential file of the cluster into its (empty) run folder. */
export function makeClusterCredentials(name) {
  const f = clusterFiles(name);
  makeCa(name, f);
  makeServingCert(name, f);
  makeServiceAccountKeys(f);
  return makeTokens(f);
}
