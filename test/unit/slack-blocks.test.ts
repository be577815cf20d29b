import { describe, expect, it } from 'vitest';
import { approvalMessage, decidedMessage, escapeMrkdwn, mention, reasonDialog, parseReasonContext, type ApprovalView } from '../../src/adapters/slack/blocks.js';

const view: ApprovalView = {
  key: 'run-1:4',
  title: 'Go to 50%?',
  stepName: 'approve 5',
  summary: 'gate <api> & co passed',
  effect: 'send 50% of traffic to green',
  approvers: ['U1', 'S0ONCALL'],
  required: 2,
  deadline: new Date('2026-03-01T12:30:00Z'),
  startedBy: 'U9',
  approvals: [{ by: 'U1', at: '2026-03-01T12:05:00.000Z' }],
};

describe('approval message blocks', () => {
  it('escapes mrkdwn control characters from runbook and output text', () => {
    expect(escapeMrkdwn('a <b> & c')).toBe('a &lt;b&gt; &amp; c');
    expect(JSON.stringify(approvalMessage(view).blocks)).toContain('gate &lt;api&gt; &amp; co passed');
  });

  it('mentions users and user groups the way Slack renders them', () => {
    expect(mention('U1')).toBe('<@U1>');
    expect(mention('S0ONCALL')).toBe('<!subteam^S0ONCALL>');
  });

  it('puts a confirmation dialog on both buttons, carrying the wait key', () => {
    const actions = approvalMessage(view).blocks.find((b) => b['type'] === 'actions');
    const buttons = actions?.['elements'] as Record<string, unknown>[];
    expect(buttons.map((b) => [b['action_id'], b['value'], b['style']])).toEqual([
      ['cutover_approve', 'run-1:4', 'primary'],
      ['cutover_reject', 'run-1:4', 'danger'],
    ]);
    for (const b of buttons) expect(b['confirm']).toMatchObject({ title: { type: 'plain_text' }, confirm: { type: 'plain_text' }, deny: { type: 'plain_text', text: 'Cancel' } });
  });

  it('shows the tally of approvals given so far', () => {
    expect(JSON.stringify(approvalMessage(view).blocks)).toContain('Approvals: 1 of 2 (<@U1>');
  });

  it('a decided message has no buttons and says who decided', () => {
    const approved = decidedMessage(view, { outcome: 'approved', by: ['U1', 'U3'], at: '2026-03-01T12:06:00.000Z' });
    expect(approved.blocks.some((b) => b['type'] === 'actions')).toBe(false);
    expect(JSON.stringify(approved.blocks)).toContain('*Approved* by <@U1>, <@U3>');
    const rejected = decidedMessage(view, { outcome: 'rejected', by: 'U3', at: '2026-03-01T12:06:00.000Z', reason: 'latency > 2s' });
    expect(JSON.stringify(rejected.blocks)).toContain('latency &gt; 2s');
    const timeout = decidedMessage(view, { outcome: 'timeout', at: '2026-03-01T12:30:00.000Z', approvedBy: ['U1'] });
    expect(JSON.stringify(timeout.blocks)).toContain('Timed out');
  });

  it('keeps Block Kit length limits (header 150, confirm text 300)', () => {
    const long = approvalMessage({ ...view, title: 'x'.repeat(400), effect: 'y'.repeat(1000) });
    const header = long.blocks[0]?.['text'] as { text: string };
    expect(header.text.length).toBeLessThanOrEqual(150);
    const actions = long.blocks.find((b) => b['type'] === 'actions')?.['elements'] as { confirm: { text: { text: string } } }[];
    expect(actions[0]?.confirm.text.text.length).toBeLessThanOrEqual(300);
  });

  it('the reason dialog carries which message it is about, and only ours parse', () => {
    const dialog = reasonDialog({ key: 'run-1:4', channel: 'C1', ts: '1.000001' }, 'approve 5');
    expect(dialog).toMatchObject({ type: 'modal', callback_id: 'cutover_reject_reason' });
    expect(parseReasonContext(dialog['private_metadata'])).toEqual({ key: 'run-1:4', channel: 'C1', ts: '1.000001' });
    expect(parseReasonContext('{"other":true}')).toBeUndefined();
    expect(parseReasonContext('garbage')).toBeUndefined();
  });
});
