// Rules that span fields or both files, checked once both files passed their schemas. Paths are in the
// YAML as written (`steps.3.gate.kubernetes.cluster`), so the loader can point at the offending line.
import type { Environment, Runbook, Step } from './types.js';
import type { FieldPath } from './locate.js';

export interface RuleIssue {
  file: 'runbook' | 'environment';
  path: FieldPath;
  /** Point at the key rather than the value (for map keys that are themselves the problem). */
  at?: 'key' | 'value';
  message: string;
}

type Rule = (runbook: Runbook, env: Environment) => RuleIssue[];

/** Every cross-field problem of a runbook and its environment; empty when they fit together. */
export function checkRules(runbook: Runbook, env: Environment): RuleIssue[] {
  return [
    clustersExist,
    sandboxIsWholeOrNothing,
    stateClusterExists,
    dnsGroupsNameClusters,
    stepsNeedTheirSections,
    gateClustersExist,
    approvalsCanBeMet,
    stepOrder,
    excludesAreInScope,
    noDuplicates,
    approversAreDistinct,
    terminalApprovalIsOnePerson,
    stepNamesAreDistinct,
    setIdentifiersAreDistinct,
  ].flatMap((rule) => rule(runbook, env));
}

const known = (env: Environment): string => Object.keys(env.clusters).join(', ');

const clustersExist: Rule = (runbook, env) => {
  const issues: RuleIssue[] = [];
  for (const field of ['from', 'to'] as const) {
    const name = runbook[field];
    if (!(name in env.clusters)) {
      issues.push({
        file: 'runbook',
        path: [field],
        message: `unknown cluster "${name}"; the environment "${env.name}" has: ${known(env)}`,
      });
    }
  }
  if (runbook.from === runbook.to) {
    issues.push({
      file: 'runbook',
      path: ['to'],
      message: `expected a target cluster different from the source, found "${runbook.to}" for both`,
    });
  }
  return issues;
};

/** The sandbox replaces every port: a mix of simulated and real clusters cannot run. */
const sandboxIsWholeOrNothing: Rule = (_runbook, env) =>
  Object.entries(env.clusters).flatMap(([name, config]): RuleIssue[] => {
    const simulated = 'sandbox' in config;
    if (simulated === (env.sandbox !== undefined)) return [];
    return [
      {
        file: 'environment',
        path: ['clusters', name],
        message: simulated
          ? 'a sandbox cluster needs the `sandbox:` section of the environment, found none; add it or use kubeconfig/eks'
          : 'this environment has a `sandbox:` section, so every cluster must be `{ sandbox: {} }`; found a real cluster',
      },
    ];
  });

const stateClusterExists: Rule = (_runbook, env) => {
  const state = env.state;
  if (!state || !('kubernetes' in state)) return [];
  if (state.kubernetes.cluster === undefined || state.kubernetes.cluster in env.clusters) return [];
  return [
    {
      file: 'environment',
      path: ['state', 'kubernetes', 'cluster'],
      message: `unknown cluster "${state.kubernetes.cluster}"; expected one of: ${known(env)}`,
    },
  ];
};

const dnsGroupsNameClusters: Rule = (runbook, env) => {
  const issues: RuleIssue[] = [];
  const shifts = runbook.steps.some((step) => step.kind === 'shiftTraffic');
  env.dns?.records.forEach((record, i) => {
    for (const cluster of Object.keys(record.setIdentifiers)) {
      if (!(cluster in env.clusters)) {
        issues.push({
          file: 'environment',
          path: ['dns', 'records', i, 'setIdentifiers', cluster],
          at: 'key',
          message: `unknown cluster "${cluster}"; expected one of: ${known(env)}`,
        });
      }
    }
    for (const cluster of shifts ? [runbook.from, runbook.to] : []) {
      if (cluster in env.clusters && !(cluster in record.setIdentifiers)) {
        issues.push({
          file: 'environment',
          path: ['dns', 'records', i, 'setIdentifiers'],
          message: `the runbook shifts traffic between "${runbook.from}" and "${runbook.to}", but ${record.name} ${record.type} has no SetIdentifier for "${cluster}"; add "${cluster}: <SetIdentifier>"`,
        });
      }
    }
  });
  return issues;
};

const stepsNeedTheirSections: Rule = (runbook, env) =>
  runbook.steps.flatMap((step, i): RuleIssue[] => {
    if (step.kind === 'shiftTraffic' && !env.dns) {
      return [
        {
          file: 'runbook',
          path: stepPath(step, i),
          message: `shiftTraffic needs a \`dns\` section (hosted zone and weighted records) in the environment "${env.name}"; add it there or remove this step`,
        },
      ];
    }
    if (step.kind === 'approve' && step.via === 'slack' && !env.slack) {
      return [
        {
          file: 'runbook',
          path: [...stepPath(step, i), 'via'],
          message: `approval via slack needs a \`slack\` section in the environment "${env.name}"; add it there or use "via: terminal"`,
        },
      ];
    }
    return [];
  });

const gateClustersExist: Rule = (runbook, env) =>
  runbook.steps.flatMap((step, i): RuleIssue[] =>
    step.kind === 'gate' && step.gate.type === 'kubernetes' && !(step.gate.cluster in env.clusters)
      ? [
          {
            file: 'runbook',
            path: [...stepPath(step, i), 'kubernetes', 'cluster'],
            message: `unknown cluster "${step.gate.cluster}"; expected one of: ${known(env)}`,
          },
        ]
      : [],
  );

/** Slack user group ids (S…) stand for several people, so only plain user lists can be counted. */
const approvalsCanBeMet: Rule = (runbook, env) =>
  runbook.steps.flatMap((step, i): RuleIssue[] => {
    if (step.kind !== 'approve' || step.via !== 'slack') return [];
    const approvers = step.approvers ?? env.slack?.approvers;
    // Without any approver list the missing slack section is the problem, reported on its own.
    if (!approvers) return [];
    const countable = approvers.every((id) => !id.startsWith('S'));
    const people = new Set(approvers).size;
    if (!countable || step.required <= people) return [];
    return [
      {
        file: 'runbook',
        path: [...stepPath(step, i), 'required'],
        message: `expected at most ${people} required approval(s) (one per distinct approver), found ${step.required}: it could never be met; add approvers or lower "required"`,
      },
    ];
  });

const stepOrder: Rule = (runbook) => {
  const issues: RuleIssue[] = [];
  const moveAt = runbook.steps.findIndex((step) => step.kind === 'moveCronJobs');
  runbook.steps.forEach((step, i) => {
    if (step.kind === 'moveCronJobs' && i !== moveAt) {
      issues.push({
        file: 'runbook',
        path: stepPath(step, i),
        message: `expected one moveCronJobs step, found another at step ${moveAt + 1} (steps.${moveAt}); remove this one`,
      });
    }
    if (step.kind === 'gate' && step.gate.type === 'cronjobFirstRun' && (moveAt < 0 || moveAt > i)) {
      issues.push({
        file: 'runbook',
        path: [...stepPath(step, i), 'cronjobFirstRun'],
        message:
          moveAt < 0
            ? 'a cronjobFirstRun gate waits for moved CronJobs: expected a moveCronJobs step before it, found none; add one before this gate'
            : `a cronjobFirstRun gate waits for moved CronJobs: expected the moveCronJobs step before it, found it after, at step ${moveAt + 1} (steps.${moveAt}); move this gate below it`,
      });
    }
  });
  return issues;
};

const excludesAreInScope: Rule = (runbook) =>
  runbook.cronjobs.exclude.flatMap((entry, i): RuleIssue[] => {
    const namespace = entry.split('/')[0]!;
    return runbook.cronjobs.namespaces.includes(namespace)
      ? []
      : [
          {
            file: 'runbook',
            path: ['cronjobs', 'exclude', i],
            message: `"${entry}" is in namespace "${namespace}", which is not in cronjobs.namespaces (${runbook.cronjobs.namespaces.join(', ')}); fix the entry or remove it`,
          },
        ];
  });

const noDuplicates: Rule = (runbook, env) => [
  ...duplicates(runbook.cronjobs.namespaces).map(
    (i): RuleIssue => ({ file: 'runbook', path: ['cronjobs', 'namespaces', i], message: 'namespace listed twice; remove one' }),
  ),
  ...duplicates((env.dns?.records ?? []).map((r) => `${r.name} ${r.type}`)).map(
    (i): RuleIssue => ({
      file: 'environment',
      path: ['dns', 'records', i],
      message: 'weighted group listed twice (same name and type); merge the entries',
    }),
  ),
];

/** Indexes of the entries already seen earlier in the list. */
function duplicates(values: string[]): number[] {
  return values.flatMap((value, i) => (values.indexOf(value) < i ? [i] : []));
}

function stepPath(step: Step, index: number): FieldPath {
  return ['steps', index, step.kind];
}

/** The same Slack id twice counts once: a list with repeats promises more approvers than there are. */
const approversAreDistinct: Rule = (runbook, env) => {
  const issues: RuleIssue[] = duplicates(env.slack?.approvers ?? []).map((j) => ({
    file: 'environment' as const,
    path: ['slack', 'approvers', j],
    message: `approver "${env.slack!.approvers[j]}" listed twice; remove one`,
  }));
  runbook.steps.forEach((step, i) => {
    if (step.kind !== 'approve' || !step.approvers) return;
    for (const j of duplicates(step.approvers)) {
      issues.push({ file: 'runbook', path: [...stepPath(step, i), 'approvers', j], message: `approver "${step.approvers[j]}" listed twice; remove one` });
    }
  });
  return issues;
};

/** At a terminal one operator answers: a second distinct approval can never come. */
const terminalApprovalIsOnePerson: Rule = (runbook) =>
  runbook.steps.flatMap((step, i): RuleIssue[] =>
    step.kind === 'approve' && step.via === 'terminal' && step.required > 1
      ? [
          {
            file: 'runbook',
            path: [...stepPath(step, i), 'required'],
            message: `expected "required: 1" for a terminal approval (one operator answers it), found ${step.required}; use "via: slack" for several approvers`,
          },
        ]
      : [],
  );

/** Step names label the plan, the journal and approval messages: two alike cannot be told apart. */
const stepNamesAreDistinct: Rule = (runbook) => {
  const names = runbook.steps.map((step) => step.name);
  return runbook.steps.flatMap((step, i): RuleIssue[] => {
    const first = step.name === undefined ? -1 : names.indexOf(step.name);
    return first >= 0 && first < i
      ? [{ file: 'runbook', path: [...stepPath(step, i), 'name'], message: `step name "${step.name}" is already used by step ${first + 1} (steps.${first}); give each step its own name` }]
      : [];
  });
};

/** Two clusters with one SetIdentifier would be one record: no weight could move between them. */
const setIdentifiersAreDistinct: Rule = (_runbook, env) =>
  (env.dns?.records ?? []).flatMap((record, i): RuleIssue[] => {
    const entries = Object.entries(record.setIdentifiers);
    const ids = entries.map(([, id]) => id);
    return duplicates(ids).map((j) => ({
      file: 'environment',
      path: ['dns', 'records', i, 'setIdentifiers', entries[j]![0]],
      message: `SetIdentifier "${ids[j]}" is also given to cluster "${entries[ids.indexOf(ids[j]!)]![0]}"; each cluster needs its own record in the weighted group`,
    }));
  });
