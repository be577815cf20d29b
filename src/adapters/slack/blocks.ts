// Block Kit payloads, built as plain data so they can be checked without Slack. Text from runbooks and step
// outputs is escaped: `<`, `>` and `&` are markup in Slack's mrkdwn.
import type { Decision } from '../../core/ports.js';
import { isUserGroupId, type Vote } from './approvers.js';

export const APPROVE_ACTION = 'cutover_approve';
export const REJECT_ACTION = 'cutover_reject';
export const DECISION_BLOCK = 'cutover_decision';
export const REASON_CALLBACK = 'cutover_reject_reason';
export const REASON_BLOCK = 'reason';
export const REASON_INPUT = 'reason';

// Block Kit limits: section text 3000, header 150, confirm text 300, modal title 24 characters.
const SECTION_MAX = 2900;

export type Block = Record<string, unknown>;
export interface SlackMessage {
  /** Fallback for notifications and screen readers. */
  text: string;
  blocks: Block[];
}

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `<@U1>` for a user, `<!subteam^S1>` for a user group: Slack renders both as names. */
export function mention(id: string): string {
  return isUserGroupId(id) ? `<!subteam^${id}>` : `<@${id}>`;
}

/** A date every reader sees in their own time zone, with the ISO time as fallback. */
export function slackDate(iso: string): string {
  const unix = Math.floor(new Date(iso).getTime() / 1000);
  return `<!date^${unix}^{date_short_pretty} {time_secs}|${iso}>`;
}

const plain = (text: string, max = 150): Record<string, unknown> => ({ type: 'plain_text', text: clip(text, max), emoji: true });
const mrkdwn = (text: string): Record<string, unknown> => ({ type: 'mrkdwn', text: clip(text, SECTION_MAX) });
const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) });
const context = (text: string): Block => ({ type: 'context', elements: [mrkdwn(text)] });

/** Everything the approval message shows; `approvals` grows as approvers click. */
export interface ApprovalView {
  /** `runId:stepIndex`: carried in the buttons so a click is matched to its wait. */
  key: string;
  title: string;
  stepName: string;
  summary: string;
  effect: string;
  approvers: string[];
  required: number;
  deadline: Date;
  /** Shown as "started by"; a Slack user ID is rendered as a mention. */
  startedBy: string;
  approvals: Vote[];
}

function headerBlocks(view: ApprovalView): Block[] {
  return [
    { type: 'header', text: plain(view.title) },
    section(`*What has happened*\n${escapeMrkdwn(view.summary)}`),
    section(`*Approving will*\n${escapeMrkdwn(view.effect)}`),
  ];
}

function who(startedBy: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(startedBy) ? mention(startedBy) : escapeMrkdwn(startedBy);
}

function tally(view: ApprovalView): string {
  const given = view.approvals.map((v) => `${mention(v.by)} ${slackDate(v.at)}`).join(', ');
  return `Approvals: ${view.approvals.length} of ${view.required}${given ? ` (${given})` : ''}`;
}

function confirmDialog(title: string, text: string, confirm: string, style: 'primary' | 'danger'): Block {
  return { title: plain(title, 100), text: plain(text, 300), confirm: plain(confirm, 30), deny: plain('Cancel', 30), style };
}

function decisionButtons(view: ApprovalView): Block {
  return {
    type: 'actions',
    block_id: DECISION_BLOCK,
    elements: [
      {
        type: 'button',
        action_id: APPROVE_ACTION,
        text: plain('Approve', 75),
        style: 'primary',
        value: view.key,
        confirm: confirmDialog('Approve this step?', `Approving will: ${view.effect}`, 'Approve', 'primary'),
      },
      {
        type: 'button',
        action_id: REJECT_ACTION,
        text: plain('Reject', 75),
        style: 'danger',
        value: view.key,
        confirm: confirmDialog('Reject and halt the run?', 'The run stops here; you will be asked for a reason.', 'Reject', 'danger'),
      },
    ],
  };
}

/** The message waiting for a decision: context, the split, the evidence, and the two buttons. */
export function approvalMessage(view: ApprovalView): SlackMessage {
  const facts =
    `Step *${escapeMrkdwn(view.stepName)}* · started by ${who(view.startedBy)} · ` +
    `approvers: ${view.approvers.map(mention).join(' ')} · decide before ${slackDate(view.deadline.toISOString())}`;
  return {
    text: `Approval needed: ${view.title}`,
    blocks: [...headerBlocks(view), context(facts), context(tally(view)), decisionButtons(view)],
  };
}

function outcomeLine(decision: Decision): string {
  switch (decision.outcome) {
    case 'approved':
      return `:white_check_mark: *Approved* by ${decision.by.map(mention).join(', ')} · ${slackDate(decision.at)}`;
    case 'rejected':
      return `:no_entry: *Rejected* by ${mention(decision.by)} · ${slackDate(decision.at)}\n>${escapeMrkdwn(decision.reason)}`;
    case 'timeout': {
      const given = decision.approvedBy.length ? ` (approved by ${decision.approvedBy.map(mention).join(', ')})` : '';
      return `:hourglass: *Timed out* without enough approvals${given} · ${slackDate(decision.at)}`;
    }
  }
}

/** The same message once decided: who, when, no buttons left to tap. */
export function decidedMessage(view: ApprovalView, decision: Decision): SlackMessage {
  return {
    text: `${view.title}: ${decision.outcome}`,
    blocks: [...headerBlocks(view), section(outcomeLine(decision))],
  };
}

export interface ReasonDialogContext {
  key: string;
  channel: string;
  ts: string;
}

/** The modal a Reject click opens (views.open); the reason is required. */
export function reasonDialog(ctx: ReasonDialogContext, stepName: string): Block {
  return {
    type: 'modal',
    callback_id: REASON_CALLBACK,
    private_metadata: JSON.stringify(ctx),
    title: plain('Reject step', 24),
    submit: plain('Reject and halt', 24),
    close: plain('Cancel', 24),
    blocks: [
      section(`Rejecting *${escapeMrkdwn(stepName)}* halts the run where it is.`),
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: plain('Why reject?', 2000),
        element: { type: 'plain_text_input', action_id: REASON_INPUT, multiline: true },
      },
    ],
  };
}

export function parseReasonContext(text: unknown): ReasonDialogContext | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<ReasonDialogContext>;
    const { key, channel, ts } = parsed;
    return typeof key === 'string' && typeof channel === 'string' && typeof ts === 'string' ? { key, channel, ts } : undefined;
  } catch {
    // Another app's or a stale dialog: not one of ours.
    return undefined;
  }
}

/** What the run's parent message says. */
export interface RunHeadline {
  runId: string;
  runbook: string;
  environment: string;
  from: string;
  to: string;
  startedBy: string;
  status: 'running' | 'succeeded' | 'halted' | 'failed';
  detail?: string;
}

const STATUS_ICON: Record<RunHeadline['status'], string> = {
  running: ':arrows_counterclockwise:',
  succeeded: ':white_check_mark:',
  halted: ':octagonal_sign:',
  failed: ':x:',
};

export function runMessage(run: RunHeadline): SlackMessage {
  const line =
    `${STATUS_ICON[run.status]} *cutover ${escapeMrkdwn(run.runbook)}*: ${escapeMrkdwn(run.from)} → ${escapeMrkdwn(run.to)} ` +
    `in ${escapeMrkdwn(run.environment)} · ${run.status}`;
  const detail = run.detail ? `\n${escapeMrkdwn(run.detail)}` : '';
  return {
    text: `cutover ${run.runbook}: ${run.from} → ${run.to} (${run.status})`,
    blocks: [section(`${line}${detail}`), context(`run ${escapeMrkdwn(run.runId)} · started by ${who(run.startedBy)}`)],
  };
}

export function stepLine(index: number, label: string, state: 'started' | 'done' | 'failed', detail?: string): string {
  const icon = state === 'started' ? ':arrow_forward:' : state === 'done' ? ':white_check_mark:' : ':x:';
  const tail = detail ? `: ${escapeMrkdwn(detail)}` : '';
  return clip(`${icon} Step ${index + 1} ${state}: *${escapeMrkdwn(label)}*${tail}`, SECTION_MAX);
}
