// One approval wait in Slack: post (or, on resume, find again) the approval message, listen on Socket Mode,
// count approvers' clicks, ask a rejecting approver for a reason, and finish on a decision, the deadline or
// the run's abort signal. What an earlier attempt left (message ts, approvals given) comes back through
// `request.resume`, so a resumed run neither posts twice nor forgets an approval.
import type { ApprovalRequest, Decision } from '../../core/ports.js';
import {
  type ApprovalPolicy,
  decodeVotes,
  encodeVotes,
  judgeApprove,
  judgeRejectClick,
  judgeRejectReason,
  type Verdict,
  type Vote,
} from './approvers.js';
import {
  APPROVE_ACTION,
  type ApprovalView,
  approvalMessage,
  decidedMessage,
  mention,
  parseReasonContext,
  REASON_BLOCK,
  REASON_CALLBACK,
  REASON_INPUT,
  REJECT_ACTION,
  reasonDialog,
  type SlackMessage,
} from './blocks.js';
import type { SlackApi } from './client.js';
import { platformCode } from './errors.js';
import { type InteractionResult, InteractionSocket } from './socket.js';
import { setLongTimeout } from '../../core/timer.js';

/** Where the message lives, as remembered in step data. */
export const RESUME_CHANNEL = 'slackChannel';
export const RESUME_TS = 'slackTs';
export const RESUME_VOTES = 'slackApprovals';
export const RESUME_DECISION = 'slackDecision';
export const RESUME_OPERATOR = 'slackOperator';

interface Click {
  user: string;
  action: string;
  triggerId?: string;
}

export interface WaitSetup {
  api: SlackApi;
  request: ApprovalRequest;
  policy: ApprovalPolicy;
  /** The run's parent message, when the run announced itself: the approval is threaded under it. */
  threadTs?: string;
  now?: () => Date;
}

export class ApprovalWait {
  private readonly api: SlackApi;
  private readonly request: ApprovalRequest;
  private readonly policy: ApprovalPolicy;
  private readonly now: () => Date;
  private readonly view: ApprovalView;
  private channel: string;
  private ts: string | undefined;
  private settled = false;
  private settle: (outcome: { decision?: Decision; error?: Error }) => void = () => undefined;

  constructor(private readonly setup: WaitSetup) {
    this.api = setup.api;
    this.request = setup.request;
    this.policy = setup.policy;
    this.now = setup.now ?? (() => new Date());
    this.channel = setup.request.resume?.[RESUME_CHANNEL] ?? setup.api.slack.channel;
    this.ts = setup.request.resume?.[RESUME_TS] || undefined;
    this.view = {
      key: `${setup.request.runId}:${setup.request.stepIndex}`,
      title: setup.request.message ?? `Approve: ${setup.request.stepName}`,
      stepName: setup.request.stepName,
      summary: setup.request.summary,
      effect: setup.request.effect,
      approvers: setup.request.approvers,
      required: setup.request.required,
      deadline: setup.request.deadline,
      startedBy: setup.policy.operator ?? setup.request.startedBy,
      approvals: decodeVotes(setup.request.resume?.[RESUME_VOTES]),
    };
  }

  /** Resolves with the decision; rejects with the signal's reason or a Slack error. */
  async run(signal: AbortSignal): Promise<Decision> {
    signal.throwIfAborted();
    const outcome = new Promise<{ decision?: Decision; error?: Error }>((resolve) => {
      this.settle = (o) => {
        if (this.settled) return;
        this.settled = true;
        resolve(o);
      };
    });
    const decided = decodeDecision(this.request.resume?.[RESUME_DECISION]);
    if (decided && this.ts) return this.conclude(decided);
    // Listen before posting, so a click on a fresh message cannot arrive before anyone hears it.
    const socket = new InteractionSocket(this.api, (p) => this.onInteraction(p), (error) => this.settle({ error }));
    await socket.open();
    const stopTimers = this.watch(signal);
    try {
      await this.showMessage();
      if (this.view.approvals.length >= this.policy.required) this.finish(this.approved(this.view.approvals));
      const { decision, error } = await outcome;
      if (error) throw error;
      // Kept before Slack is told, so a failure from here on loses no decision: a resume concludes it.
      await this.remember(decision);
      return await this.conclude(decision!);
    } catch (err) {
      // Interrupted or cut off from Slack: nobody listens to the buttons any more, so take them away.
      await this.pause();
      throw err;
    } finally {
      stopTimers();
      await socket.close();
    }
  }

  /** The deadline ends the wait as `timeout`; the run's abort signal ends it with the signal's reason. */
  private watch(signal: AbortSignal): () => void {
    const onAbort = (): void => this.settle({ error: asError(signal.reason) });
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = longTimeout(() => this.finish(this.timedOut()), this.view.deadline.getTime() - this.now().getTime());
    return () => {
      signal.removeEventListener('abort', onAbort);
      timer.clear();
    };
  }

  private async showMessage(): Promise<void> {
    const message = approvalMessage(this.view);
    const resumedTs = this.request.resume?.[RESUME_TS];
    if (resumedTs && (await this.updateExisting(resumedTs, message))) {
      this.ts = resumedTs;
    } else {
      this.ts = await this.post(message);
    }
    await this.remember();
  }

  /** Re-enables the buttons on the message an interrupted attempt left; false when it is gone. */
  private async updateExisting(ts: string, message: SlackMessage): Promise<boolean> {
    try {
      await this.api.call('chat.update', { channel: this.channel, ts, ...message });
      return true;
    } catch (err) {
      // Deleted by someone, or the channel changed: post a fresh message rather than fail the resume.
      const code = platformCode(err);
      if (code === 'message_not_found' || code === 'channel_not_found' || code === 'cant_update_message') return false;
      throw err;
    }
  }

  private async post(message: SlackMessage): Promise<string> {
    this.channel = this.api.slack.channel;
    const thread = this.setup.threadTs ? { thread_ts: this.setup.threadTs, reply_broadcast: true } : {};
    const posted = await this.api.call<{ ts: string; channel: string }>('chat.postMessage', {
      channel: this.channel,
      ...message,
      ...thread,
    });
    this.channel = posted.channel ?? this.channel;
    return posted.ts;
  }

  private remember(decision?: Decision): Promise<void> {
    return this.request.remember({
      [RESUME_CHANNEL]: this.channel,
      [RESUME_TS]: this.ts ?? '',
      [RESUME_VOTES]: encodeVotes(this.view.approvals),
      ...(this.policy.operator ? { [RESUME_OPERATOR]: this.policy.operator } : {}),
      ...(decision ? { [RESUME_DECISION]: JSON.stringify(decision) } : {}),
    });
  }

  private onInteraction(payload: Record<string, unknown>): InteractionResult {
    if (this.settled) return {};
    if (payload['type'] === 'block_actions') return this.onClick(payload);
    if (payload['type'] === 'view_submission') return this.onReason(payload);
    return {};
  }

  private onClick(payload: Record<string, unknown>): InteractionResult {
    const click = this.ourClick(payload);
    if (!click) return {};
    const verdict =
      click.action === APPROVE_ACTION
        ? judgeApprove(this.policy, this.view.approvals, click.user, this.now().toISOString())
        : judgeRejectClick(this.policy, click.user);
    return { followUp: () => this.act(verdict, click) };
  }

  /** A click on one of this wait's buttons, or undefined for anything else in the channel. */
  private ourClick(payload: Record<string, unknown>): Click | undefined {
    const container = record(payload['container']);
    const user = record(payload['user'])['id'];
    const actions = Array.isArray(payload['actions']) ? payload['actions'].map(record) : [];
    const action = actions.find(
      (a) => (a['action_id'] === APPROVE_ACTION || a['action_id'] === REJECT_ACTION) && a['value'] === this.view.key,
    );
    if (!action || typeof user !== 'string' || container['message_ts'] !== this.ts) return undefined;
    const triggerId = payload['trigger_id'];
    return { user, action: String(action['action_id']), ...(typeof triggerId === 'string' ? { triggerId } : {}) };
  }

  private async act(verdict: Verdict, click: Click): Promise<void> {
    switch (verdict.kind) {
      case 'counted':
        this.view.approvals = verdict.approvals;
        await this.remember();
        await this.api.call('chat.update', { channel: this.channel, ts: this.ts, ...approvalMessage(this.view) });
        return this.tell(click.user, `Your approval is counted: ${verdict.approvals.length} of ${this.policy.required}.`);
      case 'approved':
        this.view.approvals = verdict.approvals;
        await this.remember();
        return this.finish(this.approved(verdict.approvals));
      case 'ask-reason':
        return this.askReason(click);
      default:
        return this.tell(click.user, refusalText(verdict, this.view));
    }
  }

  private async askReason(click: Click): Promise<void> {
    const dialog = reasonDialog({ key: this.view.key, channel: this.channel, ts: this.ts ?? '' }, this.view.stepName);
    try {
      await this.api.call('views.open', { trigger_id: click.triggerId, view: dialog });
    } catch (err) {
      // The trigger lives 3 s; a slow moment must not halt the run, but the approver has to know.
      this.api.logger.warn(String(err instanceof Error ? err.message : err));
      await this.tell(click.user, 'The reason dialog could not open in time; click Reject again.');
    }
  }

  private onReason(payload: Record<string, unknown>): InteractionResult {
    const view = record(payload['view']);
    const ctx = parseReasonContext(view['private_metadata']);
    if (view['callback_id'] !== REASON_CALLBACK || ctx?.key !== this.view.key || ctx.ts !== this.ts) return {};
    const user = String(record(payload['user'])['id'] ?? '');
    const reason = reasonValue(view);
    if (reason.trim() === '') return { ack: dialogError('Give a reason: it is kept in the audit trail.') };
    const verdict = judgeRejectReason(this.policy, user, reason);
    if (verdict.kind !== 'rejected') return { ack: dialogError(refusalText(verdict, this.view)) };
    const decision: Decision = {
      outcome: 'rejected',
      by: user,
      at: this.now().toISOString(),
      reason: verdict.reason,
      approvedBy: this.view.approvals.map((v) => v.by),
      votes: [...this.view.approvals],
    };
    return { followUp: async () => this.finish(decision) };
  }

  private tell(user: string, text: string): Promise<void> {
    const thread = this.setup.threadTs ? { thread_ts: this.setup.threadTs } : {};
    return this.api.call('chat.postEphemeral', { channel: this.channel, user, text, ...thread }).then(() => undefined);
  }

  private finish(decision: Decision): void {
    this.settle({ decision });
  }

  private approved(votes: Vote[]): Decision {
    return { outcome: 'approved', by: votes.map((v) => v.by), at: this.now().toISOString(), votes: [...votes] };
  }

  private timedOut(): Decision {
    const votes = this.view.approvals;
    return { outcome: 'timeout', at: this.now().toISOString(), approvedBy: votes.map((v) => v.by), votes: [...votes] };
  }

  /** Shows the decision on the message (buttons removed) and adds its permalink for the audit trail. */
  private async conclude(decision: Decision): Promise<Decision> {
    await this.api.call('chat.update', { channel: this.channel, ts: this.ts, ...decidedMessage(this.view, decision) });
    const link = await this.api.call<{ permalink?: string }>('chat.getPermalink', { channel: this.channel, message_ts: this.ts });
    return link.permalink ? { ...decision, link: link.permalink } : decision;
  }

  /** The wait ended without a decision: take the buttons away until a resume brings them back. */
  private async pause(): Promise<void> {
    if (!this.ts) return;
    const paused = approvalMessage(this.view);
    paused.blocks = [
      ...paused.blocks.slice(0, -1),
      { type: 'context', elements: [{ type: 'mrkdwn', text: ':pause_button: The run was interrupted; the buttons come back when it resumes.' }] },
    ];
    try {
      await this.api.call('chat.update', { channel: this.channel, ts: this.ts, ...paused });
    } catch (err) {
      // The interruption is what the caller reports; a failed cosmetic update is logged beside it.
      this.api.logger.warn(`could not mark the approval message as paused: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** A decision remembered before an interruption; undefined when none (or unreadable: then Slack is asked again). */
function decodeDecision(text: string | undefined): Decision | undefined {
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as Decision;
    return ['approved', 'rejected', 'timeout'].includes(parsed.outcome) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function refusalText(verdict: Verdict, view: ApprovalView): string {
  switch (verdict.kind) {
    case 'not-approver':
      return `Only the approvers of this step can decide it: ${view.approvers.map(mention).join(' ')}. Your click was ignored.`;
    case 'self-approval':
      return 'You started this run, so you cannot approve it (slack.allowSelfApproval is off). Ask another approver.';
    case 'already-approved':
      return `Your approval is already counted (${verdict.approvals.length} of ${view.required}).`;
    default:
      return 'This click was ignored.';
  }
}

function dialogError(text: string): Record<string, unknown> {
  return { response_action: 'errors', errors: { [REASON_BLOCK]: text } };
}

function reasonValue(view: Record<string, unknown>): string {
  const values = record(record(view['state'])['values']);
  const value = record(record(values[REASON_BLOCK])[REASON_INPUT])['value'];
  return typeof value === 'string' ? value : '';
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'));
}

/** setTimeout overflows past ~24.8 days and fires at once; long approval windows use setLongTimeout. */
function longTimeout(fn: () => void, ms: number): { clear(): void } {
  const timer = setLongTimeout(fn, ms);
  return { clear: () => timer.cancel() };
}
