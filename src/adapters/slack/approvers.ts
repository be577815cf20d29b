// Who may decide an approval, and what one click means. Pure: the Slack session feeds clicks in and acts on
// the verdicts (update the message, answer the clicker, finish the wait).
import type { Vote } from '../../core/ports.js';

/** Slack user IDs start with U (or W on Enterprise Grid); user-group IDs with S. */
export const isUserId = (id: string): boolean => /^[UW][A-Z0-9]{2,}$/.test(id);
export const isUserGroupId = (id: string): boolean => /^S[A-Z0-9]{2,}$/.test(id);

/** The variable an operator sets to their Slack member ID, so Slack can tell them apart from other approvers. */
export const OPERATOR_ENV = 'CUTOVER_SLACK_USER';

/**
 * The Slack user ID of the operator who started the run: `$CUTOVER_SLACK_USER`, else `startedBy` itself when it
 * already is a Slack user ID. Undefined when neither says.
 */
export function operatorSlackId(startedBy: string, env: Record<string, string | undefined>): string | undefined {
  const fromEnv = env[OPERATOR_ENV]?.trim();
  if (fromEnv) return fromEnv;
  return isUserId(startedBy) ? startedBy : undefined;
}

export interface ApprovalPolicy {
  /** User IDs allowed to decide, user groups already expanded. */
  approvers: ReadonlySet<string>;
  required: number;
  /** Slack user ID of the operator who started the run. */
  operator?: string;
  allowSelfApproval: boolean;
}

export type { Vote };

export type Verdict =
  | { kind: 'not-approver' }
  | { kind: 'self-approval' }
  | { kind: 'already-approved'; approvals: Vote[] }
  | { kind: 'counted'; approvals: Vote[]; remaining: number }
  | { kind: 'approved'; approvals: Vote[] }
  | { kind: 'ask-reason' }
  | { kind: 'rejected'; reason: string };

function refusal(policy: ApprovalPolicy, user: string): Verdict | undefined {
  if (!policy.approvers.has(user)) return { kind: 'not-approver' };
  if (user === policy.operator && !policy.allowSelfApproval) return { kind: 'self-approval' };
  return undefined;
}

/** An Approve click: counts once per approver; the wait ends when `required` distinct approvers agreed. */
export function judgeApprove(policy: ApprovalPolicy, approvals: readonly Vote[], user: string, at: string): Verdict {
  const refused = refusal(policy, user);
  if (refused) return refused;
  if (approvals.some((v) => v.by === user)) return { kind: 'already-approved', approvals: [...approvals] };
  const next = [...approvals, { by: user, at }];
  const remaining = policy.required - next.length;
  return remaining <= 0 ? { kind: 'approved', approvals: next } : { kind: 'counted', approvals: next, remaining };
}

/**
 * A Reject click opens the reason dialog. Any approver may stop the run this way, the operator included:
 * stopping is always safe, and the operator could interrupt the run anyway.
 */
export function judgeRejectClick(policy: ApprovalPolicy, user: string): Verdict {
  return policy.approvers.has(user) ? { kind: 'ask-reason' } : { kind: 'not-approver' };
}

/** The reason dialog was submitted: checked again, since the dialog can outlive a change of approvers. */
export function judgeRejectReason(policy: ApprovalPolicy, user: string, reason: string): Verdict {
  return policy.approvers.has(user) ? { kind: 'rejected', reason: reason.trim() } : { kind: 'not-approver' };
}

/**
 * A wait that can never succeed is refused before anything is posted: no approvers, or fewer eligible approvers
 * than `required` (the operator does not count when self-approval is off). Returns the problem, or undefined.
 */
export function unsatisfiable(policy: ApprovalPolicy): string | undefined {
  if (policy.approvers.size === 0) {
    return 'no approvers: list Slack user or user-group IDs under the step\'s approvers or the environment\'s slack.approvers';
  }
  const eligible = [...policy.approvers].filter((u) => policy.allowSelfApproval || u !== policy.operator).length;
  if (eligible < policy.required) {
    const why = eligible < policy.approvers.size ? ' (the operator who started the run cannot approve it)' : '';
    return `needs ${policy.required} approvals but only ${eligible} approver${eligible === 1 ? ' is' : 's are'} eligible${why}`;
  }
  return undefined;
}

/** Approvals as stored in step data (the approval port only persists strings). */
export function encodeVotes(votes: readonly Vote[]): string {
  return JSON.stringify(votes);
}

function isVote(value: unknown): value is Vote {
  if (typeof value !== 'object' || value === null) return false;
  const { by, at } = value as Record<string, unknown>;
  return typeof by === 'string' && typeof at === 'string';
}

export function decodeVotes(text: string | undefined): Vote[] {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(isVote);
  } catch {
    // Unreadable progress only loses approvals already given; they are asked for again rather than invented.
    return [];
  }
}
