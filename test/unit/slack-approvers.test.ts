import { describe, expect, it } from 'vitest';
import {
  type ApprovalPolicy,
  decodeVotes,
  encodeVotes,
  judgeApprove,
  judgeRejectClick,
  judgeRejectReason,
  operatorSlackId,
  unsatisfiable,
} from '../../src/adapters/slack/approvers.js';

const policy = (over: Partial<ApprovalPolicy> = {}): ApprovalPolicy => ({
  approvers: new Set(['U1', 'U2', 'U3']),
  required: 2,
  operator: 'U1',
  allowSelfApproval: false,
  ...over,
});
const AT = '2026-03-01T12:00:00.000Z';

describe('who may decide an approval', () => {
  it('ignores a click by someone who is not an approver', () => {
    expect(judgeApprove(policy(), [], 'U9', AT)).toEqual({ kind: 'not-approver' });
    expect(judgeRejectClick(policy(), 'U9')).toEqual({ kind: 'not-approver' });
  });

  it('refuses the operator\'s own approval unless self-approval is allowed', () => {
    expect(judgeApprove(policy(), [], 'U1', AT)).toEqual({ kind: 'self-approval' });
    expect(judgeApprove(policy({ allowSelfApproval: true, required: 1 }), [], 'U1', AT)).toEqual({
      kind: 'approved',
      approvals: [{ by: 'U1', at: AT }],
    });
  });

  it('counts each approver once and finishes at the required number', () => {
    const first = judgeApprove(policy(), [], 'U2', AT);
    expect(first).toEqual({ kind: 'counted', approvals: [{ by: 'U2', at: AT }], remaining: 1 });
    const votes = first.kind === 'counted' ? first.approvals : [];
    expect(judgeApprove(policy(), votes, 'U2', AT).kind).toBe('already-approved');
    expect(judgeApprove(policy(), votes, 'U3', AT)).toEqual({
      kind: 'approved',
      approvals: [{ by: 'U2', at: AT }, { by: 'U3', at: AT }],
    });
  });

  it('opens the reason dialog for an approver, and checks the approver again on submit', () => {
    expect(judgeRejectClick(policy(), 'U2')).toEqual({ kind: 'ask-reason' });
    expect(judgeRejectReason(policy(), 'U2', '  too slow \n')).toEqual({ kind: 'rejected', reason: 'too slow' });
    expect(judgeRejectReason(policy({ approvers: new Set(['U3']) }), 'U2', 'x')).toEqual({ kind: 'not-approver' });
  });

  it('lets the operator reject their own run (stopping is always safe)', () => {
    expect(judgeRejectClick(policy({ approvers: new Set(['U1', 'U2']) }), 'U1')).toEqual({ kind: 'ask-reason' });
    expect(judgeRejectReason(policy({ approvers: new Set(['U1', 'U2']) }), 'U1', 'wrong window')).toEqual({ kind: 'rejected', reason: 'wrong window' });
  });
});

describe('approval waits that can never succeed', () => {
  it('refuses an empty approver list', () => {
    expect(unsatisfiable(policy({ approvers: new Set() }))).toMatch(/no approvers/);
  });

  it('does not count the operator among the eligible approvers', () => {
    expect(unsatisfiable(policy({ approvers: new Set(['U1', 'U2']) }))).toMatch(/needs 2 approvals but only 1 approver is eligible \(the operator/);
    expect(unsatisfiable(policy({ approvers: new Set(['U1', 'U2']), allowSelfApproval: true }))).toBeUndefined();
    expect(unsatisfiable(policy())).toBeUndefined();
  });
});

describe('the operator\'s Slack identity', () => {
  it('comes from CUTOVER_SLACK_USER first, else from startedBy when it is a Slack user ID', () => {
    expect(operatorSlackId('alice@laptop', { CUTOVER_SLACK_USER: 'U0ALICE' })).toBe('U0ALICE');
    expect(operatorSlackId('U0BOB', {})).toBe('U0BOB');
    expect(operatorSlackId('alice@laptop', {})).toBeUndefined();
  });
});

describe('approvals kept in step data', () => {
  it('round-trips and drops what it cannot read rather than inventing approvals', () => {
    const votes = [{ by: 'U1', at: AT }];
    expect(decodeVotes(encodeVotes(votes))).toEqual(votes);
    expect(decodeVotes('not json')).toEqual([]);
    expect(decodeVotes('[{"by":1},{"by":"U2","at":"x"}]')).toEqual([{ by: 'U2', at: 'x' }]);
    expect(decodeVotes(undefined)).toEqual([]);
  });
});
