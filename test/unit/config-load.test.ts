import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { formatIssue, InputError } from '../../src/core/errors.js';
import { loadRunbook } from '../../src/config/load.js';

const ENVIRONMENT = `apiVersion: cutover.dev/v1
kind: Environment
name: lab
aws: { region: us-east-1, endpoint: "http://127.0.0.1:15000", accountId: "123456789012" }
clusters:
  blue:  { kubeconfig: { context: lab-blue, path: ../.lab/kubeconfig } }
  green: { eks: { name: green, region: us-east-1 } }
dns:
  hostedZoneId: Z123
  records:
    - { name: api.example.com, type: A, setIdentifiers: { blue: blue, green: green } }
slack: { channel: C123, approvers: [U1, U2] }
state: { local: {} }
`;

const RUNBOOK = `apiVersion: cutover.dev/v1
kind: Runbook
name: lab-blue-to-green
environment: env.yaml
from: blue
to: green
cronjobs:
  namespaces: [billing, reports]
  selector: "team=billing"
  exclude: [reports/legacy]
steps:
  - preflight: {}
  - moveCronJobs:
  - shiftTraffic: { percent: 10, soak: 5m }
  - gate: { name: api healthy, timeout: 5m, http: { url: "https://api.example.com/health", headers: { Host: x }, bodyPattern: "ok" } }
  - gate: { timeout: 2m, cloudwatchAlarms: { prefix: "api-" } }
  - gate: { timeout: 2m, route53HealthChecks: { ids: [abc] } }
  - gate: { timeout: 5m, kubernetes: { cluster: green, namespaces: [api] } }
  - gate: { timeout: 1m, command: { command: ./check.sh } }
  - gate: { timeout: 10m, cronjobFirstRun: {} }
  - approve: { via: slack, message: "Go to 50%?" }
`;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(contents: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(contents)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
}

/** The located issues of loading `rb.yaml`, as the CLI prints them, with the temp folder shown as `<dir>`. */
async function issuesOf(contents: Record<string, string>, opts: { environment?: string } = {}): Promise<string[]> {
  await files(contents);
  const error = await loadRunbook(join(dir, 'rb.yaml'), opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return (error as InputError).issues.map((issue) => formatIssue(issue).replaceAll(dir, '<dir>'));
}

/** RUNBOOK with its line `line` (1-based) replaced. */
function runbookWith(line: number, text: string): string {
  const lines = RUNBOOK.split('\n');
  lines[line - 1] = text;
  return lines.join('\n');
}

describe('a valid runbook and environment', () => {
  test('parse into the typed shapes with every default filled in', async () => {
    await files({ 'rb.yaml': RUNBOOK, 'env.yaml': ENVIRONMENT });
    const loaded = await loadRunbook(join(dir, 'rb.yaml'));

    expect(loaded.runbookFile).toBe(join(dir, 'rb.yaml'));
    expect(loaded.environmentFile).toBe(join(dir, 'env.yaml'));
    expect(loaded.runbook.onFailure).toBe('halt');
    expect(loaded.runbook.cronjobs).toEqual({
      namespaces: ['billing', 'reports'],
      selector: 'team=billing',
      exclude: ['reports/legacy'],
      running: 'wait',
      drainTimeoutMs: 600_000,
      missedRuns: 'skip',
      missedRunsLimit: 10,
      concurrency: 5,
    });
    expect(loaded.runbook.steps).toEqual([
      { kind: 'preflight' },
      { kind: 'moveCronJobs' },
      { kind: 'shiftTraffic', percent: 10, soakMs: 300_000 },
      {
        kind: 'gate',
        name: 'api healthy',
        timeoutMs: 300_000,
        gate: {
          type: 'http',
          url: 'https://api.example.com/health',
          method: 'GET',
          headers: { Host: 'x' },
          expectStatus: 200,
          bodyPattern: 'ok',
          successes: 3,
          intervalMs: 5_000,
        },
      },
      {
        kind: 'gate',
        timeoutMs: 120_000,
        gate: { type: 'cloudwatchAlarms', names: [], prefix: 'api-', insufficientData: 'wait' },
      },
      { kind: 'gate', timeoutMs: 120_000, gate: { type: 'route53HealthChecks', ids: ['abc'] } },
      { kind: 'gate', timeoutMs: 300_000, gate: { type: 'kubernetes', cluster: 'green', namespaces: ['api'] } },
      {
        kind: 'gate',
        timeoutMs: 60_000,
        gate: { type: 'command', command: './check.sh', args: [], env: {}, timeoutMs: 60_000 },
      },
      { kind: 'gate', timeoutMs: 600_000, gate: { type: 'cronjobFirstRun' } },
      { kind: 'approve', via: 'slack', message: 'Go to 50%?', required: 1, timeoutMs: 1_800_000 },
    ]);
  });

  test('the environment gets its defaults and a record name gets its final dot', async () => {
    await files({ 'rb.yaml': RUNBOOK, 'env.yaml': ENVIRONMENT });
    const { environment } = await loadRunbook(join(dir, 'rb.yaml'));

    expect(environment.dns).toEqual({
      hostedZoneId: 'Z123',
      maxRequestsPerSecond: 2,
      records: [{ name: 'api.example.com.', type: 'A', setIdentifiers: { blue: 'blue', green: 'green' } }],
    });
    expect(environment.slack).toEqual({
      channel: 'C123',
      approvers: ['U1', 'U2'],
      botTokenEnv: 'SLACK_BOT_TOKEN',
      appTokenEnv: 'SLACK_APP_TOKEN',
      allowSelfApproval: false,
    });
    expect(environment.state).toEqual({ local: { dir: '.cutover' } });
    expect(environment.allowNonInteractiveApproval).toBe(false);
    expect(environment.clusters).toEqual({
      blue: { kubeconfig: { context: 'lab-blue', path: '../.lab/kubeconfig' } },
      green: { eks: { name: 'green', region: 'us-east-1' } },
    });
  });

  test('a command gate keeps its own timeout when given one', async () => {
    const runbook = runbookWith(19, '  - gate: { timeout: 5m, command: { command: ./check.sh, args: [-v], timeout: 30s } }');
    await files({ 'rb.yaml': runbook, 'env.yaml': ENVIRONMENT });
    const { runbook: parsed } = await loadRunbook(join(dir, 'rb.yaml'));

    expect(parsed.steps[7]).toEqual({
      kind: 'gate',
      timeoutMs: 300_000,
      gate: { type: 'command', command: './check.sh', args: ['-v'], env: {}, timeoutMs: 30_000 },
    });
  });

  test('--env overrides the environment named in the runbook, relative to the working folder', async () => {
    await files({ 'rb.yaml': runbookWith(4, 'environment: missing.yaml'), 'other/env.yaml': ENVIRONMENT });
    const loaded = await loadRunbook(join(dir, 'rb.yaml'), { environment: join(dir, 'other/env.yaml') });

    expect(loaded.environmentFile).toBe(join(dir, 'other/env.yaml'));
  });

  test('an absolute environment path is used as it is', async () => {
    await files({ 'rb.yaml': runbookWith(4, `environment: ${join(dir, 'envs/env.yaml')}`), 'envs/env.yaml': ENVIRONMENT });
    const loaded = await loadRunbook(join(dir, 'rb.yaml'));

    expect(loaded.environmentFile).toBe(join(dir, 'envs/env.yaml'));
  });

  test('the sandbox section of an environment is passed through untouched', async () => {
    const environment = ENVIRONMENT.replace(/ {2}blue: .*\n {2}green: .*\n/, '  blue: { sandbox: {} }\n  green: { sandbox: {} }\n');
    await files({ 'rb.yaml': RUNBOOK, 'env.yaml': `${environment}sandbox: { seed: 7, anything: [1, 2] }\n` });
    const loaded = await loadRunbook(join(dir, 'rb.yaml'));

    expect(loaded.environment.sandbox).toEqual({ seed: 7, anything: [1, 2] });
    expect(loaded.environment.clusters).toEqual({ blue: { sandbox: {} }, green: { sandbox: {} } });
  });

  test('YAML anchors and merge keys can share a gate definition', async () => {
    const runbook = RUNBOOK.replace(
      '  - preflight: {}\n',
      '  - preflight: {}\n' +
        '  - gate: { timeout: 1m, http: &probe { url: "https://api.example.com/health", successes: 5 } }\n' +
        '  - gate: { timeout: 2m, http: { <<: *probe, interval: 2s } }\n',
    );
    await files({ 'rb.yaml': runbook, 'env.yaml': ENVIRONMENT });
    const { runbook: parsed } = await loadRunbook(join(dir, 'rb.yaml'));

    expect(parsed.steps[2]).toMatchObject({
      kind: 'gate',
      timeoutMs: 120_000,
      gate: { type: 'http', url: 'https://api.example.com/health', successes: 5, intervalMs: 2_000 },
    });
  });

  test('an unknown top-level field is refused: a typo must not pass silently', async () => {
    const issues = await issuesOf({ 'rb.yaml': RUNBOOK.replace('steps:\n', 'onfailure: rollback\nsteps:\n'), 'env.yaml': ENVIRONMENT });

    expect(issues).toEqual([
      '<dir>/rb.yaml:11:1 onfailure: unknown field "onfailure"; did you mean "onFailure"? Known fields here: apiVersion, kind, name, environment, from, to, onFailure, cronjobs, steps.',
    ]);
  });
});

describe('syntax and file problems', () => {
  test('malformed YAML is reported at its line and column', async () => {
    const issues = await issuesOf({ 'rb.yaml': runbookWith(8, '  namespaces: [billing, reports') });

    expect(issues).toEqual([
      '<dir>/rb.yaml:9:3: invalid YAML: flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  test('a duplicate key is a syntax error', async () => {
    const issues = await issuesOf({ 'rb.yaml': RUNBOOK.replace('to: green\n', 'to: green\nto: blue\n') });

    expect(issues).toEqual(['<dir>/rb.yaml:7:1: invalid YAML: map keys must be unique']);
  });

  test('a missing runbook file names the flag to fix', async () => {
    const issues = await issuesOf({});

    expect(issues).toEqual(['<dir>/rb.yaml: file not found; expected a Runbook YAML file, check the path given to -f']);
  });

  test('a missing environment file is blamed on the runbook line that names it', async () => {
    const issues = await issuesOf({ 'rb.yaml': runbookWith(4, 'environment: nowhere/env.yaml') });

    expect(issues).toEqual([
      '<dir>/rb.yaml:4:14 environment: environment file <dir>/nowhere/env.yaml: file not found; expected an Environment YAML file, check the `environment:` path of the runbook (relative to the runbook), or pass --env',
    ]);
  });

  test('a missing --env file names the flag', async () => {
    const issues = await issuesOf({ 'rb.yaml': RUNBOOK }, { environment: join(dir, 'nope.yaml') });

    expect(issues).toEqual(['<dir>/nope.yaml: file not found; expected an Environment YAML file, check the path given to --env']);
  });

  test('an environment file given as the runbook says which flag takes which file', async () => {
    const issues = await issuesOf({ 'rb.yaml': ENVIRONMENT });

    expect(issues).toEqual([
      '<dir>/rb.yaml:2:7 kind: expected "Runbook", found "Environment": this is an environment file; pass a runbook with -f and this file with --env',
    ]);
  });

  test('a wrong apiVersion is reported alone, not with every field it lacks', async () => {
    const issues = await issuesOf({ 'rb.yaml': 'apiVersion: v1\nkind: Runbook\n' });

    expect(issues).toEqual([
      '<dir>/rb.yaml:1:13 apiVersion: expected "cutover.dev/v1", found the text "v1"; this version of cutover reads cutover.dev/v1 files',
    ]);
  });

  test('an empty file says what it should contain', async () => {
    const issues = await issuesOf({ 'rb.yaml': '# nothing yet\n' });

    expect(issues).toEqual([
      '<dir>/rb.yaml:1:1: the file is empty; expected a map starting with "apiVersion: cutover.dev/v1" and "kind: Runbook"',
    ]);
  });

  test('several YAML documents in one file are refused', async () => {
    const issues = await issuesOf({ 'rb.yaml': `${RUNBOOK}---\n${RUNBOOK}` });

    expect(issues).toEqual(['<dir>/rb.yaml:22:1: invalid YAML: the file holds several YAML documents (separated by ---); expected one']);
  });
});

describe('schema problems, each at its own line and column', () => {
  test('a percent out of range and a bad duration are both reported', async () => {
    const issues = await issuesOf({
      'rb.yaml': runbookWith(14, '  - shiftTraffic: { percent: 150, soak: 5 minutes }'),
      'env.yaml': ENVIRONMENT,
    });

    expect(issues).toEqual([
      '<dir>/rb.yaml:14:30 steps.2.shiftTraffic.percent: expected a number <= 100, found the number 150',
      '<dir>/rb.yaml:14:41 steps.2.shiftTraffic.soak: expected a duration like "90s", "5m" or "1h30m" (units ms, s, m, h, d), found "5 minutes"',
    ]);
  });

  test('a negative percent is refused', async () => {
    const issues = await issuesOf({ 'rb.yaml': runbookWith(14, '  - shiftTraffic: { percent: -5 }'), 'env.yaml': ENVIRONMENT });

    expect(issues).toEqual(['<dir>/rb.yaml:14:30 steps.2.shiftTraffic.percent: expected a number >= 0, found the number -5']);
  });

  test('a duration without a unit suggests one', async () => {
    const issues = await issuesOf({
      'rb.yaml': runbookWith(20, '  - gate: { timeout: 90, cronjobFirstRun: {} }'),
      'env.yaml': ENVIRONMENT,
    });

    expect(issues).toEqual([
      '<dir>/rb.yaml:20:22 steps.8.gate.timeout: expected a duration with a unit like "90s", "5m" or "1h30m", found the number 90; write "90s" for seconds',
    ]);
  });

  test('a zero timeout is refused', async () => {
    const issues = await issuesOf({
      'rb.yaml': runbookWith(20, '  - gate: { timeout: 0s, cronjobFirstRun: {} }'),
      'env.yaml': ENVIRONMENT,
    });

    expect(issues).toEqual(['<dir>/rb.yaml:20:22 steps.8.gate.timeout: expected a duration longer than 0, found "0s"']);
  });

  test('an unknown field is reported at its key, with the field it probably meant', async () => {
    const issues = await issuesOf({ 'rb.yaml': RUNBOOK.replace('  exclude:', '  drainTimout: 5m\n  exclude:'), 'env.yaml': ENVIRONMENT });

    expect(issues).toEqual([
      '<dir>/rb.yaml:10:3 cronjobs.drainTimout: unknown field "drainTimout"; did you mean "drainTimeout"? Known fields here: namespaces, selector, exclude, running, drainTimeout, missedRuns, missedRunsLimit, concurrency, onDrift.',
    ]);
  });

  test('a misspelt step kind is reported once, at the key', async () => {
    const issues = await issuesOf({ 'rb.yaml': runbookWith(14, '  - shiftTrafic: { percent: 10 }'), 'env.yaml': ENVIRONMENT });

    expect(issues).toEqual([
      '<dir>/rb.yaml:14:5 steps.2.shiftTrafic: unknown field "shiftTrafic"; did you mean "shiftTraffic"? Known fields here: preflight, moveCronJobs, shiftTraffic, gate, approve.',
    ]);
  });

  test('a step written as plain text shows the map form to use', async () => {
    const issues = await issuesOf({ 'rb.yaml': runbookWith(12, '  - preflight'), 'env.yaml': ENVIRONMENT });

    expect(issues).toEqual(['<dir>/rb.yaml:12:5 steps.0: expected a map, found the text "preflight"; write "preflight: {}"']);
  });

  test('two kinds in one list item are refused with the fix', async () => {
    const runbook = RUNBOOK.replace(
      '  - shiftTraffic: { percent: 10, soak: 5m }\n',
      '  - shiftTraffic: { percent: 10, soak: 5m }\n    gate: { timeout: 1m, cronjobFirstRun: {} }\n',
    );
    const issues = await issuesOf({ 'rb.yaml': runbook, 'env.yaml': ENVIRONMENT });

    expect(issues).toEqual([
      '<dir>/rb.yaml:14:5 steps.2: expected exactly one step kind (preflight, moveCronJobs, shiftTraffic, gate or approve), found shiftTraffic and gate — put each on its own list item (starting with "-")',
    ]);
  });

  test('a gate without a type lists the types', async () => {
    const issues = await issuesOf({ 'rb.yaml': runbookWith(20, '  - gate: { timeout: 1m }'), 'env.yaml': ENVIRONMENT });

    expect(issues).toEqual([
      '<dir>/rb.yaml:20:11 steps.8.gate: expected exactly one gate type (http, cloudwatchAlarms, route53HealthChecks, kubernetes, command or cronjobFirstRun), found none',
    ]);
  });

  test('a missing required field is reported at the map that lacks it', async () => {
    const issues = await issuesOf({ 'rb.yaml': runbookWith(15, '  - gate: { timeout: 5m, http: { method: GET } }'), 'env.yaml': ENVIRONMENT });

    expect(issues).toEqual(['<dir>/rb.yaml:15:32 steps.3.gate.http.url: required field is missing; expected text']);
  });

  test('a wrong enum value lists the allowed ones', async () => {
    const issues = await issuesOf({
      'rb.yaml': RUNBOOK.replace('  exclude:', '  running: always\n  exclude:'),
      'env.yaml': ENVIRONMENT,
    });

    expect(issues).toEqual(['<dir>/rb.yaml:10:12 cronjobs.running: expected one of "wait", "ignore", found the text "always"']);
  });

  test('an empty namespace list and a malformed exclude entry are refused', async () => {
    const runbook = runbookWith(8, '  namespaces: []').replace('exclude: [reports/legacy]', 'exclude: [legacy]');
    const issues = await issuesOf({ 'rb.yaml': runbook, 'env.yaml': ENVIRONMENT });

    expect(issues).toEqual([
      '<dir>/rb.yaml:8:15 cronjobs.namespaces: expected at least 1 item, found an empty list',
      '<dir>/rb.yaml:10:13 cronjobs.exclude.0: expected "namespace/name" of a CronJob, found "legacy"',
    ]);
  });

  test('problems of the runbook and of the environment come together in one error', async () => {
    const environment = ENVIRONMENT.replace('region: us-east-1, endpoint', 'region: useast1, endpoint').replace(
      'type: A,',
      'type: WEIGHTED,',
    );
    const issues = await issuesOf({ 'rb.yaml': runbookWith(21, '  - approve: { via: email }'), 'env.yaml': environment });

    expect(issues).toEqual([
      '<dir>/rb.yaml:21:21 steps.9.approve.via: expected one of "slack", "terminal", found the text "email"',
      '<dir>/env.yaml:4:16 aws.region: expected an AWS region like "us-east-1", found "useast1"',
      '<dir>/env.yaml:11:38 dns.records.0.type: expected one of "A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SPF", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", found the text "WEIGHTED"',
    ]);
  });

  test('a cluster with both access methods, or neither, is refused', async () => {
    const environment = ENVIRONMENT.replace(
      '  green: { eks: { name: green, region: us-east-1 } }',
      '  green: { eks: { name: green, region: us-east-1 }, kubeconfig: { context: g } }\n  red: {}',
    );
    const issues = await issuesOf({ 'rb.yaml': RUNBOOK, 'env.yaml': environment });

    expect(issues).toEqual([
      '<dir>/env.yaml:7:10 clusters.green: expected exactly one cluster access (kubeconfig, eks or sandbox), found kubeconfig and eks',
      '<dir>/env.yaml:8:8 clusters.red: expected exactly one cluster access (kubeconfig, eks or sandbox), found none',
    ]);
  });

  test('a cluster name that cannot be a key is reported at the key', async () => {
    const environment = ENVIRONMENT.replace('  blue:  {', '  Blue_1:  {');
    const issues = await issuesOf({ 'rb.yaml': RUNBOOK, 'env.yaml': environment });

    expect(issues).toEqual([
      '<dir>/env.yaml:6:3 clusters.Blue_1: expected a cluster name of lowercase letters, digits and "-" (like "blue" or "prod-green"), found "Blue_1"',
    ]);
  });

  test('an invalid body pattern is refused before the run', async () => {
    const issues = await issuesOf({
      'rb.yaml': runbookWith(15, '  - gate: { timeout: 5m, http: { url: "https://x.example", bodyPattern: "ok(" } }'),
      'env.yaml': ENVIRONMENT,
    });

    expect(issues).toEqual([
      '<dir>/rb.yaml:15:73 steps.3.gate.http.bodyPattern: expected a JavaScript regular expression, found "ok("',
    ]);
  });
});
