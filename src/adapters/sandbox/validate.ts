// Checks the environment's `sandbox:` section when a sandbox starts: the schema first, then what only
// makes sense together with the environment (cluster names, schedules). Every problem is reported at once,
// located in the environment file. Gate and approval scripts naming no step of this runbook are not
// errors (one sandbox environment serves many runbooks) but are noted at the top of the report: a
// misspelt name would otherwise silently leave a gate unscripted.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { locate } from '../../config/locate.js';
import { issueMessage } from '../../config/messages.js';
import type { LoadedRunbook } from '../../config/types.js';
import { InputError, type InputIssue } from '../../core/errors.js';
import { refKey } from '../../core/types.js';
import { stepLabel } from '../../machine/labels.js';
import { validateSchedule } from '../../plan/schedule.js';
import { sandboxSchema, type SandboxConfig } from './config.js';

type Path = (string | number)[];

interface Problem {
  path: Path;
  message: string;
}

/** The parsed `sandbox:` section; InputError naming each bad field (`sandbox.clusters.blue.cronjobs.0.schedule`). */
export function parseSandboxConfig(loaded: LoadedRunbook): SandboxConfig {
  const { environment, environmentFile } = loaded;
  if (environment.sandbox === undefined) {
    throw new InputError(`${environmentFile}: this environment has no sandbox section; a rehearsal needs one (see config/sandbox.yaml)`);
  }
  const parsed = sandboxSchema.safeParse(environment.sandbox, { error: issueMessage, reportInput: true });
  const problems: Problem[] = parsed.success
    ? crossFieldProblems(parsed.data, loaded)
    : parsed.error.issues.flatMap((issue) => issue.message.split('\n').map((message) => ({ path: issue.path.map(pathSegment), message })));
  if (problems.length > 0 || !parsed.success) {
    throw new InputError(
      `${environmentFile}: the sandbox section has ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was run`,
      locateAll(environmentFile, problems),
    );
  }
  return { ...parsed.data, notes: [...parsed.data.notes, ...unusedScripts(parsed.data, loaded)] };
}

const pathSegment = (segment: PropertyKey): string | number => (typeof segment === 'number' ? segment : String(segment));

function crossFieldProblems(config: SandboxConfig, loaded: LoadedRunbook): Problem[] {
  return clusterProblems(config, loaded);
}

function clusterProblems(config: SandboxConfig, loaded: LoadedRunbook): Problem[] {
  const known = Object.keys(loaded.environment.clusters);
  const problems: Problem[] = [];
  for (const [name, cluster] of Object.entries(config.clusters)) {
    if (!known.includes(name)) {
      problems.push({ path: ['clusters', name], message: `unknown cluster "${name}"; the environment's clusters are: ${known.join(', ')}` });
      continue;
    }
    const seen = new Set<string>();
    cluster.cronjobs.forEach((cj, i) => {
      const where: Path = ['clusters', name, 'cronjobs', i];
      const problem = validateSchedule(cj.schedule, cj.timeZone);
      if (problem) problems.push({ path: [...where, cj.timeZone !== undefined && validateSchedule(cj.schedule) === undefined ? 'timeZone' : 'schedule'], message: problem });
      const key = refKey(cj);
      if (seen.has(key)) problems.push({ path: [...where, 'name'], message: `CronJob ${key} is listed twice on cluster ${name}` });
      seen.add(key);
    });
  }
  return problems;
}

function unusedScripts(config: SandboxConfig, loaded: LoadedRunbook): string[] {
  const gates = loaded.runbook.steps.filter((s) => s.kind === 'gate');
  const gateNames = new Set(gates.flatMap((g) => [stepLabel(g), g.gate.type]));
  const approvals = new Set(loaded.runbook.steps.filter((s) => s.kind === 'approve').map(stepLabel));
  return [
    ...Object.keys(config.gates)
      .filter((key) => !gateNames.has(key))
      .map((key) => `sandbox.gates."${key}" names no gate step of this runbook (gates: ${[...gateNames].join(', ') || 'none'}); it is not used`),
    ...Object.keys(config.approvals.steps)
      .filter((key) => !approvals.has(key))
      .map((key) => `sandbox.approvals.steps."${key}" names no approve step of this runbook (approvals: ${[...approvals].join(', ') || 'none'}); it is not used`),
  ];
}

/** Positions in the environment file when it can be read (a rehearsal's derived environment has none). */
function locateAll(file: string, problems: Problem[]): InputIssue[] {
  let position: (path: Path) => { line?: number; col?: number } = () => ({});
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter });
    position = (path) => locate(doc, lineCounter, ['sandbox', ...path]);
  } catch {
    // Not a readable YAML file: report the field paths without positions.
  }
  return problems.map((p) => ({ file, ...position(p.path), path: ['sandbox', ...p.path].join('.'), message: p.message }));
}
