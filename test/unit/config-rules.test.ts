import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { formatIssue, InputError } from '../../src/core/errors.js';
import { loadRunbook } from '../../src/config/load.js';
import { checkRules } from '../../src/config/rules.js';
import type { Environment, Runbook } from '../../src/config/types.js';

const ENVIRONMENT = `apiVersion: cutover.dev/v1
kind: Environment
name: lab
clusters:
  blue: { kubeconfig: { context: lab-blue } }
  green: { kubeconfig: { context: lab-green } }
dns:
  hostedZoneId: Z123
  records:
    - { name: api.example.com., type: A, setIdentifiers: { blue: blue, green: green } }
slack: { channel: C123, approvers: [U1, U2] }
`;

const RUNBOOK = `apiVersion: cutover.dev/v1
kind: Runbook
name: lab
environment: env.yaml
from: blue
to: green
cronjobs:
  namespaces: [billing, reports]
  exclude: [reports/legacy]
steps:
  - preflight: {}
  - moveCronJobs: {}
  - shiftTraffic: { percent: 10 }
  - gate: { timeout: 5m, kubernetes: { cluster: green, namespaces: [api] } }
  - gate: { timeout: 5m, cronjobFirstRun: {} }
  - approve: { via: slack, required: 2 }
`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-rules-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function issuesOf(runbook: string, environment = ENVIRONMENT): Promise<string[]> {
  await writeFile(join(dir, 'rb.yaml'), runbook);
  await writeFile(join(dir, 'env.yaml'), environment);
  const error = await loadRunbook(join(dir, 'rb.yaml')).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return (error as InputError).issues.map((issue) => formatIssue(issue).replaceAll(dir, '<dir>'));
}

test('the base runbook fits its environment', async () => {
  await writeFile(join(dir, 'rb.yaml'), RUNBOOK);
  await writeFile(join(dir, 'env.yaml'), ENVIRONMENT);

  await expect(loadRunbook(join(dir, 'rb.yaml'))).resolves.toMatchObject({ runbook: { name: 'lab' } });
});

describe('clusters', () => {
  test('an unknown source or target cluster lists the known ones', async () => {
    const issues = await issuesOf(RUNBOOK.replace('from: blue', 'from: purple'));

    expect(issues).toEqual(['<dir>/rb.yaml:5:7 from: unknown cluster "purple"; the environment "lab" has: blue, green']);
  });

  test('the same cluster as source and target is refused', async () => {
    const issues = await issuesOf(RUNBOOK.replace('to: green', 'to: blue'));

    expect(issues).toEqual([
      '<dir>/rb.yaml:6:5 to: expected a target cluster different from the source, found "blue" for both',
    ]);
  });

  test('a kubernetes gate on an unknown cluster is refused', async () => {
    const issues = await issuesOf(RUNBOOK.replace('cluster: green', 'cluster: red'));

    expect(issues).toEqual([
      '<dir>/rb.yaml:14:49 steps.3.gate.kubernetes.cluster: unknown cluster "red"; expected one of: blue, green',
    ]);
  });

  test('a kubernetes state store on an unknown cluster is refused', async () => {
    const issues = await issuesOf(RUNBOOK, `${ENVIRONMENT}state: { kubernetes: { cluster: red, namespace: cutover } }\n`);

    expect(issues).toEqual([
      '<dir>/env.yaml:12:33 state.kubernetes.cluster: unknown cluster "red"; expected one of: blue, green',
    ]);
  });
});

describe('sandbox', () => {
  test('simulated and real clusters cannot be mixed', async () => {
    const environment = ENVIRONMENT.replace('blue: { kubeconfig: { context: lab-blue } }', 'blue: { sandbox: {} }');
    const issues = await issuesOf(RUNBOOK, `${environment}sandbox: { seed: 1 }\n`);

    expect(issues).toEqual([
      '<dir>/env.yaml:6:10 clusters.green: this environment has a `sandbox:` section, so every cluster must be `{ sandbox: {} }`; found a real cluster',
    ]);
  });

  test('a sandbox cluster needs the sandbox section', async () => {
    const issues = await issuesOf(RUNBOOK, ENVIRONMENT.replace('blue: { kubeconfig: { context: lab-blue } }', 'blue: { sandbox: {} }'));

    expect(issues).toEqual([
      '<dir>/env.yaml:5:9 clusters.blue: a sandbox cluster needs the `sandbox:` section of the environment, found none; add it or use kubeconfig/eks',
    ]);
  });
});

describe('sections the steps need', () => {
  test('shiftTraffic without a dns section in the environment is refused', async () => {
    const environment = ENVIRONMENT.replace(/dns:\n(.*\n){3}/, '');
    const issues = await issuesOf(RUNBOOK, environment);

    expect(issues).toEqual([
      '<dir>/rb.yaml:13:19 steps.2.shiftTraffic: shiftTraffic needs a `dns` section (hosted zone and weighted records) in the environment "lab"; add it there or remove this step',
    ]);
  });

  test('approval via slack without a slack section is refused', async () => {
    const issues = await issuesOf(RUNBOOK, ENVIRONMENT.replace(/slack:.*\n/, ''));

    expect(issues).toEqual([
      '<dir>/rb.yaml:16:21 steps.5.approve.via: approval via slack needs a `slack` section in the environment "lab"; add it there or use "via: terminal"',
    ]);
  });

  test('more required approvals than approvers is refused', async () => {
    const issues = await issuesOf(RUNBOOK.replace('required: 2', 'required: 2, approvers: [U9]'));

    expect(issues).toEqual([
      '<dir>/rb.yaml:16:38 steps.5.approve.required: expected at most 1 required approval(s) (one per distinct approver), found 2: it could never be met; add approvers or lower "required"',
    ]);
  });

  test('a user group among the approvers cannot be counted, so any required count passes', async () => {
    await writeFile(join(dir, 'rb.yaml'), RUNBOOK.replace('required: 2', 'required: 5, approvers: [S0GROUP]'));
    await writeFile(join(dir, 'env.yaml'), ENVIRONMENT);

    await expect(loadRunbook(join(dir, 'rb.yaml'))).resolves.toBeDefined();
  });

  test('a weighted group without a SetIdentifier for the target is refused when traffic shifts', async () => {
    const issues = await issuesOf(RUNBOOK, ENVIRONMENT.replace(', green: green }', ' }'));

    expect(issues).toEqual([
      '<dir>/env.yaml:10:58 dns.records.0.setIdentifiers: the runbook shifts traffic between "blue" and "green", but api.example.com. A has no SetIdentifier for "green"; add "green: <SetIdentifier>"',
    ]);
  });

  test('a SetIdentifier for an unknown cluster is reported at its key', async () => {
    const issues = await issuesOf(RUNBOOK, ENVIRONMENT.replace('green: green }', 'green: green, red: red }'));

    expect(issues).toEqual([
      '<dir>/env.yaml:10:86 dns.records.0.setIdentifiers.red: unknown cluster "red"; expected one of: blue, green',
    ]);
  });
});

describe('step order and scope', () => {
  test('a cronjobFirstRun gate before any moveCronJobs step is refused', async () => {
    const issues = await issuesOf(RUNBOOK.replace('  - moveCronJobs: {}\n', ''));

    expect(issues).toEqual([
      '<dir>/rb.yaml:14:43 steps.3.gate.cronjobFirstRun: a cronjobFirstRun gate waits for moved CronJobs: expected a moveCronJobs step before it, found none; add one before this gate',
    ]);
  });

  test('a second moveCronJobs step is refused', async () => {
    const issues = await issuesOf(RUNBOOK.replace('  - preflight: {}\n', '  - moveCronJobs: {}\n'));

    expect(issues).toEqual([
      '<dir>/rb.yaml:12:19 steps.1.moveCronJobs: expected one moveCronJobs step, found another at step 1 (steps.0); remove this one',
    ]);
  });

  test('an excluded CronJob outside the listed namespaces is refused', async () => {
    const issues = await issuesOf(RUNBOOK.replace('reports/legacy', 'ops/legacy'));

    expect(issues).toEqual([
      '<dir>/rb.yaml:9:13 cronjobs.exclude.0: "ops/legacy" is in namespace "ops", which is not in cronjobs.namespaces (billing, reports); fix the entry or remove it',
    ]);
  });

  test('a namespace listed twice is refused', async () => {
    const issues = await issuesOf(RUNBOOK.replace('[billing, reports]', '[billing, reports, billing]'));

    expect(issues).toEqual(['<dir>/rb.yaml:8:34 cronjobs.namespaces.2: namespace listed twice; remove one']);
  });
});

test('checkRules works on parsed values alone and reports paths as written in YAML', () => {
  const env: Environment = {
    apiVersion: 'cutover.dev/v1',
    kind: 'Environment',
    name: 'lab',
    clusters: { blue: { kubeconfig: { context: 'b' } } },
    allowNonInteractiveApproval: false,
  };
  const runbook: Runbook = {
    apiVersion: 'cutover.dev/v1',
    kind: 'Runbook',
    name: 'r',
    environment: 'env.yaml',
    from: 'blue',
    to: 'green',
    onFailure: 'halt',
    cronjobs: { namespaces: ['a'], exclude: [], running: 'wait', drainTimeoutMs: 1, missedRuns: 'skip', missedRunsLimit: 10, concurrency: 1 },
    steps: [{ kind: 'approve', via: 'slack', required: 1, timeoutMs: 1 }],
  };

  expect(checkRules(runbook, env)).toEqual([
    { file: 'runbook', path: ['to'], message: 'unknown cluster "green"; the environment "lab" has: blue' },
    {
      file: 'runbook',
      path: ['steps', 0, 'approve', 'via'],
      message:
        'approval via slack needs a `slack` section in the environment "lab"; add it there or use "via: terminal"',
    },
  ]);
});
