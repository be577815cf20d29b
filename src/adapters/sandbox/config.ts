// The `sandbox:` section of a sandbox environment file: the simulated world a rehearsal starts from.
// Checked when the sandbox starts (the environment schema accepts any map there), with problems reported
// like every other user-file problem: `file:line:col sandbox.<path>: message`.
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';

const duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  message: 'expected a duration such as "45s", "5m" or "1h30m"',
});
const instant = z.iso.datetime({ offset: true });

const runningJob = z.strictObject({
  /** The tick the Job is for (its scheduled-timestamp annotation). */
  scheduledTime: instant,
  /** How much longer it runs from the start of the rehearsal. */
  remaining: duration,
});

const cronJob = z.strictObject({
  namespace: z.string().min(1),
  name: z.string().min(1),
  schedule: z.string().min(1),
  timeZone: z.string().optional(),
  suspend: z.boolean().default(false),
  startingDeadlineSeconds: z.number().int().nonnegative().optional(),
  concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']).default('Allow'),
  /** How long each Job runs. */
  jobDuration: duration.default('30s'),
  /** Each Job runs jobDuration ± up to this much, drawn from `seed`. */
  jobJitter: duration.optional(),
  jobOutcome: z.enum(['Complete', 'Failed']).default('Complete'),
  /** Baseline of the controller when there is no lastScheduleTime; defaults to the rehearsal's start. */
  creationTimestamp: instant.optional(),
  lastScheduleTime: instant.optional(),
  /** Jobs of this CronJob already running when the rehearsal starts. */
  runningJobs: z.array(runningJob).default([]),
  labels: z.record(z.string(), z.string()).default({}),
  annotations: z.record(z.string(), z.string()).default({}),
  images: z.array(z.string()).optional(),
});

const record = z.strictObject({
  name: z.string().min(1),
  type: z.string().default('A'),
  setIdentifier: z.string().min(1),
  weight: z.number().int(),
  ttl: z.number().int().nonnegative().default(60),
  values: z.array(z.string()).default(['192.0.2.1']),
});

/** Scripted health: the gate fails until `healthyAfter` has passed since the gate started, then passes. */
const gateScript = z.strictObject({
  healthyAfter: duration.default('0s'),
  /** Never becomes healthy: the rehearsal shows where the real run would stop. */
  neverHealthy: z.boolean().default(false),
});

/** How approvers answer: `after` the request, the first `required` of `by` approve (or the first rejects). */
const approvalScript = z.strictObject({
  decision: z.enum(['approve', 'reject']).default('approve'),
  after: duration.default('3m'),
  /** Who answers; by default the approvers the request names. Only named approvers count, as in Slack. */
  by: z.array(z.string()).optional(),
  reason: z.string().default('rehearsal says no'),
});

export const sandboxSchema = z.strictObject({
  seed: z.number().int().default(1),
  /** Virtual time at which the rehearsal starts; fixed by default so every rehearsal is the same. */
  start: instant.default('2026-01-15T09:57:30Z'),
  /** Virtual time to keep simulating after the run ends, to show the target running the next ticks. */
  observeAfter: duration.default('2m'),
  /** Lines shown at the top of the report: the assumptions the rehearsal was built on. */
  notes: z.array(z.string()).default([]),
  clusters: z.record(z.string(), z.strictObject({ version: z.string().default('v1.34.4'), cronjobs: z.array(cronJob).default([]) })),
  dns: z
    .strictObject({
      /** How long a change stays PENDING before GetChange answers INSYNC. */
      insyncAfter: duration.default('40s'),
      /** Route 53's own request budget: beyond it, calls are answered `Throttling`. */
      maxRequestsPerSecond: z.number().positive().default(5),
      records: z.array(record).default([]),
    })
    .optional(),
  /** Keyed by the gate step's name, or by its gate type (`http`, `command`, ...). */
  gates: z.record(z.string(), gateScript).default({}),
  /** The default answer of every approval step, and per step (by the step's name) overrides. */
  approvals: approvalScript.extend({ steps: z.record(z.string(), approvalScript).default({}) }).prefault({}),
});

export type SandboxConfig = z.infer<typeof sandboxSchema>;
export type SandboxCronJob = z.infer<typeof cronJob>;
export type SandboxGateScript = z.infer<typeof gateScript>;
export type SandboxApprovalScript = z.infer<typeof approvalScript>;
